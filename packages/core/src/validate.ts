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

/** Edits (insertions, deletions, substitutions) that turn a into b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1));
    }
    previous = current;
  }
  return previous[b.length]!;
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
 * Refuses an options object with a key the engine does not read: a misspelt option would
 * otherwise be ignored and its default used without a word (the pipeline config's schema refuses
 * them the same way). `what` names the object ("DenseAutoencoder options"); the message lists the
 * known keys, the closest to the (first) unknown one first. A key whose value is undefined is let
 * through whatever its name (it sets nothing, and callers spread optional settings); so are null
 * and undefined options, which mean "the defaults".
 */
export function assertKnownKeys(what: string, options: unknown, known: readonly string[]): void {
  if (options == null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new CoreError('INVALID_ARGUMENT', `${what} must be an object, got ${describeValue(options)}.`);
  }
  const unknown = Object.keys(options).filter(
    (key) => !known.includes(key) && (options as Record<string, unknown>)[key] !== undefined,
  );
  if (unknown.length === 0) return;
  const first = unknown[0]!;
  const closest = known.reduce<string | undefined>(
    (best, key) => (best === undefined || keyDistance(first, key) < keyDistance(first, best) ? key : best),
    undefined,
  );
  const listed = [...known].sort((a, b) => (a === closest ? -1 : b === closest ? 1 : 0));
  throw new CoreError(
    'INVALID_ARGUMENT',
    `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in ${what} (the keys there are ${listed.join(', ')}).`,
  );
}

/**
 * `options` over `defaults`: the keys `what` takes checked (`assertKnownKeys`), and a key given as
 * undefined taking its default as one left out does.
 */
export function withDefaults<T extends object>(what: string, defaults: Readonly<T>, options: Partial<T>): T {
  assertKnownKeys(what, options, Object.keys(defaults));
  const given = Object.entries(options ?? {}).filter(([, value]) => value !== undefined);
  return { ...defaults, ...Object.fromEntries(given) } as T;
}

/**
 * The options a saved model holds that this version reads. A detector built before unknown keys
 * were refused kept a misspelt option in its options (and so in the file); it never had an effect,
 * and the model must still load.
 */
export function savedOptions<T extends object>(saved: T, known: readonly string[]): T {
  return Object.fromEntries(Object.entries(saved).filter(([key]) => known.includes(key))) as T;
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
