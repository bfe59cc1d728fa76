import type { Kline } from '@crypto-anomaly/data';
import type { KlineMessage, Market } from './bus-api.js';

const FIELDS = [
  'openTime',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'closeTime',
  'quoteAssetVolume',
  'numberOfTrades',
  'takerBuyBaseAssetVolume',
  'takerBuyQuoteAssetVolume',
] as const;

const VIAS = new Set<unknown>(['stream', 'backfill', 'replay'] satisfies KlineMessage['via'][]);

/**
 * Reads a KLINES message as a candle of `market`, or says why it is not one: not JSON, another
 * market, a field missing or not a finite number, prices out of order. What the worker parks.
 */
export function readKlineMessage(
  text: string,
  market: Market,
): { kline: Kline; via: KlineMessage['via'] } | { problem: string } {
  let message: KlineMessage;
  try {
    message = JSON.parse(text) as KlineMessage;
  } catch {
    return { problem: `not JSON: ${JSON.stringify(text.slice(0, 80))}` };
  }
  if (
    typeof message !== 'object' ||
    message === null ||
    typeof message.kline !== 'object' ||
    message.kline === null
  ) {
    return { problem: 'no kline object' };
  }
  if (message.symbol !== market.symbol || message.interval !== market.interval) {
    return {
      problem: `a candle of ${message.symbol} ${message.interval} on the subject of ${market.symbol} ${market.interval}`,
    };
  }
  const kline = message.kline;
  for (const field of FIELDS) {
    if (typeof kline[field] !== 'number' || !Number.isFinite(kline[field])) {
      return { problem: `kline.${field} is ${JSON.stringify(kline[field])}, not a finite number` };
    }
  }
  if (!Number.isSafeInteger(kline.openTime) || kline.openTime < 0)
    return { problem: 'kline.openTime is not a time' };
  if (!(kline.low <= Math.min(kline.open, kline.close) && kline.high >= Math.max(kline.open, kline.close))) {
    return { problem: 'prices out of order (low above open/close, or high below)' };
  }
  if (kline.volume < 0 || kline.low <= 0) return { problem: 'a negative volume or a price not above 0' };
  // A publisher that does not say how the candle came (an older one) sent it as it closed.
  const via = VIAS.has(message.via) ? message.via : 'stream';
  return { kline: { ...kline, ignore: typeof kline.ignore === 'number' ? kline.ignore : 0 }, via };
}
