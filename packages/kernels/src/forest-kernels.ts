import type { KernelExports, Matrix } from './api.js';
import { averagePathLengths, type ForestArrays } from './reference/isolation-forest.js';
import { type KernelJob, ThreadPool } from './thread-pool.js';
import { sharedKernels, withHeap, writeFloat64 } from './wasm.js';

/** Rows per scoring block in the kernel: thread chunks are multiples of it. */
const BLOCK = 64;
/** Rows per kernel call when scoring (a multiple of BLOCK): lets V8 swap in optimized code early. */
const SCORE_PIECE = BLOCK * 128;

let pool: ThreadPool | undefined;
function threadPool(kernels: KernelExports): ThreadPool {
  pool ??= new ThreadPool(kernels, kernels.memory);
  return pool;
}

/** The process-wide worker pool: threads started, jobs they ran, whether it is usable. */
export function threadPoolStatus(): { workers: number; jobsOnWorkers: number; usable: boolean } {
  const p = threadPool(sharedKernels());
  return { workers: p.size, jobsOnWorkers: p.jobsOnWorkers, usable: p.usable };
}

/** The threads to use for `work` units: at most `threads`, and 1 when the pool cannot run. */
function threadCount(kernels: KernelExports, threads: number, work: number): number {
  const wanted = Math.min(threads, work);
  return wanted > 1 && threadPool(kernels).usable ? wanted : 1;
}

/** Splits [0, total) into at most `parts` contiguous ranges whose bounds are multiples of `step`. */
function ranges(total: number, parts: number, step: number): Array<[number, number]> {
  const units = Math.ceil(total / step);
  const count = Math.max(1, Math.min(parts, units));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const start = Math.min(total, Math.floor((units * i) / count) * step);
    const end = Math.min(total, Math.floor((units * (i + 1)) / count) * step);
    if (end > start) out.push([start, end]);
  }
  return out;
}

/** The shape of the trees to build, and from which seed and on how many threads. */
export interface ForestPlan {
  trees: number;
  psi: number;
  depth: number;
  terms: number;
  seed: number;
  threads: number;
}

/**
 * Builds the trees in WASM (the `buildTrees` kernel), in rounds of one chunk of trees per thread
 * so that `onProgress` hears between them; returns the arrays copied out of WASM memory.
 */
export function buildForest(
  m: Matrix,
  plan: ForestPlan,
  onProgress?: (built: number, total: number) => void,
): ForestArrays {
  const { trees, psi, depth, terms, seed } = plan;
  const internal = (1 << depth) - 1;
  const leafCount = 1 << depth;
  const kernels = sharedKernels();
  const threads = threadCount(kernels, plan.threads, trees);
  return withHeap(kernels, (k) => {
    const x = writeFloat64(k, m.data);
    const c = writeFloat64(k, averagePathLengths(psi));
    const features = k.allocate(terms === 0 ? trees * internal * 4 : 0);
    const indices = k.allocate(trees * internal * terms * 4);
    const weights = k.allocate(trees * internal * terms * 8);
    const thresholds = k.allocate(trees * internal * 8);
    const leaves = k.allocate(trees * leafCount * 8);
    const scratchBytes = k.buildScratchBytes(m.rows, m.cols, psi, depth);
    const scratch = Array.from({ length: threads }, () => k.allocate(scratchBytes));
    // Rounds of one chunk per thread, so progress can be reported between them.
    const chunk = Math.max(1, Math.ceil(trees / threads / (threads > 1 ? 4 : 10)));
    for (let built = 0; built < trees; ) {
      const jobs: KernelJob[] = [];
      for (let j = 0; j < threads && built < trees; j++) {
        const end = Math.min(trees, built + chunk);
        jobs.push({
          fn: 'buildTrees',
          args: [
            x,
            m.rows,
            m.cols,
            psi,
            depth,
            built,
            end,
            seed >>> 0,
            Math.floor(seed / 2 ** 32) >>> 0,
            c,
            terms,
            features,
            indices,
            weights,
            thresholds,
            leaves,
            scratch[j] as number,
          ],
        });
        built = end;
      }
      threadPool(k).run(jobs);
      onProgress?.(built, trees);
    }
    const buffer = k.memory.buffer;
    return {
      trees,
      depth,
      terms,
      features: new Int32Array(buffer, features, terms === 0 ? trees * internal : 0).slice(),
      indices: new Int32Array(buffer, indices, trees * internal * terms).slice(),
      weights: new Float64Array(buffer, weights, trees * internal * terms).slice(),
      thresholds: new Float64Array(buffer, thresholds, trees * internal).slice(),
      leaves: new Float64Array(buffer, leaves, trees * leafCount).slice(),
    };
  });
}

/**
 * Sum over trees of the path length h(x) of every row of `m` (the scoring kernels: packed nodes
 * for the standard forest, `scoreRowsExtended` for the extended one), rows split across threads
 * in whole blocks.
 */
export function pathLengthSums(forest: ForestArrays, m: Matrix, threads: number): Float64Array {
  const kernels = sharedKernels();
  const used = threadCount(kernels, threads, Math.ceil(m.rows / BLOCK));
  return withHeap(kernels, (k) => {
    const features = writeInt32(k, forest.features);
    const indices = writeInt32(k, forest.indices);
    const weights = writeFloat64(k, forest.weights);
    const thresholds = writeFloat64(k, forest.thresholds);
    const leaves = writeFloat64(k, forest.leaves);
    const x = writeFloat64(k, m.data);
    const out = k.allocate(m.rows * 8);
    const nodes = forest.terms === 0 ? k.allocate(forest.thresholds.length * 16) : 0;
    if (forest.terms === 0) k.packTrees(features, thresholds, forest.trees, forest.depth, nodes);
    new Float64Array(k.memory.buffer, out, m.rows).fill(0);
    const jobs: KernelJob[] = ranges(m.rows, used, BLOCK).map(([start, end]) =>
      forest.terms === 0
        ? {
            fn: 'scoreRowsPacked',
            pieces: [2, 3, SCORE_PIECE],
            args: [x, m.cols, start, end, forest.trees, forest.depth, nodes, leaves, out],
          }
        : {
            fn: 'scoreRowsExtended',
            pieces: [2, 3, SCORE_PIECE],
            args: [
              x,
              m.cols,
              start,
              end,
              forest.trees,
              forest.depth,
              forest.terms,
              indices,
              weights,
              thresholds,
              leaves,
              out,
            ],
          },
    );
    threadPool(k).run(jobs);
    return new Float64Array(k.memory.buffer, out, m.rows).slice();
  });
}

function writeInt32(k: KernelExports, values: Int32Array): number {
  const pointer = k.allocate(values.length * 4);
  new Int32Array(k.memory.buffer, pointer, values.length).set(values);
  return pointer;
}
