import type { Interval } from '@crypto-anomaly/data';

/**
 * Binance's kline intervals, as `@crypto-anomaly/data` lists them. Kept here so parsing flags
 * does not load the data package (and its DuckDB binding) before a command runs; a test holds
 * the two lists equal.
 */
export const CLI_INTERVALS: readonly Interval[] = Object.freeze([
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
]);
