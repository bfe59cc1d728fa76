import type { Matrix, WinsorizeBounds, WinsorizeOptions } from './api.js';
import { KernelError } from './errors.js';
import { assertInRange, assertSeries, toMatrix } from './validate.js';
import { readFloat64, sharedKernels, withHeap, writeFloat64 } from './wasm.js';

const DEFAULTS = Object.freeze({ lower: 0.01, upper: 0.99 });

/**
 * Per-column [lower, upper] quantiles of X (numpy's default 'linear' interpolation, NaN skipped as
 * numpy's nanquantile), found by selection in O(rows) per column, not by sorting. A column with no
 * values gets NaN bounds (winsorize then leaves it NaN).
 */
export function winsorizeBounds(
  X: Matrix | number[][] | Float64Array,
  options?: WinsorizeOptions & { shape?: [number, number] },
): WinsorizeBounds {
  const lowerQ = assertInRange('lower', options?.lower ?? DEFAULTS.lower, 0, 1);
  const upperQ = assertInRange('upper', options?.upper ?? DEFAULTS.upper, 0, 1);
  if (lowerQ > upperQ) {
    throw new KernelError('INVALID_ARGUMENT', `lower (${lowerQ}) must be <= upper (${upperQ}).`);
  }
  const m = toMatrix(X, X instanceof Float64Array ? (options?.shape ?? [X.length, 1]) : undefined);
  return withHeap(sharedKernels(), (k) => {
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
    return { lower, upper };
  });
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
  const lowerQ = assertInRange('lower', options?.lower ?? DEFAULTS.lower, 0, 1);
  const upperQ = assertInRange('upper', options?.upper ?? DEFAULTS.upper, 0, 1);
  if (lowerQ > upperQ) {
    throw new KernelError('INVALID_ARGUMENT', `lower (${lowerQ}) must be <= upper (${upperQ}).`);
  }
  const m = toMatrix(X, X instanceof Float64Array ? (options?.shape ?? [X.length, 1]) : undefined);
  return withHeap(sharedKernels(), (k) => {
    const x = writeFloat64(k, m.data);
    const scratch = k.allocate(m.rows * 8);
    const out = k.allocate(16);
    const bounds = k.allocate(m.cols * 16);
    for (let c = 0; c < m.cols; c++) {
      k.columnQuantiles(x, m.rows, m.cols, c, lowerQ, upperQ, scratch, out);
      const pair = new Float64Array(k.memory.buffer, out, 2);
      const both = new Float64Array(k.memory.buffer, bounds, m.cols * 2);
      both[c] = pair[0] as number;
      both[m.cols + c] = pair[1] as number;
    }
    k.clipColumns(x, m.rows, m.cols, bounds, bounds + m.cols * 8, x);
    return {
      bounds: { lower: readFloat64(k, bounds, m.cols), upper: readFloat64(k, bounds + m.cols * 8, m.cols) },
      data: { data: readFloat64(k, x, m.data.length), rows: m.rows, cols: m.cols },
    };
  });
}

/** The q-quantile of one series (numpy's default linear interpolation, NaN skipped); NaN if no values. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const series = assertSeries('values', values);
  assertInRange('q', q, 0, 1);
  if (series.length === 0)
    throw new KernelError('EMPTY_INPUT', 'values is empty: quantile needs at least one value.');
  return withHeap(sharedKernels(), (k) => {
    const x = writeFloat64(k, series);
    const scratch = k.allocate(series.length * 8);
    const out = k.allocate(16);
    k.columnQuantiles(x, series.length, 1, 0, q, q, scratch, out);
    return new Float64Array(k.memory.buffer, out, 1)[0] as number;
  });
}
