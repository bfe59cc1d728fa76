import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSampleMarket, type Kline, type LiveStatus, liveKlines } from '../src/index.js';
import { FakeBinance } from './helpers/fake-binance.js';
import { FakeBinanceStream } from './helpers/fake-binance-stream.js';

// liveKlines is liveKlineStreams for one symbol (tested in live-streams.test.ts); these tests
// hold what it adds: klines alone, and no REST request unless `backfill` is given.
const klines = generateSampleMarket({ count: 10, interval: '1m' }).klines;

let fake: FakeBinanceStream;
let controller: AbortController;
beforeEach(async () => {
  fake = await FakeBinanceStream.start();
  controller = new AbortController();
});
afterEach(async () => {
  controller.abort();
  await fake.close();
});

async function take(live: AsyncIterableIterator<Kline>, count: number): Promise<Kline[]> {
  const out: Kline[] = [];
  while (out.length < count) out.push((await live.next()).value);
  return out;
}

describe('liveKlines', () => {
  it('yields the closed klines of one symbol once, and closes its connection when the consumer stops', async () => {
    const statuses: LiveStatus[] = [];
    const live = liveKlines({
      symbol: 'BTCUSDT',
      interval: '1m',
      wsUrl: fake.url,
      signal: controller.signal,
      onStatus: (status) => statuses.push(status),
    });
    await fake.waitForConnections(1);
    expect(fake.connections[0]!.streams).toEqual(['btcusdt@kline_1m']);
    fake.pushKline('BTCUSDT', '1m', klines[0]!, { closed: false });
    fake.pushKline('BTCUSDT', '1m', klines[0]!);
    fake.pushKline('BTCUSDT', '1m', klines[0]!);
    fake.pushKline('BTCUSDT', '1m', klines[1]!);
    const received: Kline[] = [];
    for await (const kline of live) {
      received.push(kline);
      if (received.length === 2) break;
    }
    expect(received).toEqual(klines.slice(0, 2));
    await fake.connections[0]!.closed;
    expect(statuses[0]).toEqual({ type: 'connecting', connection: 1, streams: 1 });
  });

  it('makes no REST request without backfill, and fills the gap with it', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', klines.slice(0, 5)).start();
    try {
      const stream = liveKlines({
        symbol: 'BTCUSDT',
        interval: '1m',
        wsUrl: fake.url,
        reconnectBaseMs: 10,
        signal: controller.signal,
      });
      const filled = liveKlines({
        symbol: 'BTCUSDT',
        interval: '1m',
        wsUrl: fake.url,
        reconnectBaseMs: 10,
        signal: controller.signal,
        backfill: { baseUrl: exchange.url },
      });
      await fake.waitForConnections(2);
      fake.pushKline('BTCUSDT', '1m', klines[0]!);
      expect(await take(stream, 1)).toEqual([klines[0]]);
      expect(await take(filled, 1)).toEqual([klines[0]]);
      fake.dropAll();
      await fake.waitForConnections(4);
      fake.pushKline('BTCUSDT', '1m', klines[5]!);
      expect(await take(stream, 1)).toEqual([klines[5]]); // the gap stays a gap
      expect(await take(filled, 5)).toEqual(klines.slice(1, 6));
      // Only `filled` asked: the server time, then one page.
      expect(exchange.requests).toBe(2);
    } finally {
      await exchange.close();
    }
  });

  it('refuses a URL that is not a WebSocket URL, or a back-fill URL that is not HTTP', () => {
    expect(() => liveKlines({ symbol: 'BTCUSDT', interval: '1m', wsUrl: 'http://x' })).toThrow(
      /wsUrl must start with ws/,
    );
    expect(() =>
      liveKlines({ symbol: 'BTCUSDT', interval: '1m', wsUrl: 'ws://x', backfill: { baseUrl: 'ftp://x' } }),
    ).toThrow(/baseUrl must start with http/);
    expect(() => liveKlines({ symbol: 'btc', interval: '1m' })).toThrow(/symbol must be/);
    // liveKlineStreams' names are not liveKlines': symbols and rest are symbol and backfill here.
    expect(() => liveKlines({ symbol: 'BTCUSDT', interval: '1m', rest: {} } as never)).toThrow(
      /^unknown key rest in liveKlines options \(the keys there are .*, backfill\)\.$/,
    );
    expect(() =>
      liveKlines({ symbol: 'BTCUSDT', interval: '1m', backfill: { pagesize: 10 } } as never),
    ).toThrow(/unknown key pagesize in liveKlines options.backfill \(the keys there are pageSize, /);
  });
});
