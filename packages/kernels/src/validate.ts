import type { Matrix } from './api.js';
import { KernelError } from './errors.js';

/** Short, printable form of a bad value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return Object.prototype.toString.call(value);
}

/** A network kernel's flat parameter vector and its gradient, both `count` long. */
export function assertParameterVectors(
  count: number,
  parameters: Float32Array,
  gradient: Float32Array,
): void {
  if (parameters.length !== count || gradient.length !== count) {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `parameters and gradient must hold ${count} values, got ${parameters.length} and ${gradient.length}.`,
    );
  }
}

export function assertInteger(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new KernelError('INVALID_ARGUMENT', `${name} must be ${range}; got ${describe(value)}.`);
  }
  return value;
}

export function assertInRange(name: string, value: unknown, min: number, max: number, what = ''): number {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `${name} must be a number in [${min}, ${max}]${what}; got ${describe(value)}.`,
    );
  }
  return value;
}

function isArrayLike(value: unknown): value is ArrayLike<number> {
  return (
    value != null && typeof value === 'object' && typeof (value as { length?: unknown }).length === 'number'
  );
}

/** Checks a series argument (any array-like of numbers). */
export function assertSeries(name: string, values: unknown): ArrayLike<number> {
  if (!isArrayLike(values)) {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `${name} must be an array or typed array of numbers; got ${describe(values)}.`,
    );
  }
  return values;
}

/**
 * Turns number[][] (rows), a row-major Float64Array with its shape, or a Matrix into a Matrix,
 * checking that the shape matches the data. Does not copy a Float64Array or a Matrix's data.
 */
export function toMatrix(
  X: Matrix | number[][] | Float64Array,
  shape?: [number, number],
  name = 'X',
): Matrix {
  if (X instanceof Float64Array) {
    if (!shape) {
      throw new KernelError(
        'SHAPE_MISMATCH',
        `${name} is a Float64Array without a shape: pass shape [rows, cols] with rows * cols = ${X.length}.`,
      );
    }
    return checkMatrix({ data: X, rows: shape[0], cols: shape[1] }, name);
  }
  if (Array.isArray(X)) {
    const rows = X.length;
    if (rows === 0) throw new KernelError('EMPTY_INPUT', `${name} has no rows: pass at least one row.`);
    const first = X[0];
    if (!Array.isArray(first)) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `${name} must be an array of rows (number[][]); row 0 is ${describe(first)}.`,
      );
    }
    const cols = first.length;
    const data = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = X[r];
      if (!Array.isArray(row) || row.length !== cols) {
        throw new KernelError(
          'SHAPE_MISMATCH',
          `${name} row ${r} has ${Array.isArray(row) ? row.length : describe(row)} values but row 0 has ${cols}: every row needs the same length.`,
        );
      }
      data.set(row, r * cols);
    }
    return checkMatrix({ data, rows, cols }, name);
  }
  if (X != null && typeof X === 'object' && (X as Matrix).data instanceof Float64Array) {
    return checkMatrix(X as Matrix, name);
  }
  throw new KernelError(
    'INVALID_ARGUMENT',
    `${name} must be a Matrix { data, rows, cols }, number[][] or a Float64Array with a shape; got ${describe(X)}.`,
  );
}

function checkMatrix(m: Matrix, name: string): Matrix {
  const { rows, cols, data } = m;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new KernelError(
      'SHAPE_MISMATCH',
      `${name} shape [${rows}, ${cols}] must be two non-negative integers.`,
    );
  }
  if (rows * cols !== data.length) {
    throw new KernelError(
      'SHAPE_MISMATCH',
      `${name} shape [${rows}, ${cols}] needs ${rows * cols} values but the data has ${data.length}.`,
    );
  }
  if (rows === 0 || cols === 0) {
    throw new KernelError(
      'EMPTY_INPUT',
      `${name} is empty (shape [${rows}, ${cols}]): pass at least one row and one column.`,
    );
  }
  return m;
}

/** Throws NON_FINITE_INPUT at the first NaN or ±Infinity of a matrix. */
export function assertFinite(name: string, m: Matrix): void {
  const { data, cols } = m;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) {
      throw new KernelError(
        'NON_FINITE_INPUT',
        `${name}[${Math.floor(i / cols)}][${i % cols}] is ${v}: the forest needs finite values; drop or impute those rows first.`,
      );
    }
  }
}
