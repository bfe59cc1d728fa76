import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { generateSampleMarket, type Kline, type LiveKlinesStatus, liveKlines } from '../src/index.js';
import { FakeBinance } from './helpers/fake-binance.js';

let server: WebSocketServer;
let url: string;
const sockets: WebSocket[] = [];
const subscriptions: string[][] = [];
let connected: () => void = () => undefined;
/** Connections to accept and drop at once, before any message. */
let dropNext = 0;

const klines = generateSampleMarket({ count: 10, interval: '1m' }).klines;

/** A kline stream event the way Binance's combined stream sends it. */
function event(k: Kline, closed: boolean, symbol = 'BTCUSDT', interval = '1m'): string {
  return JSON.stringify({
    stream: `${symbol.toLowerCase()}@kline_${interval}`,
    data: {
      e: 'kline',
      E: k.closeTime + 1,
      s: symbol,
      k: {
        t: k.openTime,
        T: k.closeTime,
        s: symbol,
        i: interval,
        f: 100,
        L: 200,
        o: k.open.toFixed(8),
        c: k.close.toFixed(8),
        h: k.high.toFixed(8),
        l: k.low.toFixed(8),
        v: k.volume.toFixed(8),
        n: k.numberOfTrades,
        x: closed,
        q: k.quoteAssetVolume.toFixed(8),
        V: k.takerBuyBaseAssetVolume.toFixed(8),
        Q: k.takerBuyQuoteAssetVolume.toFixed(8),
        B: '0',
      },
    },
  });
}

function nextConnection(): Promise<void> {
  return new Promise((resolve) => {
    connected = resolve;
  });
}

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/stream' });
  server.on('connection', (socket) => {
    if (dropNext > 0) {
      dropNext--;
      socket.terminate();
      return;
    }
    sockets.push(socket);
    socket.on('message', (raw) => {
      const request = JSON.parse(String(raw)) as { method: string; params: string[]; id: number };
      if (request.method === 'SUBSCRIBE') {
        subscriptions.push(request.params);
        socket.send(JSON.stringify({ result: null, id: request.id }));
        connected();
      }
    });
  });
  await new Promise((resolve) => server.once('listening', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await new Promise((resolve) => server.close(resolve));
});

