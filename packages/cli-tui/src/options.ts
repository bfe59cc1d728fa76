import { INTERVALS, type Interval, isInterval } from '@crypto-anomaly/data/intervals';
import { type Command, InvalidArgumentError } from 'commander';
import type { ConfigFile } from './config.js';
import { loadConfig } from './config.js';
import { usageError } from './errors.js';

/** Commander argument parsers: a bad value becomes a usage error naming the flag (exit 2). */
export const parse = {
  positiveInteger(value: string): number {
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number <= 0) {
      throw new InvalidArgumentError('Expected a whole number above 0, e.g. 20.');
    }
    return number;
  },
  nonNegativeInteger(value: string): number {
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
      throw new InvalidArgumentError('Expected a whole number, 0 or more, e.g. 7.');
    }
    return number;
  },
  interval(value: string): Interval {
    if (!isInterval(value)) throw new InvalidArgumentError(`Expected one of ${INTERVALS.join(', ')}.`);
    return value;
  },
  symbol(value: string): string {
    if (!/^[A-Za-z0-9]{2,20}$/.test(value)) {
      throw new InvalidArgumentError('Expected a Binance symbol such as BTCUSDT (letters and digits).');
    }
    return value.toUpperCase();
  },
  date(value: string): number {
    const time = parseDate(value);
    if (time === undefined) {
      throw new InvalidArgumentError(
        'Expected a UTC date like 2018-01-01, a time like 2018-01-01T12:00Z, or Unix ms.',
      );
    }
    return time;
  },
  list(value: string): string[] {
    const items = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
    if (items.length === 0)
      throw new InvalidArgumentError('Expected comma-separated names, e.g. open,close.');
    return items;
  },
  contamination(value: string): 'auto' | number {
    if (value === 'auto') return 'auto';
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0 || number > 0.5) {
      throw new InvalidArgumentError('Expected auto or a fraction in (0, 0.5], e.g. 0.05.');
    }
    return number;
  },
  url(value: string): string {
    try {
      return new URL(value).toString().replace(/\/$/, '');
    } catch {
      throw new InvalidArgumentError('Expected an absolute URL, e.g. https://api.binance.com.');
    }
  },
};

/** Unix ms from `YYYY-MM-DD`, an ISO date-time (UTC unless it says otherwise), or digits (Unix ms). */
export function parseDate(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const withZone = /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || text.length === 10 ? text : `${text}Z`;
  const time = Date.parse(withZone);
  return Number.isFinite(time) ? time : undefined;
}

/** A config-file date, checked like the flag (the error names the key). */
export function configDate(key: string, value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = parseDate(value);
  if (time === undefined) {
    throw usageError(
      `--config (${key})`,
      `"${value}" is not a date`,
      'write a UTC date like 2018-01-01 or Unix ms',
    );
  }
  return time;
}

/**
 * The value of one setting: the flag when given on the command line, else the config file's
 * key, else undefined (the engine's default then applies).
 */
export function pick<T>(command: Command, flag: string, fromConfig: T | undefined): T | undefined {
  const source = command.getOptionValueSource(flag);
  if (source === 'cli' || source === 'env') return command.getOptionValue(flag) as T;
  if (fromConfig !== undefined) return fromConfig;
  return command.getOptionValue(flag) as T | undefined;
}

/** Loads `--config FILE` when given; an empty config otherwise. */
export async function configOf(command: Command): Promise<ConfigFile> {
  const path = command.getOptionValue('config') as string | undefined;
  return path ? loadConfig(path) : {};
}
