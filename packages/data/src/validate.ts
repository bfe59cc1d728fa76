import type { KlineRequest, TimeRange } from './api.js';
import { DataError } from './errors.js';

/** Small named validators: each throws a DataError naming the argument, its value and what is accepted. */

export function assertFiniteNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new DataError('INVALID_ARGUMENT', `${name} must be a finite number, got ${describeValue(value)}.`);
  }
  return value;
}

export function assertPositiveNumber(name: string, value: unknown): number {
  assertFiniteNumber(name, value);
  if ((value as number) <= 0) {
    throw new DataError('INVALID_ARGUMENT', `${name} must be greater than 0, got ${describeValue(value)}.`);
  }
  return value as number;
}

export function assertInteger(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      min === -Infinity && max === Infinity ? '' : ` in [${min}, ${max === Infinity ? '∞' : max}]`;
    throw new DataError(
      'INVALID_ARGUMENT',
      `${name} must be an integer${range}, got ${describeValue(value)}.`,
    );
  }
  return value;
}

export function assertRange(name: string, value: unknown, min: number, max: number, what = ''): number {
  assertFiniteNumber(name, value);
  if ((value as number) < min || (value as number) > max) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `${name} must be in [${min}, ${max}]${what ? ` (${what})` : ''}, got ${describeValue(value)}.`,
    );
  }
  return value as number;
}

export function assertTimestamp(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 8.64e15) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `${name} must be a Unix time in milliseconds (a non-negative integer, e.g. Date.UTC(2024, 0, 1)), got ${describeValue(value)}.`,
    );
  }
  return value;
}

/**
 * Checks the `start`/`end` of a load request: each a Unix time in ms when given (else the bound
 * in `unbounded`), and start not after end.
 */
export function assertTimeRange(
  range: { start?: number | undefined; end?: number | undefined },
  unbounded: { start: number; end: number },
): { start: number; end: number } {
  const start = range.start === undefined ? unbounded.start : assertTimestamp('start', range.start);
  const end = range.end === undefined ? unbounded.end : assertTimestamp('end', range.end);
  if (start > end) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `start (${new Date(start).toISOString()}) is after end (${new Date(end).toISOString()}); swap them.`,
    );
  }
  return { start, end };
}

export function assertSymbol(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Z0-9_.-]{1,32}$/.test(value)) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `${name} must be an exchange symbol in capitals such as "BTCUSDT", got ${describeValue(value)}.`,
    );
  }
  return value;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    return JSON.stringify(value).slice(0, 80);
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
 * Refuses an options object with a key the function does not read: a misspelt option would
 * otherwise be ignored and its default used without a word. `what` names the object ("fetchKlines
 * options"); the message lists the known keys, the closest to the (first) unknown one first. A key
 * whose value is undefined is let through whatever its name (it sets nothing, and callers spread
 * optional settings); so are null and undefined options, which mean "the defaults".
 */
export function assertKnownKeys(what: string, options: unknown, known: readonly string[]): void {
  if (options == null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new DataError('INVALID_ARGUMENT', `${what} must be an object, got ${describeValue(options)}.`);
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
  throw new DataError(
    'INVALID_ARGUMENT',
    `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in ${what} (the keys there are ${listed.join(', ')}).`,
  );
}

/** What a source's `load` (and `fill`) reads of a request. */
export const KLINE_REQUEST_KEYS = keysOf<KlineRequest>({
  symbol: true,
  interval: true,
  start: true,
  end: true,
});

/** What a range of open times holds (`TimeRange`; the store's reads take either or both). */
export const TIME_RANGE_KEYS = keysOf<TimeRange>({ start: true, end: true });
