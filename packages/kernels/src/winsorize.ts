import type { KernelExports, Matrix, WinsorizeBounds, WinsorizeOptions } from './api.js';
import { KernelError } from './errors.js';
import { assertInRange, assertKnownKeys, assertNumbers, assertSeries, keysOf, toMatrix } from './validate.js';
import { readFloat64, sharedKernels, withHeap, writeFloat64 } from './wasm.js';

const DEFAULTS = Object.freeze({ lower: 0.01, upper: 0.99 });
const OPTION_KEYS = keysOf<WinsorizeOptions & { shape?: [number, number] }>({
  lower: true,
  upper: true,
  shape: true,
});

/**
 * Sizes of the streamed path, read on every call. Internal (not exported from the package): the
 * unit tests lower them so that a few thousand values take the sampled one-pass path over several
 * chunks; `bench/run.ts` runs the defaults on 10,000,000 values. (The sampled path inside
 * `columnQuantiles`, for matrices of several columns, has its own threshold in assembly/winsorize.ts.)
 */
export const winsorizeTuning = {
  /** Series at least this long take the streaming path (never copied whole into WASM memory). */
  streamMin: 100_000,
  /** Values per chunk handed to the kernels (512 KiB: they stay in cache). */
  chunk: 1 << 16,
  /** Values drawn (with replacement) to bracket the ranks; with fewer than 1,000 non-NaN the path gives up. */
  sample: 20_000,
};

/**
 * [lower, upper] quantiles of a long series, streamed through the kernels in chunks: a sample
 * brackets both ranks, each chunk is counted and its few in-bracket values kept, and the exact
 * order statistics are selected among those. undefined when a bracket misses (the caller then
 * selects over the whole series); exact whenever it returns.
 */
function streamedQuantiles(
  k: KernelExports,
  values: ArrayLike<number>,
  qLow: number,
  qHigh: number,
): [number, number] | undefined {
  const n = values.length;
  const { chunk: chunkLength, sample: sampleLength } = winsorizeTuning;
  const sample = k.allocate(sampleLength * 8);
  const state = k.allocate(64);
  const capacity = (n >> 3) + 1024;
  const lowBuffer = k.allocate(capacity * 8);
  const highBuffer = k.allocate(capacity * 8);
  const chunk = k.allocate(chunkLength * 8);
  const out = k.allocate(16);
  const buffer = k.memory.buffer;
  const sampleView = new Float64Array(buffer, sample, sampleLength);
  let s = 0;
  let seed = 0x2545f491;
  for (let i = 0; i < sampleLength; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const v = values[Math.floor((seed / 2 ** 32) * n)] as number;
    if (!Number.isNaN(v)) sampleView[s++] = v;
  }
  if (s < 1000) return undefined;
  k.bracketStart(sample, s, qLow, qHigh, state);
  const chunkView = new Float64Array(buffer, chunk, chunkLength);
  for (let start = 0; start < n; start += chunkLength) {
    const end = Math.min(n, start + chunkLength);
    copyInto(chunkView, values, start, end);
    k.bracketChunk(chunk, end - start, 1, state, lowBuffer, highBuffer, capacity);
  }
  if (!k.bracketFinish(qLow, qHigh, state, lowBuffer, highBuffer, out)) return undefined;
  const pair = new Float64Array(buffer, out, 2);
  return [pair[0] as number, pair[1] as number];
}

function copyInto(view: Float64Array, values: ArrayLike<number>, start: number, end: number): void {
  if (ArrayBuffer.isView(values)) view.set((values as Float64Array).subarray(start, end));
  else for (let i = start; i < end; i++) view[i - start] = values[i] as number;
}

/** A new series clipped to [lower, upper], streamed through the kernels in chunks. */
function streamedClip(
  k: KernelExports,
  values: ArrayLike<number>,
  lower: number,
  upper: number,
): Float64Array {
  const n = values.length;
  const result = new Float64Array(n);
  const chunkLength = winsorizeTuning.chunk;
  const chunk = k.allocate(chunkLength * 8);
  const bounds = writeFloat64(k, [lower, upper]);
  const view = new Float64Array(k.memory.buffer, chunk, chunkLength);
  for (let start = 0; start < n; start += chunkLength) {
    const end = Math.min(n, start + chunkLength);
    copyInto(view, values, start, end);
    k.clipColumns(chunk, end - start, 1, bounds, bounds + 8, chunk);
    result.set(view.subarray(0, end - start), start);
  }
  return result;
}

