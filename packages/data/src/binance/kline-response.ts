import type { Kline } from '../api.js';
import { DataError } from '../errors.js';

/** Checks and converts Binance's kline arrays; invalid JSON or shape is a BAD_RESPONSE. */
export function parseKlinesResponse(raw: unknown): Kline[] {
  if (!Array.isArray(raw)) {
    throw new DataError(
      'BAD_RESPONSE',
      `Binance answered ${typeof raw === 'string' ? 'text that is not valid JSON' : `a ${typeof raw}`} where a list of klines was expected`,
    );
  }
  const klines: Kline[] = new Array(raw.length);
  let previous = -Infinity;
  for (let i = 0; i < raw.length; i++) {
    const row = raw[i] as unknown[];
    if (!Array.isArray(row) || row.length < 11) {
      throw new DataError(
        'BAD_RESPONSE',
        `Binance answered a kline that is not a 12-field array at position ${i}`,
      );
    }
    const kline: Kline = {
      openTime: Number(row[0]),
      open: Number(row[1]),
      high: Number(row[2]),
      low: Number(row[3]),
      close: Number(row[4]),
      volume: Number(row[5]),
      closeTime: Number(row[6]),
      quoteAssetVolume: Number(row[7]),
      numberOfTrades: Number(row[8]),
      takerBuyBaseAssetVolume: Number(row[9]),
      takerBuyQuoteAssetVolume: Number(row[10]),
      ignore: Number(row[11] ?? 0) || 0,
    };
    if (
      !Number.isInteger(kline.openTime) ||
      !Number.isInteger(kline.closeTime) ||
      !Number.isInteger(kline.numberOfTrades) ||
      !Number.isFinite(kline.open + kline.high + kline.low + kline.close + kline.volume) ||
      !Number.isFinite(
        kline.quoteAssetVolume + kline.takerBuyBaseAssetVolume + kline.takerBuyQuoteAssetVolume,
      )
    ) {
      throw new DataError(
        'BAD_RESPONSE',
        `Binance answered a kline with a non-numeric field at position ${i}`,
      );
    }
    if (kline.openTime <= previous) {
      throw new DataError('BAD_RESPONSE', `Binance answered klines out of order at position ${i}`);
    }
    previous = kline.openTime;
    klines[i] = kline;
  }
  return klines;
}
