import type { Matrix } from '../api.js';
import { CoreError } from '../errors.js';

/**
 * Checks a matrix where it enters a detector: its shape, its column count against the model's
 * and that every value is finite. `argument` names it in the error (e.g. `train`, `X`).
 */
export function assertModelInput(
  argument: string,
  X: Matrix,
  expected: { cols?: number; minRows?: number; detector: string; rowsHint?: string },
): void {
  if (
    !X ||
    !(X.data instanceof Float64Array) ||
    !Number.isInteger(X.rows) ||
    !Number.isInteger(X.cols) ||
    X.rows < 0 ||
    X.cols < 1 ||
    X.data.length !== X.rows * X.cols
  ) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${argument} must be a Matrix { data: Float64Array of rows × cols, rows, cols }, got ` +
        `rows ${X?.rows}, cols ${X?.cols}, data length ${X?.data?.length}.`,
    );
  }
  if (expected.cols !== undefined && X.cols !== expected.cols) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${argument} has ${X.cols} features but the ${expected.detector} model was trained on ` +
        `${expected.cols}: score with the same features, in the same order, as in training, or retrain.`,
    );
  }
  const minRows = expected.minRows ?? 1;
  if (X.rows < minRows) {
    throw new CoreError(
      'TOO_FEW_ROWS',
      `${argument} has ${X.rows} rows; the ${expected.detector} needs at least ${minRows}` +
        `${expected.rowsHint ? ` (${expected.rowsHint})` : ''}. Load a longer history.`,
    );
  }
  const { data, cols } = X;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new CoreError(
        'NON_FINITE_INPUT',
        `${argument} has ${data[i]} at row ${Math.floor(i / cols)}, column ${i % cols}: the ` +
          `${expected.detector} accepts finite numbers only. Drop or impute the row first (the ` +
          'preprocessor drops warm-up rows).',
      );
    }
  }
}

/** The matrix's values as float32, the precision the models compute in. */
export function toFloat32(X: Matrix): Float32Array {
  return Float32Array.from(X.data);
}

/** Row means of a row-major float32 `rows × cols` block, in float64. */
export function rowMeans(values: Float32Array, rows: number, cols: number): Float64Array {
  const means = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += values[r * cols + c]!;
    means[r] = sum / cols;
  }
  return means;
}

export function assertPositiveInteger(name: string, value: number, hint: string): number {
  if (!(Number.isSafeInteger(value) && value >= 1)) {
    throw new CoreError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}. ${hint}`);
  }
  return value;
}

export function assertPositiveNumber(name: string, value: number, hint: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new CoreError('INVALID_ARGUMENT', `${name} must be a positive number, got ${value}. ${hint}`);
  }
  return value;
}