/** Column quantiles of a matrix copied whole into WASM memory (short series, several columns). */
function copiedQuantiles(
  k: KernelExports,
  m: Matrix,
  lowerQ: number,
  upperQ: number,
): { lower: Float64Array; upper: Float64Array; pointer: number } {
  const x = writeFloat64(k, m.data);
  const scratch = k.allocate(m.rows * 8);
  const out = k.allocate(16);
  const lower = new Float64Array(m.cols);
  const upper = new Float64Array(m.cols);
  for (let c = 0; c < m.cols; c++) {
    k.columnQuantiles(x, m.rows, m.cols, c, lowerQ, upperQ, scratch, out);
    const pair = new Float64Array(k.memory.buffer, out, 2);
    lower[c] = pair[0] as number;
    upper[c] = pair[1] as number;
  }
  return { lower, upper, pointer: x };
}

function boundsOf(k: KernelExports, m: Matrix, lowerQ: number, upperQ: number): WinsorizeBounds {
  if (m.cols === 1 && m.rows >= winsorizeTuning.streamMin) {
    const mark = k.heapMark();
    const streamed = streamedQuantiles(k, m.data, lowerQ, upperQ);
    k.releaseHeap(mark);
    if (streamed) return { lower: Float64Array.of(streamed[0]), upper: Float64Array.of(streamed[1]) };
  }
  const { lower, upper } = copiedQuantiles(k, m, lowerQ, upperQ);
  return { lower, upper };
}

/**
 * Per-column [lower, upper] quantiles of X (numpy's default 'linear' interpolation, NaN skipped as
 * numpy's nanquantile), found by selection in O(rows) per column, not by sorting. A column with no
 * values gets NaN bounds (winsorize then leaves it NaN).
 */
export function winsorizeBounds(
  X: Matrix | number[][] | Float64Array,
  options?: WinsorizeOptions & { shape?: [number, number] },
): WinsorizeBounds {
  assertKnownKeys('winsorizeBounds options', options, OPTION_KEYS);
  const lowerQ = assertInRange('lower', options?.lower ?? DEFAULTS.lower, 0, 1);
  const upperQ = assertInRange('upper', options?.upper ?? DEFAULTS.upper, 0, 1);
  if (lowerQ > upperQ) {
    throw new KernelError('INVALID_ARGUMENT', `lower (${lowerQ}) must be <= upper (${upperQ}).`);
  }
  const m = toMatrix(X, X instanceof Float64Array ? (options?.shape ?? [X.length, 1]) : undefined);
  return withHeap(sharedKernels(), (k) => boundsOf(k, m, lowerQ, upperQ));
}

/** Clips each column of X to [bounds.lower[c], bounds.upper[c]]; returns a new matrix (NaN stays NaN). */
export function winsorize(
  X: Matrix | number[][] | Float64Array,
  bounds: WinsorizeBounds | { lower: ArrayLike<number>; upper: ArrayLike<number> },
): Matrix {
  const m = toMatrix(X, X instanceof Float64Array ? [X.length, 1] : undefined);
  if (bounds == null || bounds.lower?.length !== m.cols || bounds.upper.length !== m.cols) {
    throw new KernelError(
      'FEATURE_COUNT_MISMATCH',
      `bounds must hold lower and upper arrays of ${m.cols} numbers (one per column of X), as winsorizeBounds returns; got ${bounds?.lower?.length ?? 'none'} and ${bounds?.upper?.length ?? 'none'}.`,
    );
  }
  assertNumbers('bounds.lower', bounds.lower);
  assertNumbers('bounds.upper', bounds.upper);
  for (let c = 0; c < m.cols; c++) {
    // Clipping to a lower bound above the upper one gives the upper bound for every value.
    // (NaN bounds, of a column that had no values, leave it as it is.)
    if ((bounds.lower[c] as number) > (bounds.upper[c] as number)) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `bounds.lower[${c}] (${bounds.lower[c]}) is above bounds.upper[${c}] (${bounds.upper[c]}): each column's lower bound must be <= its upper bound (winsorizeBounds gives such bounds).`,
      );
    }
  }
  if (m.cols === 1 && m.rows >= winsorizeTuning.streamMin) {
    const [lo, hi] = [bounds.lower[0] as number, bounds.upper[0] as number];
    return withHeap(sharedKernels(), (k) => ({
      data: streamedClip(k, m.data, lo, hi),
      rows: m.rows,
      cols: 1,
    }));
  }
  return withHeap(sharedKernels(), (k) => {
    const x = writeFloat64(k, m.data);
    const lower = writeFloat64(k, bounds.lower);
    const upper = writeFloat64(k, bounds.upper);
    k.clipColumns(x, m.rows, m.cols, lower, upper, x);
    return { data: readFloat64(k, x, m.data.length), rows: m.rows, cols: m.cols };
  });
}

