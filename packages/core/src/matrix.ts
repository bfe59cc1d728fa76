import type { Matrix } from './api.js';

export function createMatrix(rows: number, cols: number): Matrix {
  return { data: new Float64Array(rows * cols), rows, cols };
}

/** Rows [start, end) as a view sharing the same buffer (no copy). */
export function sliceRows(X: Matrix, start: number, end: number): Matrix {
  return { data: X.data.subarray(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
}

export function column(X: Matrix, col: number): Float64Array {
  const out = new Float64Array(X.rows);
  for (let r = 0; r < X.rows; r++) out[r] = X.data[r * X.cols + col]!;
  return out;
}

/** Builds a row-major matrix from equally long columns. */
export function fromColumns(columns: readonly Float64Array[]): Matrix {
  const cols = columns.length;
  const rows = columns[0]?.length ?? 0;
  const X = createMatrix(rows, cols);
  for (let c = 0; c < cols; c++) {
    const values = columns[c]!;
    for (let r = 0; r < rows; r++) X.data[r * cols + c] = values[r]!;
  }
  return X;
}
