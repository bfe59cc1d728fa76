/** The kline event of Binance's streams, and its conversion to a `Kline`. */
import type { Kline } from '../api.js';

/** Binance's spot stream host. */
export const DEFAULT_WS_BASE_URL = 'wss://stream.binance.com:9443';

/** The `k` object of a Binance kline stream event. */
export interface StreamKline {
  t: number;
  T: number;
  s: string;
  i: string;
  o: string;
  c: string;
  h: string;
  l: string;
  v: string;
  n: number;
  x: boolean;
  q: string;
  V: string;
  Q: string;
  B?: string;
}

/** Converts a stream kline; undefined when it is not a well-formed closed candle. */
export function parseStreamKline(k: StreamKline): Kline | undefined {
  const kline: Kline = {
    openTime: Number(k.t),
    open: Number(k.o),
    high: Number(k.h),
    low: Number(k.l),
    close: Number(k.c),
    volume: Number(k.v),
    closeTime: Number(k.T),
    quoteAssetVolume: Number(k.q),
    numberOfTrades: Number(k.n),
    takerBuyBaseAssetVolume: Number(k.V),
    takerBuyQuoteAssetVolume: Number(k.Q),
    ignore: Number(k.B ?? 0) || 0,
  };
  return Object.values(kline).every(Number.isFinite) ? kline : undefined;
}
