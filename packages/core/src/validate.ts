import type { Matrix } from './api.js';
import { CONTAMINATION_RULE, isContamination } from './config-schema.js';
import { CoreError } from './errors.js';

/** Small named validators: each throws a CoreError naming the argument, its value and what is accepted. */

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function assertInteger(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = `${min === -Infinity ? '(-∞' : `[${min}`}, ${max === Infinity ? '∞)' : `${max}]`}`;
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${name} must be an integer in ${range}, got ${describeValue(value)}.`,
    );
  }
  return value;
}

export function assertContamination(name: string, value: unknown): number {
  if (!isContamination(value)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${name} must be ${CONTAMINATION_RULE}, got ${describeValue(value)}.`,
    );
  }
  return value;
}

/** A number strictly inside (low, high). */
export function assertOpenInterval(name: string, value: unknown, low: number, high: number): number {
  if (typeof value !== 'number' || !(value > low && value < high)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${name} must be a number in (${low}, ${high}), got ${describeValue(value)}.`,
    );
  }
  return value;
}

export function assertOneOf<T extends string>(name: string, value: unknown, accepted: readonly T[]): T {
  if (typeof value !== 'string' || !accepted.includes(value as T)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${name} must be one of ${accepted.map((a) => `"${a}"`).join(', ')}, got ${describeValue(value)}.`,
    );
  }
  return value as T;
}

/** Checks a matrix's shape and that every value is finite. */
export function assertMatrix(name: string, X: Matrix, expectedCols?: number): Matrix {
  if (
    !X ||
    !(X.data instanceof Float64Array) ||
    !Number.isInteger(X.rows) ||
    !Number.isInteger(X.cols) ||
    X.data.length !== X.rows * X.cols
  ) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${name} must be a Matrix { data: Float64Array, rows, cols } with data.length = rows × cols.`,
    );
  }
  if (expectedCols !== undefined && X.cols !== expectedCols) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${name} has ${X.cols} columns but the model was fitted on ${expectedCols} features: ` +
        'score with the same feature set the model was trained on, or retrain.',
    );
  }
  for (let i = 0; i < X.data.length; i++) {
    if (!Number.isFinite(X.data[i]!)) {
      const row = Math.floor(i / X.cols);
      throw new CoreError(
        'NON_FINITE_INPUT',
        `${name} has a non-finite value (${X.data[i]}) at row ${row}, column ${i % X.cols}: ` +
          'drop or repair that row before scoring.',
      );
    }
  }
  return X;
}
