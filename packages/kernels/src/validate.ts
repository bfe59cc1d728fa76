import type { Matrix } from './api.js';
import { KernelError } from './errors.js';

/** Short, printable form of a bad value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return Object.prototype.toString.call(value);
}

/** Edits (insertions, deletions, substitutions) that turn a into b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** How far a misspelt key is from a known one: case aside, and 0 for one cut short (valid, validation). */
function keyDistance(given: string, known: string): number {
  const [a, b] = [given.toLowerCase(), known.toLowerCase()];
  return a.startsWith(b) || b.startsWith(a) ? 0 : editDistance(a, b);
}

/**
 * The keys of an options type, written as a record so that the compiler holds the list to the
 * type: a key missing from the record, or one the type does not have, fails to compile.
 */
export function keysOf<T>(record: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(record));
}

/**
 * Refuses an options object with a key the function does not read: a misspelt option would
 * otherwise be ignored and its default used without a word. `what` names the object ("rollingMean
 * options"); the message lists the known keys, the closest to the (first) unknown one first. A key
 * whose value is undefined is let through whatever its name (it sets nothing, and callers spread
 * optional settings); so are null and undefined options, which mean "the defaults".
 */
export function assertKnownKeys(what: string, options: unknown, known: readonly string[]): void {
  if (options == null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new KernelError('INVALID_ARGUMENT', `${what} must be an object; got ${describe(options)}.`);
  }
  const unknown = Object.keys(options).filter(
    (key) => !known.includes(key) && (options as Record<string, unknown>)[key] !== undefined,
  );
  if (unknown.length === 0) return;
  const first = unknown[0] as string;
  const closest = known.reduce<string | undefined>(
    (best, key) => (best === undefined || keyDistance(first, key) < keyDistance(first, best) ? key : best),
    undefined,
  );
  const listed = [...known].sort((a, b) => (a === closest ? -1 : b === closest ? 1 : 0));
  throw new KernelError(
    'INVALID_ARGUMENT',
    `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in ${what} (the keys there are ${listed.join(', ')}).`,
  );
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

/**
 * Refuses an element of a plain array (or array-like) that is not a number: copying into a
 * Float64Array would turn "42" into 42 and null into 0 without a word. Typed arrays hold numbers.
 */
export function assertNumbers(name: string, values: ArrayLike<unknown>, missing = ''): void {
  if (ArrayBuffer.isView(values)) return;
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `${name}[${i}] is ${describe(values[i])}, not a number: pass numbers${missing}.`,
      );
    }
  }
}

/** Checks a series argument (any array-like of numbers; NaN marks a missing value). */
export function assertSeries(name: string, values: unknown): ArrayLike<number> {
  if (!isArrayLike(values)) {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `${name} must be an array or typed array of numbers; got ${describe(values)}.`,
    );
  }
  assertNumbers(name, values, ' (NaN for a missing value)');
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
      assertNumbers(`${name}[${r}]`, row);
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