describe('liveKlines', () => {
  it('yields closed candles once, skips updates and other pairs, and reconnects with backoff', async () => {
    const statuses: LiveKlinesStatus[] = [];
    const controller = new AbortController();
    let subscribed = nextConnection();
    const stream = liveKlines({
      symbol: 'BTCUSDT',
      interval: '1m',
      wsUrl: url,
      signal: controller.signal,
      reconnectBaseMs: 20,
      onStatus: (status) => statuses.push(status),
    });
    await subscribed;
    expect(subscriptions.at(-1)).toEqual(['btcusdt@kline_1m']);
    let socket = sockets.at(-1)!;
    socket.send(event(klines[0]!, false)); // still forming
    socket.send(event(klines[0]!, true, 'ETHUSDT')); // another symbol
    socket.send(event(klines[0]!, true));
    socket.send(event(klines[0]!, true)); // repeated
    socket.send(event(klines[1]!, true));
    const received: Kline[] = [];
    for await (const kline of stream) {
      received.push(kline);
      if (received.length === 2) break;
    }
    expect(received).toEqual([klines[0], klines[1]]);

    // A second stream, whose connection drops twice.
    subscribed = nextConnection();
    const live = liveKlines({
      symbol: 'BTCUSDT',
      interval: '1m',
      wsUrl: url,
      signal: controller.signal,
      reconnectBaseMs: 20,
      onStatus: (status) => statuses.push(status),
    });
    await subscribed;
    socket = sockets.at(-1)!;
    socket.send(event(klines[2]!, true));
    const first = await live.next();
    expect(first.value).toEqual(klines[2]);

    subscribed = nextConnection();
    dropNext = 2;
    socket.terminate();
    await subscribed;
    sockets.at(-1)!.send(event(klines[2]!, true)); // replayed after reconnect: not yielded again
    sockets.at(-1)!.send(event(klines[3]!, true));
    expect((await live.next()).value).toEqual(klines[3]);
    // Dropped, then refused twice: three reconnects with growing delays (20, 20-40, 40-80 ms).
    const reconnects = statuses.filter((s) => s.type === 'reconnecting');
    expect(reconnects.map((s) => s.attempt)).toEqual([1, 2, 3]);
    const delays = reconnects.map((s) => s.delayMs);
    expect(delays[0]).toBe(20);
    expect(delays[1]).toBeGreaterThanOrEqual(20);
    expect(delays[1]).toBeLessThanOrEqual(40);
    expect(delays[2]).toBeGreaterThanOrEqual(40);
    expect(delays[2]).toBeLessThanOrEqual(80);
    expect(statuses.some((s) => s.type === 'reconnected')).toBe(true);

    controller.abort();
    expect(await live.next()).toEqual({ value: undefined, done: true });
  });

  it('back-fills over REST the candles that closed while disconnected, each once and in order', async () => {
    const exchange = await new FakeBinance().serve('BTCUSDT', '1m', klines).start();
    const klineRequests: URL[] = [];
    exchange.onRequest = (request) => {
      if (request.pathname === '/api/v3/klines') klineRequests.push(request);
    };
    try {
      const statuses: LiveKlinesStatus[] = [];
      const controller = new AbortController();
      let subscribed = nextConnection();
      const live = liveKlines({
        symbol: 'BTCUSDT',
        interval: '1m',
        wsUrl: url,
        signal: controller.signal,
        reconnectBaseMs: 20,
        // Two candles per page, so the three missed candles take two pages.
        backfill: { baseUrl: exchange.url, retryBaseMs: 10, pageSize: 2 },
        onStatus: (status) => statuses.push(status),
      });
      await subscribed;
      sockets.at(-1)!.send(event(klines[0]!, true));
      sockets.at(-1)!.send(event(klines[1]!, true));
      const received: Kline[] = [(await live.next()).value, (await live.next()).value];

      // Disconnected while candles 2, 3 and 4 close; the first REST answer is a 500 (retried).
      exchange.inject({ type: '500' });
      subscribed = nextConnection();
      sockets.at(-1)!.terminate();
      await subscribed;
      const socket = sockets.at(-1)!;
      socket.send(event(klines[1]!, true)); // replayed: not yielded again
      socket.send(event(klines[5]!, true));
      socket.send(event(klines[6]!, true));
      for (let i = 0; i < 5; i++) received.push((await live.next()).value);
      expect(received).toEqual(klines.slice(0, 7));
      // The REST requests asked exactly for the gap, from after candle 1 to before candle 5: the
      // 500, its retry (candles 2 and 3, a full page), then candle 4.
      const asked = klineRequests.map((r) => [
        r.searchParams.get('startTime'),
        r.searchParams.get('endTime'),
      ]);
      const gapEnd = String(klines[5]!.openTime - 1);
      expect(asked).toEqual([
        [String(klines[2]!.openTime), gapEnd],
        [String(klines[2]!.openTime), gapEnd],
        [String(klines[4]!.openTime), gapEnd],
      ]);
      expect(statuses).toContainEqual({
        type: 'backfilled',
        klines: 3,
        from: klines[2]!.openTime,
        to: klines[5]!.openTime,
        requests: 3,
      });

      // A later candle that follows the last one needs no REST request.
      socket.send(event(klines[7]!, true));
      expect((await live.next()).value).toEqual(klines[7]);
      expect(klineRequests.length).toBe(3);
      controller.abort();
      expect(await live.next()).toEqual({ value: undefined, done: true });
    } finally {
      await exchange.close();
    }
  });

  it('still yields the stream candles when the back-fill fails, and reports why', async () => {
    const exchange = await new FakeBinance().start(); // serves no symbol: -1121
    try {
      const statuses: LiveKlinesStatus[] = [];
      const controller = new AbortController();
      const subscribed = nextConnection();
      const live = liveKlines({
        symbol: 'BTCUSDT',
        interval: '1m',
        wsUrl: url,
        signal: controller.signal,
        backfill: { baseUrl: exchange.url },
        onStatus: (status) => statuses.push(status),
      });
      await subscribed;
      sockets.at(-1)!.send(event(klines[0]!, true));
      sockets.at(-1)!.send(event(klines[3]!, true));
      expect((await live.next()).value).toEqual(klines[0]);
      expect((await live.next()).value).toEqual(klines[3]);
      const errors = statuses.filter((s) => s.type === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ message: expect.stringMatching(/back-fill failed.*BTCUSDT/) });
      controller.abort();
    } finally {
      await exchange.close();
    }
  });

  it('refuses a back-fill URL that is not an HTTP URL', () => {
    expect(() =>
      liveKlines({ symbol: 'BTCUSDT', interval: '1m', wsUrl: 'ws://x', backfill: { baseUrl: 'ftp://x' } }),
    ).toThrow(/baseUrl must start with http/);
  });

  it('refuses a URL that is not a WebSocket URL', () => {
    expect(() => liveKlines({ symbol: 'BTCUSDT', interval: '1m', wsUrl: 'http://x' })).toThrow(
      /wsUrl must start with ws/,
    );
  });
});
