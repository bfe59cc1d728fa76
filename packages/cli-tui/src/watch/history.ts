import type { Interval, Kline, KlineStore } from '@crypto-anomaly/data';
import * as data from '@crypto-anomaly/data';
import type { WarmUpHistory } from './engine.js';

/**
 * Warm-up of a live run: the candles before the stream, from the store, else fetched over REST into
 * the store first (only the missing spans). `through` is the last candle scored before a restart;
 * without it, the latest closed candles.
 */
export function liveHistory(
  store: KlineStore,
  interval: Interval,
  rest: { baseUrl?: string },
  signal: AbortSignal,
  now: () => number = Date.now,
) {
  const step = data.intervalToMilliseconds(interval);
  return async (symbol: string, count: number, through: number | undefined): Promise<WarmUpHistory> => {
    // Exclusive end: the candle still forming (open time at or after the last boundary) is not closed.
    const end = through !== undefined ? through + 1 : Math.floor(now() / step) * step;
    // Twice the span needed: a candle the exchange never published (an outage) does not starve it.
    const start = end - 2 * count * step;
    let klines = await store.klines(symbol, interval, { start, end });
    let from: WarmUpHistory['from'] = 'store';
    if (klines.length < count) {
      await data.fetchKlines({ store, symbol, interval, since: start, until: end, signal, ...rest });
      klines = await store.klines(symbol, interval, { start, end });
      from = 'rest';
    }
    return { klines: klines.slice(-count), from };
  };
}

/**
 * Warm-up and candles of a replay: each symbol's candles (a CSV file, or the store) loaded once.
 * The warm-up is the first `count` candles (or the last `count` up to `through` after a restart);
 * the replay goes on from there. The warm-up candles are stored too, as a live run's are.
 */
export function replayHistory(
  store: KlineStore,
  interval: Interval,
  load: (symbol: string) => Promise<Kline[]>,
) {
  const loaded = new Map<string, Promise<Kline[]>>();
  const candlesOf = (symbol: string) => {
    let klines = loaded.get(symbol);
    if (!klines) {
      klines = load(symbol);
      loaded.set(symbol, klines);
    }
    return klines;
  };
  const history = async (
    symbol: string,
    count: number,
    through: number | undefined,
  ): Promise<WarmUpHistory> => {
    const klines = await candlesOf(symbol);
    let upTo = count;
    if (through !== undefined) {
      upTo = 0;
      while (upTo < klines.length && klines[upTo]!.openTime <= through) upTo++;
    }
    const warm = klines.slice(Math.max(0, upTo - count), upTo);
    if (warm.length > 0) await store.upsert(symbol, interval, warm);
    return { klines: warm, from: 'replay' };
  };
  return { history, load: candlesOf };
}
