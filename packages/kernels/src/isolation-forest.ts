import { availableParallelism } from 'node:os';
import type { FitOptions, IsolationForestOptions, KernelExports, Matrix } from './api.js';
import { KernelError } from './errors.js';
import { averagePathLengths, depthFor, type ForestArrays } from './reference/isolation-forest.js';
import { type KernelJob, ThreadPool } from './thread-pool.js';
import { assertFinite, assertInteger, describe, toMatrix } from './validate.js';
import { sharedKernels, withHeap, writeFloat64 } from './wasm.js';
import { quantile } from './winsorize.js';

export const ISOLATION_FOREST_FORMAT = 'crypto-anomaly/isolation-forest';
export const ISOLATION_FOREST_VERSION = 1;

const DEFAULTS: Readonly<IsolationForestOptions> = Object.freeze({
  nEstimators: 100,
  maxSamples: 'auto',
  contamination: 'auto',
  extensionLevel: 0,
  seed: 0,
  threads: availableParallelism(),
});

/** Rows per scoring block in the kernel: thread chunks are multiples of it. */
const BLOCK = 64;
/** Rows per kernel call when scoring (a multiple of BLOCK): lets V8 swap in optimized code early. */
const SCORE_PIECE = BLOCK * 128;

/** The fitted state: replaced as a whole only when a fit succeeds. */
interface FittedForest extends ForestArrays {
  nFeatures: number;
  psi: number;
  threshold: number;
}

/** A saved forest: versioned JSON; typed arrays as base64 of their little-endian bytes. */
export interface IsolationForestJSON {
  format: typeof ISOLATION_FOREST_FORMAT;
  version: number;
  options: Omit<IsolationForestOptions, 'threads'>;
  nFeatures: number;
  psi: number;
  trees: number;
  depth: number;
  terms: number;
  threshold: number;
  features: string;
  indices: string;
  weights: string;
  thresholds: string;
  leaves: string;
}

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

function validateOptions(options: Partial<IsolationForestOptions>): IsolationForestOptions {
  if (options == null || typeof options !== 'object') {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `IsolationForest options must be an object; got ${describe(options)}.`,
    );
  }
  const o = { ...DEFAULTS, ...options };
  assertInteger('nEstimators', o.nEstimators, 1, 1_000_000);
  if (o.maxSamples !== 'auto') assertInteger('maxSamples', o.maxSamples, 2, 2 ** 24);
  if (
    o.contamination !== 'auto' &&
    !(typeof o.contamination === 'number' && o.contamination > 0 && o.contamination <= 0.5)
  ) {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `contamination must be 'auto' or a number in (0, 0.5]; got ${describe(o.contamination)}.`,
    );
  }
  assertInteger('extensionLevel', o.extensionLevel, 0);
  assertInteger('seed', o.seed, 0);
  assertInteger('threads', o.threads, 1, 1024);
  return o;
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

