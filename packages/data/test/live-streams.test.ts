import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generateSampleMarket,
  type Kline,
  type LiveCandle,
  type LiveStatus,
  type LiveStreamsOptions,
  liveKlineStreams,
} from '../src/index.js';
import { FakeBinance } from './helpers/fake-binance.js';
import { FakeBinanceStream } from './helpers/fake-binance-stream.js';

const btc = generateSampleMarket({ count: 12, interval: '1m', seed: 1 }).klines;
const eth = generateSampleMarket({ count: 12, interval: '1m', seed: 2, symbol: 'ETHUSDT' }).klines;
const sol = generateSampleMarket({ count: 12, interval: '1m', seed: 3, symbol: 'SOLUSDT' }).klines;

let fake: FakeBinanceStream;
let statuses: LiveStatus[];
let controller: AbortController;

beforeEach(async () => {
  fake = await FakeBinanceStream.start();
  statuses = [];
  controller = new AbortController();
});
afterEach(async () => {
  controller.abort();
  await fake.close();
});

function open(options: Partial<LiveStreamsOptions> = {}): AsyncIterableIterator<LiveCandle> {
  return liveKlineStreams({
    symbols: ['BTCUSDT'],
    interval: '1m',
    wsUrl: fake.url,
    rest: false,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
    signal: controller.signal,
    onStatus: (status) => statuses.push(status),
    ...options,
  });
}

async function take(live: AsyncIterableIterator<LiveCandle>, count: number): Promise<LiveCandle[]> {
  const out: LiveCandle[] = [];
  while (out.length < count) {
    const next = await live.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

const summary = (candles: LiveCandle[]) => candles.map((c) => `${c.symbol}:${c.kline.openTime}:${c.via}`);
const row = (symbol: string, k: Kline, via: LiveCandle['via']) => `${symbol}:${k.openTime}:${via}`;

/** Resolves with the first status of that type (and passing `test`) reported so far, or when it comes. */
function nextStatus<T extends LiveStatus['type']>(
  type: T,
  test: (status: Extract<LiveStatus, { type: T }>) => boolean = () => true,
): Promise<Extract<LiveStatus, { type: T }>> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const found = statuses.find((s) => s.type === type && test(s as Extract<LiveStatus, { type: T }>));
      if (found) {
        clearInterval(timer);
        resolve(found as Extract<LiveStatus, { type: T }>);
      }
    }, 5);
  });
}

