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