function toBase64(array: Int32Array | Float64Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

function fromBase64<T extends Int32Array | Float64Array>(
  text: unknown,
  Type: { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
  name: string,
): T {
  if (typeof text !== 'string')
    throw new KernelError('INVALID_MODEL', `Saved forest field ${name} is missing.`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length * Type.BYTES_PER_ELEMENT) {
    throw new KernelError(
      'INVALID_MODEL',
      `Saved forest field ${name} holds ${bytes.length} bytes but the forest's shape needs ${length * Type.BYTES_PER_ELEMENT}.`,
    );
  }
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return new Type(copy);
}

/**
 * Isolation Forest (Liu, Ting & Zhou 2008), and the Extended Isolation Forest (Hariri et al. 2019)
 * with `extensionLevel` > 0. Scores follow PyOD's sign: higher means more anomalous.
 */
export class IsolationForest {
  readonly options: Readonly<IsolationForestOptions>;
  private fitted: FittedForest | undefined;

  constructor(options: Partial<IsolationForestOptions> = {}) {
    this.options = Object.freeze(validateOptions(options));
  }

  /** Features the forest was fitted on (0 before fit). */
  get nFeatures(): number {
    return this.fitted?.nFeatures ?? 0;
  }

  /** Scores above this are anomalies: 0.5 for contamination 'auto', else the (1 - c) quantile of training scores. */
  get threshold(): number {
    return this.requireFitted('threshold').threshold;
  }

  get isFitted(): boolean {
    return this.fitted !== undefined;
  }

  /** The fitted arrays (read-only use: tests, twins, serialisation). */
  get forest(): Readonly<ForestArrays> {
    return this.requireFitted('forest');
  }

  /** Builds the trees. X: number[][], a Matrix, or a row-major Float64Array with `shape`. */
  fit(X: Matrix | number[][] | Float64Array, options: FitOptions & { shape?: [number, number] } = {}): this {
    const m = toMatrix(X, options.shape);
    assertFinite('X', m);
    const { nEstimators: trees, extensionLevel, seed } = this.options;
    if (m.rows < 2) {
      throw new KernelError('EMPTY_INPUT', `X has ${m.rows} row: an isolation forest needs at least 2 rows.`);
    }
    if (extensionLevel > m.cols - 1) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `extensionLevel must be in [0, ${m.cols - 1}] for ${m.cols} features; got ${extensionLevel}.`,
      );
    }
    const psi =
      this.options.maxSamples === 'auto' ? Math.min(256, m.rows) : Math.min(this.options.maxSamples, m.rows);
    const depth = depthFor(psi);
    const terms = extensionLevel === 0 ? 0 : extensionLevel + 1;
    const internal = (1 << depth) - 1;
    const leafCount = 1 << depth;
    const kernels = sharedKernels();
    const threads = this.threadCount(kernels, trees);
    const forest = withHeap(kernels, (k) => {
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
        options.onProgress?.(built, trees);
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
    const candidate: FittedForest = { ...forest, nFeatures: m.cols, psi, threshold: 0.5 };
    if (this.options.contamination !== 'auto') {
      const scores = this.scoresOf(candidate, m);
      candidate.threshold = quantile(scores, 1 - this.options.contamination);
    }
    this.fitted = candidate;
    return this;
  }

  /**
   * Anomaly score s = 2^(-E[h(x)] / c(psi)) in (0, 1] per row: higher = more anomalous. PyOD's
   * decision_function (the raw score, the meaning `decisionFunction` has in every package here);
   * scikit-learn's score_samples is its negative.
   */
  decisionFunction(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Float64Array {
    const fitted = this.requireFitted('decisionFunction');
    return this.scoresOf(fitted, this.checkScoringInput(fitted, X, shape));
  }

  /** @deprecated The same raw score as `decisionFunction`, under its former name: call `decisionFunction`. */
  scoreSamples(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Float64Array {
    return this.decisionFunction(X, shape);
  }

  /** 1 where the score is above the threshold (anomaly), else 0. */
  predict(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Uint8Array {
    const scores = this.decisionFunction(X, shape);
    const threshold = this.threshold;
    return Uint8Array.from(scores, (s) => (s > threshold ? 1 : 0));
  }

  /** Sum over trees of h(x) for each row (what the kernel computes; scores derive from it). */
  pathLengthSums(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Float64Array {
    const fitted = this.requireFitted('pathLengthSums');
    return this.sumsOf(fitted, this.checkScoringInput(fitted, X, shape));
  }

  toJSON(): IsolationForestJSON {
    const f = this.requireFitted('toJSON');
    const { threads: _threads, ...options } = this.options;
    return {
      format: ISOLATION_FOREST_FORMAT,
      version: ISOLATION_FOREST_VERSION,
      options,
      nFeatures: f.nFeatures,
      psi: f.psi,
      trees: f.trees,
      depth: f.depth,
      terms: f.terms,
      threshold: f.threshold,
      features: toBase64(f.features),
      indices: toBase64(f.indices),
      weights: toBase64(f.weights),
      thresholds: toBase64(f.thresholds),
      leaves: toBase64(f.leaves),
    };
  }

  /** Loads a forest saved by toJSON (or its JSON.stringify text); it scores identically. */
  static fromJSON(json: IsolationForestJSON | string, options: { threads?: number } = {}): IsolationForest {
    let j: IsolationForestJSON;
    try {
      j = typeof json === 'string' ? JSON.parse(json) : json;
    } catch (cause) {
      throw new KernelError('INVALID_MODEL', `Saved forest is not valid JSON: ${(cause as Error).message}`, {
        cause,
      });
    }
    if (j == null || j.format !== ISOLATION_FOREST_FORMAT) {
      throw new KernelError(
        'INVALID_MODEL',
        `Not a saved isolation forest (format ${describe(j?.format)}, expected "${ISOLATION_FOREST_FORMAT}").`,
      );
    }
    if (j.version !== ISOLATION_FOREST_VERSION) {
      throw new KernelError(
        'INVALID_MODEL',
        `Saved forest has version ${describe(j.version)}; this build reads version ${ISOLATION_FOREST_VERSION}: refit or upgrade @crypto-anomaly/kernels.`,
      );
    }
    let forest: IsolationForest;
    try {
      forest = new IsolationForest({
        ...j.options,
        ...(options.threads ? { threads: options.threads } : {}),
      });
      assertInteger('trees', j.trees, 1);
      assertInteger('depth', j.depth, 1, 24);
      assertInteger('terms', j.terms, 0);
      assertInteger('nFeatures', j.nFeatures, 1);
      assertInteger('psi', j.psi, 2);
    } catch (cause) {
      throw new KernelError('INVALID_MODEL', `Saved forest has a bad field: ${(cause as Error).message}`, {
        cause,
      });
    }
    const internal = (1 << j.depth) - 1;
    const leafCount = 1 << j.depth;
    const fitted: FittedForest = {
      trees: j.trees,
      depth: j.depth,
      terms: j.terms,
      nFeatures: j.nFeatures,
      psi: j.psi,
      threshold: Number(j.threshold),
      features: fromBase64(j.features, Int32Array, j.terms === 0 ? j.trees * internal : 0, 'features'),
      indices: fromBase64(j.indices, Int32Array, j.trees * internal * j.terms, 'indices'),
      weights: fromBase64(j.weights, Float64Array, j.trees * internal * j.terms, 'weights'),
      thresholds: fromBase64(j.thresholds, Float64Array, j.trees * internal, 'thresholds'),
      leaves: fromBase64(j.leaves, Float64Array, j.trees * leafCount, 'leaves'),
    };
    const indexLimit = j.nFeatures;
    for (const v of j.terms === 0 ? fitted.features : fitted.indices) {
      if (!(v >= 0 && v < indexLimit)) {
        throw new KernelError(
          'INVALID_MODEL',
          `Saved forest refers to feature ${v} of ${indexLimit}: the file is corrupt.`,
        );
      }
    }
    forest.fitted = fitted;
    return forest;
  }

  /** Compact binary form: 'CAIF', a little-endian u32 JSON header length, the JSON header, the arrays. */
  toBytes(): Uint8Array {
    const json = this.toJSON();
    const { features, indices, weights, thresholds, leaves, ...header } = json;
    const f = this.requireFitted('toBytes');
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const parts = [f.features, f.indices, f.weights, f.thresholds, f.leaves];
    const headerEnd = Math.ceil((8 + headerBytes.length) / 8) * 8;
    const total = headerEnd + parts.reduce((s, p) => s + p.byteLength, 0);
    const out = new Uint8Array(total);
    out.set(Buffer.from('CAIF', 'latin1'), 0);
    new DataView(out.buffer).setUint32(4, headerBytes.length, true);
    out.set(headerBytes, 8);
    let offset = headerEnd;
    for (const p of parts) {
      out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
      offset += p.byteLength;
    }
    return out;
  }

  static fromBytes(bytes: Uint8Array, options: { threads?: number } = {}): IsolationForest {
    if (
      !(bytes instanceof Uint8Array) ||
      bytes.length < 8 ||
      Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== 'CAIF'
    ) {
      throw new KernelError(
        'INVALID_MODEL',
        'Not a saved isolation forest: the bytes do not start with "CAIF".',
      );
    }
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
    } catch (cause) {
      throw new KernelError(
        'INVALID_MODEL',
        'Saved forest header is not valid JSON: the file is truncated or corrupt.',
        { cause },
      );
    }
    const trees = Number(header.trees);
    const depth = Number(header.depth);
    const terms = Number(header.terms);
    if (
      !Number.isInteger(trees) ||
      !Number.isInteger(depth) ||
      !Number.isInteger(terms) ||
      depth < 1 ||
      depth > 24
    ) {
      throw new KernelError('INVALID_MODEL', 'Saved forest header has no valid trees/depth/terms.');
    }
    const internal = (1 << depth) - 1;
    const sizes = [
      (terms === 0 ? trees * internal : 0) * 4,
      trees * internal * terms * 4,
      trees * internal * terms * 8,
      trees * internal * 8,
      trees * (1 << depth) * 8,
    ];
    let offset = Math.ceil((8 + headerLength) / 8) * 8;
    const encoded = sizes.map((size) => {
      const slice = Buffer.from(bytes.subarray(offset, offset + size));
      offset += size;
      return slice.toString('base64');
    });
    if (offset > bytes.length) throw new KernelError('INVALID_MODEL', 'Saved forest is truncated.');
    const [features, indices, weights, thresholds, leaves] = encoded as [
      string,
      string,
      string,
      string,
      string,
    ];
    return IsolationForest.fromJSON(
      { ...(header as unknown as IsolationForestJSON), features, indices, weights, thresholds, leaves },
      options,
    );
  }

  private requireFitted(what: string): FittedForest {
    if (!this.fitted) {
      throw new KernelError(
        'NOT_FITTED',
        `${what} needs a fitted forest: call fit(X) (or IsolationForest.fromJSON) first.`,
      );
    }
    return this.fitted;
  }

  private checkScoringInput(
    fitted: FittedForest,
    X: Matrix | number[][] | Float64Array,
    shape?: [number, number],
  ): Matrix {
    const m = toMatrix(X, shape);
    if (m.cols !== fitted.nFeatures) {
      throw new KernelError(
        'FEATURE_COUNT_MISMATCH',
        `X has ${m.cols} features but the forest was fitted on ${fitted.nFeatures}: score rows with the same columns.`,
      );
    }
    assertFinite('X', m);
    return m;
  }

  private threadCount(kernels: KernelExports, work: number): number {
    const wanted = Math.min(this.options.threads, work);
    return wanted > 1 && threadPool(kernels).usable ? wanted : 1;
  }

  private scoresOf(fitted: FittedForest, m: Matrix): Float64Array {
    const sums = this.sumsOf(fitted, m);
    const c = averagePathLengths(fitted.psi)[fitted.psi] as number;
    const scale = 1 / (fitted.trees * c);
    return sums.map((h) => 2 ** -(h * scale));
  }

  private sumsOf(fitted: FittedForest, m: Matrix): Float64Array {
    const kernels = sharedKernels();
    const threads = this.threadCount(kernels, Math.ceil(m.rows / BLOCK));
    return withHeap(kernels, (k) => {
      const features = writeFloat64Int(k, fitted.features);
      const indices = writeFloat64Int(k, fitted.indices);
      const weights = writeFloat64(k, fitted.weights);
      const thresholds = writeFloat64(k, fitted.thresholds);
      const leaves = writeFloat64(k, fitted.leaves);
      const x = writeFloat64(k, m.data);
      const out = k.allocate(m.rows * 8);
      const nodes = fitted.terms === 0 ? k.allocate(fitted.thresholds.length * 16) : 0;
      if (fitted.terms === 0) k.packTrees(features, thresholds, fitted.trees, fitted.depth, nodes);
      new Float64Array(k.memory.buffer, out, m.rows).fill(0);
      const jobs: KernelJob[] = ranges(m.rows, threads, BLOCK).map(([start, end]) =>
        fitted.terms === 0
          ? {
              fn: 'scoreRowsPacked',
              pieces: [2, 3, SCORE_PIECE],
              args: [x, m.cols, start, end, fitted.trees, fitted.depth, nodes, leaves, out],
            }
          : {
              fn: 'scoreRowsExtended',
              pieces: [2, 3, SCORE_PIECE],
              args: [
                x,
                m.cols,
                start,
                end,
                fitted.trees,
                fitted.depth,
                fitted.terms,
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
}

function writeFloat64Int(k: KernelExports, values: Int32Array): number {
  const pointer = k.allocate(values.length * 4);
  new Int32Array(k.memory.buffer, pointer, values.length).set(values);
  return pointer;
}
