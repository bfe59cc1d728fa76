import type { Alert, CandleScore } from '@crypto-anomaly/core';
import { generateSampleMarket, type Kline } from '@crypto-anomaly/data';
import { describe, expect, it } from 'vitest';
import { alertLine } from '../src/watch/components/AlertFeed.js';
import { runWatchLoop, WARM_UP_TRIES } from '../src/watch/engine.js';
import { AlertCooldown } from '../src/watch/sinks.js';
import type {
  StoredAlert,
  WatchCandle,
  WatchEvent,
  WatchScorer,
  WatchStore,
} from '../src/watch/watch-api.js';

/**
 * The watch loop's warm-up, live: a pair whose warm-up fails on the network is tried again after a
 * pause while the other pairs stream, and joins once it succeeds; one that keeps failing stops
 * after WARM_UP_TRIES tries; an unknown symbol stops at once.
 */
const klines = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1m', count: 40, seed: 3 }).klines;
const HISTORY = 10;

const scorer = (): WatchScorer => ({ historyNeeded: HISTORY, warmUp: () => {}, alertsOf: () => [] });
const store = (): WatchStore => ({
  upsert: async (_symbol, _interval, list) => list.length,
  saveScores: async () => {},
  saveAlerts: async () => [],
  lastScoredOpenTime: async () => undefined,
});
const scoreOf = (symbol: string, kline: Kline): CandleScore =>
  ({
    symbol,
    interval: '1m',
    openTime: kline.openTime,
    close: kline.close,
    detectors: [],
    topFeatures: [],
  }) as never;

/** Candles after each symbol's resume point, then the stream ends. */
async function* candlesAfter(symbols: string[], from: Record<string, number>): AsyncIterable<WatchCandle> {
  for (const symbol of symbols) {
    for (const kline of klines) {
      if (kline.openTime > from[symbol]!) yield { symbol, interval: '1m', kline, via: 'stream' };
    }
  }
}

async function watchWith(failures: Record<string, { times: number; code?: string }>) {
  const events: WatchEvent[] = [];
  const tries = new Map<string, number>();
  const scored: string[] = [];
  const result = await runWatchLoop({
    interval: '1m',
    scorers: new Map([
      ['BTCUSDT', scorer()],
      ['ETHUSDT', scorer()],
    ]),
    scoreMany: async (items) => items.map(({ kline }, i) => scoreOf(`item${i}`, kline)),
    store: {
      ...store(),
      upsert: async (symbol, _interval, list) => {
        scored.push(...list.map(() => symbol));
        return list.length;
      },
    },
    history: async (symbol) => {
      const tried = (tries.get(symbol) ?? 0) + 1;
      tries.set(symbol, tried);
      const failure = failures[symbol];
      if (failure && tried <= failure.times) {
        throw Object.assign(new Error(`HTTP 500 for ${symbol}`), failure.code ? { code: failure.code } : {});
      }
      return { klines: klines.slice(0, HISTORY), from: 'rest' };
    },
    candles: candlesAfter,
    cooldown: new AlertCooldown(0),
    sinks: [],
    newAlertSinks: [],
    onEvent: (event) => events.push(event),
    signal: new AbortController().signal,
    mode: 'live',
    warmUpRetryMs: 5,
  });
  return { result, events, tries, scored };
}

describe('the watch loop: warm-ups that fail, live', () => {
  it('tries a failed warm-up again while the others stream; the pair joins once it succeeds', async () => {
    const { result, events, tries, scored } = await watchWith({ BTCUSDT: { times: 1 } });
    expect(tries.get('BTCUSDT')).toBe(2);
    const retry = events.find((event) => event.type === 'warm-up-retry');
    expect(retry).toMatchObject({ symbol: 'BTCUSDT', attempt: 2, attempts: WARM_UP_TRIES });
    expect(result.stopped.size).toBe(0);
    // Both pairs' candles after the warm-up history were scored.
    expect(scored.filter((symbol) => symbol === 'BTCUSDT')).toHaveLength(klines.length - HISTORY);
    expect(scored.filter((symbol) => symbol === 'ETHUSDT')).toHaveLength(klines.length - HISTORY);
  });

  it('stops a pair after every try failed, saying how often; an unknown symbol at once', async () => {
    const { result, tries } = await watchWith({
      BTCUSDT: { times: 99 },
      ETHUSDT: { times: 99, code: 'UNKNOWN_SYMBOL' },
    });
    expect(tries.get('BTCUSDT')).toBe(WARM_UP_TRIES);
    expect(result.stopped.get('BTCUSDT')).toBe(
      `warm-up failed: HTTP 500 for BTCUSDT (tried ${WARM_UP_TRIES} times)`,
    );
    expect(tries.get('ETHUSDT')).toBe(1);
    expect(result.stopped.get('ETHUSDT')).toBe('warm-up failed: HTTP 500 for ETHUSDT');
  });
});

describe('the watch loop: alerts say how their candle came', () => {
  it("marks a back-filled candle's alert, in the sinks, the store and the feed line", async () => {
    const delivered: Alert[] = [];
    const stored: StoredAlert[] = [];
    const alertOf = (score: CandleScore): Alert =>
      ({
        id: `${score.symbol}:1m:${score.openTime}:consensus`,
        symbol: score.symbol,
        interval: '1m',
        openTime: score.openTime,
        detector: 'consensus',
        thresholdKind: 'fixed',
        reason: 'test',
      }) as never;
    // Candles 10-19 over the stream, then 20-29 back-filled after a lost connection, then live again.
    async function* mixed(): AsyncIterable<WatchCandle> {
      for (const kline of klines.slice(HISTORY)) {
        const index = klines.indexOf(kline);
        yield {
          symbol: 'BTCUSDT',
          interval: '1m',
          kline,
          via: index >= 20 && index < 30 ? 'backfill' : 'stream',
        };
      }
    }
    await runWatchLoop({
      interval: '1m',
      scorers: new Map([['BTCUSDT', { ...scorer(), alertsOf: (score: CandleScore) => [alertOf(score)] }]]),
      scoreMany: async (items) => items.map(({ kline }) => scoreOf('BTCUSDT', kline)),
      store: {
        ...store(),
        saveAlerts: async (alerts) => {
          stored.push(...alerts);
          return alerts.map((alert) => alert.id);
        },
      },
      history: async () => ({ klines: klines.slice(0, HISTORY), from: 'rest' }),
      candles: mixed,
      cooldown: new AlertCooldown(0),
      sinks: [{ name: 'test', deliver: (alert) => void delivered.push(alert), close: async () => {} }],
      newAlertSinks: [],
      onEvent: () => {},
      signal: new AbortController().signal,
      mode: 'live',
    });
    expect(delivered).toHaveLength(klines.length - HISTORY);
    const viaOf = (openTime: number) => {
      const index = klines.findIndex((kline) => kline.openTime === openTime);
      return index >= 20 && index < 30 ? 'backfill' : 'stream';
    };
    for (const alert of delivered) expect(alert.via).toBe(viaOf(alert.openTime));
    for (const row of stored) expect(JSON.parse(row.payload).via).toBe(viaOf(row.openTime));
    const late = delivered.find((alert) => alert.via === 'backfill')!;
    expect(alertLine({ alert: late, delivered: true })).toMatch(/consensus \(fixed\) \[back-filled\]: test$/);
    expect(alertLine({ alert: delivered[0]!, delivered: true })).not.toContain('back-filled');
  });
});