describe('liveKlineStreams', () => {
  it('spreads symbols over connections and yields each closed candle once, in order per symbol', async () => {
    const live = open({
      symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'],
      streamsPerConnection: 2,
      rateIntervalMs: 30,
    });
    await fake.waitForConnections(2);
    expect(fake.connections.map((c) => c.streams)).toEqual([
      ['btcusdt@kline_1m', 'ethusdt@kline_1m'],
      ['solusdt@kline_1m'],
    ]);
    await nextStatus('connected');
    const forming = { ...btc[0]!, close: btc[0]!.close * 2 };
    fake.pushKline('BTCUSDT', '1m', forming, { closed: false }); // forming: skipped
    fake.pushKline('BTCUSDT', '1m', btc[0]!);
    fake.pushKline('ETHUSDT', '1m', eth[0]!);
    fake.pushKline('BTCUSDT', '1m', btc[0]!); // repeated: skipped
    fake.pushKline('BTCUSDT', '1m', btc[1]!);
    fake.pushKline('ETHUSDT', '1m', eth[0]!); // repeated
    fake.pushKline('SOLUSDT', '1m', sol[0]!);
    const got = await take(live, 4);
    expect(summary(got).sort()).toEqual(
      [
        row('BTCUSDT', btc[0]!, 'stream'),
        row('BTCUSDT', btc[1]!, 'stream'),
        row('ETHUSDT', eth[0]!, 'stream'),
        row('SOLUSDT', sol[0]!, 'stream'),
      ].sort(),
    );
    expect(got.find((c) => c.symbol === 'ETHUSDT')!.kline).toEqual(eth[0]);
    expect(got.find((c) => c.symbol === 'BTCUSDT')!.kline).toEqual(btc[0]);
    expect(got.filter((c) => c.symbol === 'BTCUSDT').map((c) => c.kline.openTime)).toEqual([
      btc[0]!.openTime,
      btc[1]!.openTime,
    ]);
    // A protocol ping is answered.
    const pong = new Promise((resolve) => fake.connections[0]!.socket.once('pong', resolve));
    fake.ping();
    await pong;
    // Messages were counted (a test that never sees a rate above 0 times out).
    await nextStatus('rate', (s) => s.messagesPerSecond > 0);
    expect(statuses.filter((s) => s.type === 'connecting')).toEqual([
      { type: 'connecting', connection: 1, streams: 2 },
      { type: 'connecting', connection: 2, streams: 1 },
    ]);

    // The consumer stops: every connection is closed, the server sees it.
    await live.return!();
    await Promise.all(fake.connections.map((c) => c.closed));
    expect(fake.openConnections()).toHaveLength(0);
    expect(await live.next()).toEqual({ value: undefined, done: true });
  });

  it('reconnects with growing jittered waits and back-fills over REST what closed meanwhile, once', async () => {
    // The exchange has closed BTC's candles 0-4 and ETH's 0-2 so far.
    const exchange = await new FakeBinance()
      .serve('BTCUSDT', '1m', btc.slice(0, 5))
      .serve('ETHUSDT', '1m', eth.slice(0, 3))
      .start();
    try {
      let timeRequests = 0;
      exchange.onRequest = (request) => {
        if (request.pathname === '/api/v3/time') timeRequests++;
      };
      // Two candles per page, so three missed candles take two pages.
      const live = open({
        symbols: ['BTCUSDT', 'ETHUSDT'],
        rest: { baseUrl: exchange.url, pageSize: 2, retryBaseMs: 10 },
        backfillConcurrency: 1,
      });
      await fake.waitForConnections(1);
      await nextStatus('connected');
      fake.pushKline('BTCUSDT', '1m', btc[0]!);
      fake.pushKline('BTCUSDT', '1m', btc[1]!);
      fake.pushKline('ETHUSDT', '1m', eth[0]!);
      const first = await take(live, 3);

      // Down while BTC's candles 2-4 and ETH's 1-2 close; the next two attempts are cut at once.
      fake.refuseNext(2);
      fake.dropAll();
      // Messages pushed once the server accepted a connection reach the client after its handshake.
      await fake.waitForConnections(4);
      // The reconnect alone starts the back-fill: no stream candle has to show the gap.
      const backfilled = await take(live, 5);
      expect(backfilled.every((c) => c.via === 'backfill')).toBe(true);
      fake.pushKline('BTCUSDT', '1m', btc[1]!); // replayed: not again
      fake.pushKline('BTCUSDT', '1m', btc[5]!);
      fake.pushKline('BTCUSDT', '1m', btc[6]!);
      fake.pushKline('ETHUSDT', '1m', eth[3]!);
      const all = [...first, ...backfilled, ...(await take(live, 3))];
      const ofSymbol = (symbol: string) =>
        all.filter((c) => c.symbol === symbol).map((c) => [c.kline.openTime, c.via]);
      expect(ofSymbol('BTCUSDT')).toEqual([
        [btc[0]!.openTime, 'stream'],
        [btc[1]!.openTime, 'stream'],
        [btc[2]!.openTime, 'backfill'],
        [btc[3]!.openTime, 'backfill'],
        [btc[4]!.openTime, 'backfill'],
        [btc[5]!.openTime, 'stream'],
        [btc[6]!.openTime, 'stream'],
      ]);
      expect(ofSymbol('ETHUSDT')).toEqual([
        [eth[0]!.openTime, 'stream'],
        [eth[1]!.openTime, 'backfill'],
        [eth[2]!.openTime, 'backfill'],
        [eth[3]!.openTime, 'stream'],
      ]);
      expect(all.find((c) => c.via === 'backfill')!.kline).toEqual(btc[2]);

      const reconnects = statuses.filter((s) => s.type === 'reconnecting');
      expect(reconnects.map((s) => s.attempt)).toEqual([1, 2, 3]);
      // Half to all of 20, 40, 80 ms.
      reconnects.forEach((s, i) => {
        expect(s.waitMs).toBeGreaterThanOrEqual(10 * 2 ** i);
        expect(s.waitMs).toBeLessThanOrEqual(20 * 2 ** i);
        expect(s.reason).toMatch(/closed \(code 1006/);
      });
      expect(statuses).toContainEqual({ type: 'backfilled', symbol: 'BTCUSDT', candles: 3 });
      expect(statuses).toContainEqual({ type: 'backfilled', symbol: 'ETHUSDT', candles: 2 });
      expect(statuses.some((s) => s.type === 'backfilling' && s.symbol === 'BTCUSDT')).toBe(true);
      // The exchange's clock is asked once for both symbols (back-fills run one at a time here).
      expect(timeRequests).toBe(1);

      // Messages came, so the backoff starts over at the next drop.
      fake.dropAll();
      await fake.waitForConnections(5);
      expect(statuses.filter((s) => s.type === 'reconnecting').map((s) => s.attempt)).toEqual([1, 2, 3, 1]);
    } finally {
      await exchange.close();
    }
  });

  it('resumes after resumeFrom: back-fills first, never yields what was handled, then the stream', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 7)).start();
    try {
      const live = open({ rest: { baseUrl: exchange.url }, resumeFrom: { BTCUSDT: btc[3]!.openTime } });
      await fake.waitForConnections(1);
      await nextStatus('connected');
      fake.pushKline('BTCUSDT', '1m', btc[7]!); // may arrive before the back-fill ends: held
      fake.pushKline('BTCUSDT', '1m', btc[8]!);
      expect(summary(await take(live, 5))).toEqual([
        row('BTCUSDT', btc[4]!, 'backfill'),
        row('BTCUSDT', btc[5]!, 'backfill'),
        row('BTCUSDT', btc[6]!, 'backfill'),
        row('BTCUSDT', btc[7]!, 'stream'),
        row('BTCUSDT', btc[8]!, 'stream'),
      ]);
    } finally {
      await exchange.close();
    }
  });

  it('leaves to the stream a candle the back-fill asked for in its last moments', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 7)).start();
    // Asked 10 ms before candle 6 closes; the answer, with its partial values, arrives after.
    let clock = btc[6]!.closeTime - 10;
    exchange.onRequest = (request) => {
      if (request.pathname === '/api/v3/klines') clock = btc[6]!.closeTime + 10;
    };
    try {
      const live = open({
        rest: { baseUrl: exchange.url, now: () => clock },
        resumeFrom: { BTCUSDT: btc[3]!.openTime },
      });
      await fake.waitForConnections(1);
      await nextStatus('backfilled');
      fake.pushKline('BTCUSDT', '1m', btc[6]!);
      expect(summary(await take(live, 3))).toEqual([
        row('BTCUSDT', btc[4]!, 'backfill'),
        row('BTCUSDT', btc[5]!, 'backfill'),
        row('BTCUSDT', btc[6]!, 'stream'),
      ]);
    } finally {
      await exchange.close();
    }
  });

  it('tries a back-fill that found nothing once more: REST that caught up fills the gap', async () => {
    // REST lags: nothing after candle 3 for the start-up back-fill and for the gap's first try
    // (requests 1 and 2), candles 4-5 by the gap's second try (request 3).
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 4)).start();
    let klineRequests = 0;
    exchange.onRequest = (request) => {
      if (request.pathname === '/api/v3/klines' && ++klineRequests === 3)
        exchange.serve('BTCUSDT', '1m', btc.slice(0, 6));
    };
    try {
      const live = open({ rest: { baseUrl: exchange.url }, resumeFrom: { BTCUSDT: btc[3]!.openTime } });
      await fake.waitForConnections(1);
      await nextStatus('backfilled');
      fake.pushKline('BTCUSDT', '1m', btc[6]!);
      expect(summary(await take(live, 3))).toEqual([
        row('BTCUSDT', btc[4]!, 'backfill'),
        row('BTCUSDT', btc[5]!, 'backfill'),
        row('BTCUSDT', btc[6]!, 'stream'),
      ]);
      expect(statuses.some((s) => s.type === 'backfill-failed')).toBe(false);
    } finally {
      await exchange.close();
    }
  });

  it('says so when the exchange serves none of the candles missed, after a second try', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 4)).start();
    let klineRequests = 0;
    exchange.onRequest = (request) => {
      if (request.pathname === '/api/v3/klines') klineRequests++;
    };
    try {
      const live = open({ rest: { baseUrl: exchange.url }, resumeFrom: { BTCUSDT: btc[3]!.openTime } });
      await fake.waitForConnections(1);
      await nextStatus('backfilled');
      const before = klineRequests;
      fake.pushKline('BTCUSDT', '1m', btc[6]!);
      expect(summary(await take(live, 1))).toEqual([row('BTCUSDT', btc[6]!, 'stream')]);
      expect(klineRequests - before).toBe(2);
      const failed = await nextStatus('backfill-failed');
      expect(failed).toMatchObject({ symbol: 'BTCUSDT', from: btc[4]!.openTime, to: btc[6]!.openTime });
      expect(failed.message).toMatch(/served none of the 2 candles missed/);
    } finally {
      await exchange.close();
    }
  });

  it('tries a failed back-fill once more after a pause, the stream held in order: a short outage costs no candle', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 4)).start();
    try {
      const live = open({
        rest: { baseUrl: exchange.url, maxRetries: 1, retryBaseMs: 1 },
        resumeFrom: { BTCUSDT: btc[3]!.openTime },
        backfillRetryPauseMs: 300,
      });
      await fake.waitForConnections(1);
      await nextStatus('backfilled');
      // Candles 4-5 are missed; the gap's back-fill meets two 500s (its request and its one
      // retry), then REST is back.
      exchange.serve('BTCUSDT', '1m', btc.slice(0, 6));
      exchange.inject({ type: '500' }, { type: '500' });
      fake.pushKline('BTCUSDT', '1m', btc[6]!);
      const waiting = await nextStatus('backfill-waiting', (s) => /back-fill failed/.test(s.message));
      expect(waiting.message).toMatch(/trying again in 0.3 s, the stream's candles held until then/);
      expect(summary(await take(live, 2))).toEqual([
        row('BTCUSDT', btc[4]!, 'backfill'),
        row('BTCUSDT', btc[5]!, 'backfill'),
      ]);
      expect(summary(await take(live, 1))).toEqual([row('BTCUSDT', btc[6]!, 'stream')]);
      expect(statuses.some((s) => s.type === 'backfill-failed')).toBe(false);
    } finally {
      await exchange.close();
    }
  });

  it('gives a gap up after a second failed back-fill, saying it failed (not that the exchange had none)', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 4)).start();
    try {
      const live = open({
        rest: { baseUrl: exchange.url, maxRetries: 1, retryBaseMs: 1 },
        resumeFrom: { BTCUSDT: btc[3]!.openTime },
        backfillRetryPauseMs: 100,
      });
      await fake.waitForConnections(1);
      await nextStatus('backfilled');
      exchange.serve('BTCUSDT', '1m', btc.slice(0, 6));
      exchange.inject(...Array.from({ length: 4 }, () => ({ type: '500' as const })));
      fake.pushKline('BTCUSDT', '1m', btc[6]!);
      expect(summary(await take(live, 1))).toEqual([row('BTCUSDT', btc[6]!, 'stream')]);
      const failed = await nextStatus('backfill-failed');
      expect(failed).toMatchObject({ symbol: 'BTCUSDT', from: btc[4]!.openTime, to: btc[6]!.openTime });
      expect(failed.message).toMatch(/500/);
      expect(failed.message).toMatch(
        /gave up on the 2 candles missed from .*: they stay unscored, and the stream goes on/,
      );
      expect(failed.message).not.toMatch(/run again to resume|served none/);
    } finally {
      await exchange.close();
    }
  });

  it("says when a back-fill waits (a 429's Retry-After), then goes on", async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 7)).start();
    exchange.inject({ type: '429', retryAfterSeconds: 1 });
    try {
      const live = open({ rest: { baseUrl: exchange.url }, resumeFrom: { BTCUSDT: btc[3]!.openTime } });
      await fake.waitForConnections(1);
      const waiting = await nextStatus('backfill-waiting');
      expect(waiting).toMatchObject({ symbol: 'BTCUSDT' });
      expect(waiting.waitMs).toBeGreaterThanOrEqual(1_000);
      expect(summary(await take(live, 3))).toEqual([
        row('BTCUSDT', btc[4]!, 'backfill'),
        row('BTCUSDT', btc[5]!, 'backfill'),
        row('BTCUSDT', btc[6]!, 'backfill'),
      ]);
    } finally {
      await exchange.close();
    }
  });

  it('asks REST nothing while Binance bans the IP (418): asking would lengthen the ban', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc).start();
    let klineRequests = 0;
    exchange.onRequest = (request) => {
      if (request.pathname === '/api/v3/klines') klineRequests++;
    };
    const bannedUntil = Date.now() + 60_000;
    exchange.inject({ type: '418', bannedUntil });
    try {
      const live = open({ rest: { baseUrl: exchange.url }, resumeFrom: { BTCUSDT: btc[1]!.openTime } });
      await fake.waitForConnections(1);
      await nextStatus('backfill-failed', (s) => /banned/.test(s.message));
      expect(klineRequests).toBe(1);
      fake.pushKline('BTCUSDT', '1m', btc[5]!);
      expect(summary(await take(live, 1))).toEqual([row('BTCUSDT', btc[5]!, 'stream')]);
      const skipped = await nextStatus('backfill-failed', (s) => /not asked/.test(s.message));
      expect(skipped.message).toContain(new Date(bannedUntil).toISOString());
      expect(klineRequests).toBe(1);
    } finally {
      await exchange.close();
    }
  });

  it('back-fills again when the REST answer lagged behind the stream', async () => {
    // REST does not have candle 5 yet when first asked; it has it by the second request.
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc.slice(0, 5)).start();
    let klineRequests = 0;
    exchange.onRequest = (request) => {
      if (request.pathname === '/api/v3/klines' && ++klineRequests === 2) {
        exchange.serve('BTCUSDT', '1m', btc.slice(0, 6));
      }
    };
    exchange.inject({ type: 'slow', ms: 300 }); // the first page, so candle 6 arrives meanwhile
    try {
      const live = open({ rest: { baseUrl: exchange.url }, resumeFrom: { BTCUSDT: btc[1]!.openTime } });
      await fake.waitForConnections(1);
      fake.pushKline('BTCUSDT', '1m', btc[6]!);
      expect(summary(await take(live, 5))).toEqual([
        row('BTCUSDT', btc[2]!, 'backfill'),
        row('BTCUSDT', btc[3]!, 'backfill'),
        row('BTCUSDT', btc[4]!, 'backfill'),
        row('BTCUSDT', btc[5]!, 'backfill'),
        row('BTCUSDT', btc[6]!, 'stream'),
      ]);
      expect(klineRequests).toBe(2);
    } finally {
      await exchange.close();
    }
  });

  it('finds out about a pair gone quiet while its connection lives on: delisted, it is dropped, saying so', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc).serve('ETHUSDT', '1m', eth).start();
    try {
      const live = open({
        symbols: ['BTCUSDT', 'ETHUSDT'],
        rest: { baseUrl: exchange.url },
        resumeFrom: { BTCUSDT: btc[11]!.openTime, ETHUSDT: eth[11]!.openTime },
        silenceTimeoutMs: 400,
      });
      await fake.waitForConnections(1);
      await nextStatus('backfilled', (s) => s.symbol === 'ETHUSDT');
      // ETHUSDT is delisted: its stream stops, REST answers -1121. BTCUSDT keeps the connection busy.
      exchange.forget('ETHUSDT', '1m');
      const busy = setInterval(() => fake.pushKline('BTCUSDT', '1m', btc[11]!, { closed: false }), 100);
      try {
        const dropped = await nextStatus('symbol-error', (s) => s.symbol === 'ETHUSDT' && s.dropped);
        expect(dropped.message).toMatch(/does not know the symbol/);
      } finally {
        clearInterval(busy);
      }
      void live;
    } finally {
      await exchange.close();
    }
  });

  it('drops a silent connection and opens another', async () => {
    const live = open({ silenceTimeoutMs: 200 });
    await fake.waitForConnections(1);
    fake.silent = true;
    const reconnecting = await nextStatus('reconnecting');
    expect(reconnecting.reason).toMatch(/no message for 0.2 s/);
    await fake.connections[0]!.closed;
    await fake.waitForConnections(2);
    fake.silent = false;
    await nextStatus('connected');
    fake.pushKline('BTCUSDT', '1m', btc[0]!);
    expect(summary(await take(live, 1))).toEqual([row('BTCUSDT', btc[0]!, 'stream')]);
    controller.abort();
    await fake.connections[1]!.closed;
    expect(await live.next()).toEqual({ value: undefined, done: true });
  });

  it('renews a connection at the end of its lifetime, opening the new one first: nothing lost or repeated', async () => {
    const live = open({ connectionLifetimeMs: 300, silenceTimeoutMs: 10_000 });
    await fake.waitForConnections(1);
    fake.holdHandshakes = true;
    fake.pushKline('BTCUSDT', '1m', btc[0]!);
    // The renewal's handshake is held: the old connection must still be open and carrying candles.
    await fake.waitForHandshakes(2);
    expect(fake.pushKline('BTCUSDT', '1m', btc[1]!)).toBe(1);
    expect(summary(await take(live, 2))).toEqual(btc.slice(0, 2).map((k) => row('BTCUSDT', k, 'stream')));
    fake.releaseHandshakes();
    await fake.connections[0]!.closed; // closed by the client once the new one is open
    expect(fake.connections[1]!.open).toBe(true);
    fake.pushKline('BTCUSDT', '1m', btc[1]!); // a repeat on the new connection
    fake.pushKline('BTCUSDT', '1m', btc[2]!);
    expect(summary(await take(live, 1))).toEqual([row('BTCUSDT', btc[2]!, 'stream')]);
    expect(statuses.filter((s) => s.type === 'reconnecting')).toEqual([]);
    expect(statuses.find((s) => s.type === 'connecting' && s.reason)).toMatchObject({
      reason: expect.stringMatching(/renewed after 0.3 s, before Binance's 24 h limit/),
    });
  });

  it('reports malformed messages and unknown symbols and goes on with the others', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', btc).start(); // ETHUSDT: -1121
    try {
      const live = open({
        symbols: ['BTCUSDT', 'ETHUSDT'],
        rest: { baseUrl: exchange.url },
        resumeFrom: { ETHUSDT: eth[0]!.openTime },
      });
      await fake.waitForConnections(1);
      await nextStatus('connected');
      const dropped = await nextStatus('symbol-error');
      expect(dropped).toMatchObject({
        symbol: 'ETHUSDT',
        dropped: true,
        message: expect.stringMatching(/-1121/),
      });
      fake.pushKline('ETHUSDT', '1m', eth[1]!); // dropped symbol: skipped
      fake.pushRaw('{not json at all');
      fake.pushRaw('{"stream":"btcusdt@kline_1m","data":{"e":"kline","k":{"t":1', 'BTCUSDT');
      fake.pushRaw(JSON.stringify({ stream: 'btcusdt@kline_1m', data: { e: 'kline', s: 'BTCUSDT' } }));
      const broken = JSON.parse(
        JSON.stringify({
          stream: 'btcusdt@kline_1m',
          data: { e: 'kline', s: 'BTCUSDT', k: { s: 'BTCUSDT', i: '1m', x: true, t: 'soon' } },
        }),
      );
      fake.pushRaw(JSON.stringify(broken));
      fake.pushRaw(
        JSON.stringify({ stream: 'dogeusdt@kline_1m', data: { e: 'kline', s: 'DOGEUSDT', k: {} } }),
      );
      fake.pushKline('BTCUSDT', '1m', btc[0]!);
      expect(summary(await take(live, 1))).toEqual([row('BTCUSDT', btc[0]!, 'stream')]);
      const errors = statuses.filter((s) => s.type === 'symbol-error' || s.type === 'message-error');
      expect(
        errors.map((s) => [
          s.type,
          'symbol' in s ? s.symbol : s.connection,
          'dropped' in s ? s.dropped : null,
        ]),
      ).toEqual([
        ['symbol-error', 'ETHUSDT', true],
        ['message-error', 1, null],
        ['symbol-error', 'BTCUSDT', false],
        ['symbol-error', 'BTCUSDT', false],
        ['symbol-error', 'BTCUSDT', false],
        ['symbol-error', 'DOGEUSDT', false],
      ]);
    } finally {
      await exchange.close();
    }
  });

  it('waits when the connection attempts of the window are used up', async () => {
    const live = open({ maxConnectionAttempts: 2, connectionAttemptWindowMs: 60_000 });
    await fake.waitForConnections(1);
    fake.refuseNext(5);
    fake.dropAll();
    const limited = await nextStatus('connection-limit');
    expect(limited.connection).toBe(1);
    expect(limited.waitMs).toBeGreaterThan(50_000);
    expect(fake.connections).toHaveLength(2);
    await live.return!();
  });

  it('refuses bad options naming them', () => {
    expect(() => open({ wsUrl: 'http://x' })).toThrow(/wsUrl must start with ws/);
    expect(() => open({ symbols: [] })).toThrow(/symbols must list/);
    expect(() => open({ symbols: ['btcusdt'] })).toThrow(/symbols\[0\]/);
    expect(() => open({ streamsPerConnection: 2000 })).toThrow(/streamsPerConnection/);
    expect(() => open({ silenceTimeoutMs: 0 })).toThrow(/silenceTimeoutMs/);
    expect(() => open({ rest: { baseUrl: 'ftp://x' } })).toThrow(/baseUrl must start with http/);
    // A misspelt setting is refused, not replaced by its default.
    expect(() => open({ silenceTimeoutMS: 5 } as never)).toThrow(
      /^unknown key silenceTimeoutMS in liveKlineStreams options \(the keys there are silenceTimeoutMs, /,
    );
    expect(() => open({ rest: { baseURL: 'http://x' } } as never)).toThrow(
      /^unknown key baseURL in liveKlineStreams options.rest \(the keys there are baseUrl, /,
    );
  });
});
