import { CONTAMINATION_RULE, DETECTOR_NAMES, type DetectorName, isContamination } from '@crypto-anomaly/core';
import { INTERVALS, type Interval, isInterval } from '@crypto-anomaly/data';
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
    const date = readDate(value);
    if ('problem' in date) throw new InvalidArgumentError(`${date.problem}.`);
    return date.time;
  },
  /** Comma-separated names; a flag given twice adds to the names given before (`--exclude a --exclude b`). */
  list(value: string, previous?: string[]): string[] {
    const items = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
    if (items.length === 0)
      throw new InvalidArgumentError('Expected comma-separated names, e.g. open,close.');
    return [...(previous ?? []), ...items];
  },
  /**
   * `--detectors`: a comma-separated list of the pipeline's detectors; `iforest` is read as
   * isolation-forest. Unknown names are refused, naming the ones there are.
   */
  detectors(value: string): DetectorName[] {
    const names = parse.list(value).map((name) => (name === 'iforest' ? 'isolation-forest' : name));
    const known: readonly string[] = DETECTOR_NAMES;
    const unknown = names.filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new InvalidArgumentError(
        `${unknown.join(', ')} ${unknown.length === 1 ? 'is not a detector' : 'are not detectors'}: expected some of ${DETECTOR_NAMES.join(', ')} (iforest is read as isolation-forest), e.g. iforest,autoencoder.`,
      );
    }
    return [...new Set(names)] as DetectorName[];
  },
  contamination(value: string): 'auto' | number {
    if (value === 'auto') return 'auto';
    const number = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!isContamination(number))
      throw new InvalidArgumentError(`Expected auto or a fraction ${CONTAMINATION_RULE}.`);
    return number;
  },
  url(value: string): string {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      // Never echoed: a URL may hold a secret (a webhook's token).
      throw usageError(
        'URL',
        'expected an absolute URL such as https://api.binance.com (the value is not shown here)',
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw usageError('URL', `expected an http:// or https:// URL, not ${url.protocol}//`);
    }
    // Not echoed (commander's InvalidArgumentError would print the value): it carries a secret,
    // which fetch would not send anyway.
    if (url.username !== '' || url.password !== '') {
      throw usageError(
        'URL',
        'it carries a user or password (USER:PASS@), which is never sent; leave it out (the value is not shown here)',
        'give the URL without USER:PASS@',
      );
    }
    return url.toString().replace(/\/$/, '');
  },
  /**
   * `--webhook`: an https URL (http only to this machine: 127.0.0.1, ::1, localhost). A webhook's
   * URL usually is its secret (a token in its path or query), so it only travels encrypted.
   */
  webhookUrl(value: string): string {
    const url = parse.url(value);
    const { protocol, hostname } = new URL(url);
    if (protocol === 'http:' && !['127.0.0.1', '[::1]', 'localhost'].includes(hostname)) {
      // Not echoed either: the URL is usually the webhook's secret.
      throw usageError(
        '--webhook',
        `expected https://${hostname}/…: a webhook URL usually holds its secret, so it is only sent encrypted (http:// is accepted for 127.0.0.1 and localhost)`,
        'give the https:// URL your webhook provider gave you',
      );
    }
    return url;
  },
};

/**
 * A URL as it is shown (status lines, logs): its origin only, for its path and query may hold a
 * secret (a webhook's token).
 */
export function shownUrl(url: string): string {
  try {
    const { origin, pathname, search } = new URL(url);
    return pathname === '/' && search === '' ? origin : `${origin}/…`;
  } catch {
    return '(a URL)';
  }
}

/** How a plain number given as a date is read: its digit count says its unit. */
const NUMBER_UNITS =
  'Unix seconds (10 digits, e.g. 1704067200) or Unix milliseconds (13 digits, e.g. 1704067200000)';

/**
 * A date as a flag or config value: `YYYY-MM-DD`, an ISO date-time (UTC unless it names a zone),
 * or a plain number whose length says its unit: 10 digits are Unix seconds, 13 digits Unix
 * milliseconds. Any other number is refused rather than guessed (1704067200 read as ms is
 * 1970-01-20, which silently loads everything). `unit` says how a number was read.
 */
export function readDate(
  value: string | number,
): { time: number; unit?: 'seconds' | 'milliseconds' } | { problem: string } {
  const text = String(value).trim();
  if (/^\d+$/.test(text)) {
    if (text.length === 13) return { time: Number(text), unit: 'milliseconds' };
    if (text.length === 10) return { time: Number(text) * 1000, unit: 'seconds' };
    return {
      problem: `"${text}" is a number of ${text.length} digits: a number is read as ${NUMBER_UNITS} and nothing else, so write a date like 2024-01-01 or the time in one of those units`,
    };
  }
  const problem = {
    problem: `"${text}" is not a date: write a UTC date like 2024-01-01, a time like 2024-01-01T12:00 (UTC unless it ends in Z or +hh:mm), or ${NUMBER_UNITS}`,
  };
  const match = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?([zZ]|[+-]\d{2}:?\d{2})?)?$/.exec(
    text,
  );
  if (!match) return problem;
  const [, year, month, day, clock, , , zone] = match;
  // Date.parse rolls 2024-02-31 over to March: the calendar day must exist.
  const midnight = Date.UTC(Number(year), Number(month) - 1, Number(day));
  const calendar = new Date(midnight);
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return problem;
  if (!clock) return { time: midnight };
  const time = Date.parse(zone ? text : `${text}Z`);
  return Number.isFinite(time) ? { time } : problem;
}

/** Unix ms from a date (see `readDate`), or undefined when it is not one. */
export function parseDate(value: string | number): number | undefined {
  const date = readDate(value);
  return 'problem' in date ? undefined : date.time;
}

/** A config-file date, checked like the flag (the error names the key). */
export function configDate(key: string, value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const date = readDate(value);
  if ('problem' in date) throw usageError(`--config (${key})`, date.problem);
  return date.time;
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
