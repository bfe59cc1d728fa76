/**
 * One candle, with the 12 fields of Binance's kline array, typed. Times are Unix milliseconds
 * (archive files from 2025-01-01 use microseconds; loaders convert them).
 */
export interface Kline {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  closeTime: number;
  quoteAssetVolume: number;
  numberOfTrades: number;
  takerBuyBaseAssetVolume: number;
  takerBuyQuoteAssetVolume: number;
  /** Binance's always-"0" trailing field, kept so exports round-trip. */
  ignore: number;
}

/** The kline intervals Binance serves. */
export const INTERVALS = [
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
] as const;

export type Interval = (typeof INTERVALS)[number];

/** The kinds of anomaly the sample market injects (and users hunt). */
export type AnomalyKind =
  | 'flash-crash'
  | 'pump-and-dump'
  | 'volume-spike'
  | 'volatility-break'
  | 'stale-price';

/** One injected anomaly event: the candles with open time in [startTime, endTime] belong to it. */
export interface AnomalyLabel {
  kind: AnomalyKind;
  startTime: number;
  endTime: number;
  /** Index of the first and last affected candle in the generated series. */
  startIndex: number;
  endIndex: number;
  /** A short human description, e.g. "-18% in 3 candles, recovered in 9". */
  description: string;
}

/** Where klines come from, as the engine sees it: anything that can list candles in order. */
export interface KlineSource {
  /** One line for people, e.g. "bundled sample market (seed 7, 1h, 4000 candles)". */
  describe(): string;
  /** Closed candles for symbol and interval in [start, end), oldest first, no duplicates. */
  load(request: { symbol: string; interval: Interval; start?: number; end?: number }): Promise<Kline[]>;
}
