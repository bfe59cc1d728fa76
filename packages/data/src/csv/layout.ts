import { basename } from 'node:path';
import type { Interval } from '../api.js';
import { isInterval } from '../intervals.js';

/** Column names of the Binance kline layout, in order; the exported CSV puts `open_time_utc` first. */
export const KLINE_CSV_COLUMNS = [
  'open_time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'close_time',
  'quote_asset_volume',
  'number_of_trades',
  'taker_buy_base_asset_volume',
  'taker_buy_quote_asset_volume',
  'ignore',
] as const;

/** The first line of every kline CSV this package writes. */
export const KLINE_CSV_HEADER = `open_time_utc,${KLINE_CSV_COLUMNS.join(',')}`;

/** Below this an open time is milliseconds; above it, microseconds (Binance archives from 2025-01-01). */
export const MICROSECOND_THRESHOLD = 1e14;

/** Converts an archive timestamp (ms or µs) to Unix milliseconds. */
export function toMilliseconds(time: number): number {
  return time >= MICROSECOND_THRESHOLD ? Math.floor(time / 1000) : time;
}

/** `2017-08-17 00:00:00`, the time column of the layout users already have. */
export function formatCsvTime(time: number): string {
  return new Date(time).toISOString().slice(0, 19).replace('T', ' ');
}

/** Guesses symbol and interval from names like `BTCUSDT_1h.csv` or `BTCUSDT-1h-2024-01.csv`. */
export function parseKlineFileName(path: string): { symbol?: string; interval?: Interval } {
  const match = /^([A-Z0-9]+)[_-](\d+[smhdwM])(?:[_.-]|$)/.exec(basename(path));
  if (!match || !isInterval(match[2]!)) return {};
  return { symbol: match[1]!, interval: match[2] as Interval };
}