/**
 * winsorizeBounds then winsorize in one call, with the data crossing the WASM boundary once each
 * way (the fit-transform of a training set).
 */
export function winsorizeFit(
  X: Matrix | number[][] | Float64Array,
  options?: WinsorizeOptions & { shape?: [number, number] },
): { bounds: WinsorizeBounds; data: Matrix } {
  assertKnownKeys('winsorizeFit options', options, OPTION_KEYS);
  const lowerQ = assertInRange('lower', options?.lower ?? DEFAULTS.lower, 0, 1);
  const upperQ = assertInRange('upper', options?.upper ?? DEFAULTS.upper, 0, 1);
  if (lowerQ > upperQ) {
    throw new KernelError('INVALID_ARGUMENT', `lower (${lowerQ}) must be <= upper (${upperQ}).`);
  }
  const m = toMatrix(X, X instanceof Float64Array ? (options?.shape ?? [X.length, 1]) : undefined);
  if (m.cols === 1 && m.rows >= winsorizeTuning.streamMin) {
    return withHeap(sharedKernels(), (k) => {
      const bounds = boundsOf(k, m, lowerQ, upperQ);
      const data = streamedClip(k, m.data, bounds.lower[0] as number, bounds.upper[0] as number);
      return { bounds, data: { data, rows: m.rows, cols: 1 } };
    });
  }
  return withHeap(sharedKernels(), (k) => {
    const { lower, upper, pointer } = copiedQuantiles(k, m, lowerQ, upperQ);
    const bounds = writeFloat64(k, [...lower, ...upper]);
    k.clipColumns(pointer, m.rows, m.cols, bounds, bounds + m.cols * 8, pointer);
    return {
      bounds: { lower, upper },
      data: { data: readFloat64(k, pointer, m.data.length), rows: m.rows, cols: m.cols },
    };
  });
}

/**
 * The q-quantile of one series, q in [0, 1], as numpy's `nanquantile(values, q)` with its default
 * 'linear' method, bit for bit: NaN skipped, virtual index (n - 1) q, and numpy's _lerp, which
 * interpolates from the upper neighbour when the fraction is >= 0.5. Any array-like of numbers.
 * An empty series throws EMPTY_INPUT; one with only NaN gives NaN. Runs in the kernels (selection,
 * not sorting) whatever the length; series of 100,000+ values are streamed in chunks.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const series = assertSeries('values', values);
  assertInRange('q', q, 0, 1);
  if (series.length === 0)
    throw new KernelError('EMPTY_INPUT', 'values is empty: quantile needs at least one value.');
  const m: Matrix = { data: series as Float64Array, rows: series.length, cols: 1 };
  return withHeap(sharedKernels(), (k) => {
    if (series.length >= winsorizeTuning.streamMin) {
      const streamed = streamedQuantiles(k, series, q, q);
      if (streamed) return streamed[0];
    }
    const x = writeFloat64(k, m.data);
    const scratch = k.allocate(series.length * 8);
    const out = k.allocate(16);
    k.columnQuantiles(x, series.length, 1, 0, q, q, scratch, out);
    return new Float64Array(k.memory.buffer, out, 1)[0] as number;
  });
}
