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
