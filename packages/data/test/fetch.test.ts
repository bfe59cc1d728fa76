import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FetchProgress,
  fetchKlines,
  generateSampleMarket,
  isDataError,
  type Kline,
  KlineStore,
} from '../src/index.js';
import { FakeBinance } from './helpers/fake-binance.js';

const HOUR = 3_600_000;
const START = Date.UTC(2017, 0, 1);
let directory: string;
let server: FakeBinance;
/** 72,000 hourly candles (8+ years), 72 pages. */
let btc: Kline[];
/** After the last candle closed. */
let after: number;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fetch-'));
  btc = generateSampleMarket({ count: 72_000, start: START, seed: 11 }).klines;
  after = btc.at(-1)!.closeTime + 10 * HOUR;
  server = await new FakeBinance().serve('BTCUSDT', '1h', btc).start();
});
afterAll(async () => {
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

async function withStore<T>(name: string, work: (store: KlineStore) => Promise<T>): Promise<T> {
  const store = await KlineStore.open(join(directory, `${name}.duckdb`));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const fast = { retryBaseMs: 5, retryMaxMs: 40, requestTimeoutMs: 2_000 };

describe('fetchKlines', () => {
  it('stores 72,000 hourly candles over 72 pages exactly as served, then asks for nothing more', async () => {
    await withStore('full', async (store) => {
      const events: FetchProgress[] = [];
      const before = server.requests;
      const result = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: after,
        store,
        baseUrl: server.url,
        now: () => after,
        onProgress: (event) => events.push(event),
      });
      // 72 full pages, a short one (the exchange has nothing after the last candle), and that
      // short answer asked once more: the span after the last candle is reported as unserved.
      expect(result.pages).toBe(74);
      expect(result.rows).toBe(72_000);
      expect(server.requests - before).toBe(74);
      expect(result.unserved).toEqual([{ start: btc.at(-1)!.openTime + HOUR, end: after }]);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(btc);
      expect(events.at(-1)).toMatchObject({ pages: 74, rows: 72_000 });
      expect(events.every((e) => e.waitingMs === undefined)).toBe(true);
      expect(events[10]!.etaMs).toBeGreaterThan(0);

      const again = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: after,
        store,
        baseUrl: server.url,
        now: () => after,
      });
      // The exchange served nothing after the last candle, which proves nothing: that span is
      // asked again (twice: the answer and its second ask), never recorded as empty.
      expect(again.ranges).toEqual([{ start: btc.at(-1)!.openTime + HOUR, end: after }]);
      expect(again.requests).toBe(2);
      expect(again.rows).toBe(0);
      expect(again.unserved).toEqual(again.ranges);
    });
  });

  it('asks only for what is missing: holes and the span after the last candle', async () => {
    await withStore('incremental', async (store) => {
      const part = btc.slice(0, 5_000);
      await store.upsert('BTCUSDT', '1h', part.slice(0, 1_000));
      await store.upsert('BTCUSDT', '1h', part.slice(1_500, 3_000));
      const asked: URL[] = [];
      server.onRequest = (url) => asked.push(url);
      const result = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: part.at(-1)!.openTime + HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
      });
      server.onRequest = undefined;
      expect(result.ranges).toEqual([
        { start: part[1_000]!.openTime, end: part[1_500]!.openTime },
        { start: part[3_000]!.openTime, end: part.at(-1)!.openTime + HOUR },
      ]);
      expect(asked.map((url) => Number(url.searchParams.get('startTime')))).toEqual([
        part[1_000]!.openTime,
        part[3_000]!.openTime,
        part[4_000]!.openTime,
      ]);
      expect(result.rows).toBe(500 + 2_000);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(part);
    });
  });

  it('does not store the candle still forming, and picks it up once closed', async () => {
    await withStore('open-candle', async (store) => {
      const last = btc[999]!;
      const duringLast = last.openTime + HOUR / 2;
      const common = { symbol: 'BTCUSDT', interval: '1h' as const, since: START, store, baseUrl: server.url };
      const first = await fetchKlines({ ...common, now: () => duringLast });
      expect(first.rows).toBe(999);
      expect(await store.lastOpenTime('BTCUSDT', '1h')).toBe(btc[998]!.openTime);
      const second = await fetchKlines({ ...common, now: () => last.closeTime + 1 });
      expect(second.ranges).toEqual([{ start: last.openTime, end: last.closeTime + 1 }]);
      expect(second.rows).toBe(1);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(btc.slice(0, 1000));
    });
  });

  it('does not store a candle asked for in its last moments, even when the answer comes after its close', async () => {
    await withStore('asked-forming', async (store) => {
      const last = btc[999]!;
      // Asked 10 ms before the candle closes; the answer (with its partial values) arrives after.
      let clock = last.closeTime - 10;
      server.onRequest = (url) => {
        if (url.pathname === '/api/v3/klines') clock = last.closeTime + 10;
      };
      try {
        await fetchKlines({
          symbol: 'BTCUSDT',
          interval: '1h',
          since: START,
          store,
          baseUrl: server.url,
          now: () => clock,
        });
      } finally {
        server.onRequest = undefined;
      }
      expect(await store.lastOpenTime('BTCUSDT', '1h')).toBe(btc[998]!.openTime);
    });
  });

  it("judges the forming candle on the exchange's clock, not a skewed local one", async () => {
    // The local clock runs about 3 hours ahead of the exchange's, which stands mid-hour (so the
    // forming candle cannot close during the test).
    const local = Date.now();
    const offset = -3 * HOUR - ((local % HOUR) - HOUR / 2);
    const forming = Math.floor((local + offset) / HOUR) * HOUR;
    const series = generateSampleMarket({ count: 100, start: forming - 99 * HOUR, seed: 2 }).klines;
    const skewed = await new FakeBinance().serve('BTCUSDT', '1h', series).start();
    skewed.clockOffsetMs = offset;
    try {
      await withStore('skew', async (store) => {
        const asked: string[] = [];
        skewed.onRequest = (url) => asked.push(url.pathname);
        const result = await fetchKlines({
          symbol: 'BTCUSDT',
          interval: '1h',
          since: series[0]!.openTime,
          store,
          baseUrl: skewed.url,
        });
        expect(asked[0]).toBe('/api/v3/time');
        expect(result.rows).toBe(99);
        expect(await store.lastOpenTime('BTCUSDT', '1h')).toBe(forming - HOUR);
      });
    } finally {
      await skewed.close();
    }
  });

  it('does not ask again for an exchange outage it was answered for', async () => {
    const holey = btc.slice(0, 3_000).filter((_, i) => i < 1_200 || i >= 1_260);
    const outage = await new FakeBinance().serve('ETHUSDT', '1h', holey).start();
    try {
      await withStore('outage', async (store) => {
        const common = {
          symbol: 'ETHUSDT',
          interval: '1h' as const,
          since: START,
          until: btc[2_999]!.openTime + HOUR,
          store,
          baseUrl: outage.url,
          now: () => after,
        };
        const first = await fetchKlines(common);
        expect(first.rows).toBe(2_940);
        expect(await store.findGaps('ETHUSDT', '1h')).toEqual([
          { start: btc[1_200]!.openTime, end: btc[1_260]!.openTime, missing: 60 },
        ]);
        const second = await fetchKlines(common);
        expect(second.requests).toBe(0);
      });
    } finally {
      await outage.close();
    }
  });

  it('waits out a 429 storm, honouring Retry-After, and reports the waits', async () => {
    await withStore('storm', async (store) => {
      server.inject(...Array.from({ length: 8 }, () => ({ type: '429' as const, retryAfterSeconds: 0.05 })));
      const waits: FetchProgress[] = [];
      const result = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: btc[2_999]!.openTime + HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        onProgress: (event) => {
          if (event.waitingMs !== undefined) waits.push(event);
        },
        ...fast,
      });
      expect(server.pendingFaults).toBe(0);
      expect(result.rateLimitWaits).toBe(8);
      expect(result.rows).toBe(3_000);
      expect(waits).toHaveLength(8);
      expect(waits[0]).toMatchObject({ waitReason: 'rate-limit', waitingMs: 50 });
      expect(waits[0]!.message).toMatch(/429/);
      expect(await store.count('BTCUSDT', '1h')).toBe(3_000);
    });
  });

  /** A fetch of the first 10 hourly candles from the shared server into `store`, retries fast. */
  const tenHours = (store: KlineStore) => ({
    symbol: 'BTCUSDT',
    interval: '1h' as const,
    since: START,
    until: START + 10 * HOUR,
    store,
    baseUrl: server.url,
    now: () => after,
    ...fast,
  });

  it('stops, saying until when, on a Retry-After longer than allowed: asking early gets the IP banned', async () => {
    await withStore('long-retry-after', async (store) => {
      server.inject({ type: '429', retryAfterSeconds: 300 });
      const before = server.requests;
      const error = await fetchKlines(tenHours(store)).catch((caught: unknown) => caught);
      expect(isDataError(error) && error.code).toBe('RATE_LIMITED');
      expect((error as Error).message).toMatch(
        /asking to wait 300 s \(Retry-After\), longer than the 120 s allowed .*run again after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to resume/,
      );
      expect(server.requests - before).toBe(1);
    });
  });

  it('gives up on an endless 429 storm with a clear message', async () => {
    await withStore('endless-storm', async (store) => {
      server.inject(...Array.from({ length: 4 }, () => ({ type: '429' as const, retryAfterSeconds: 0.01 })));
      const error = await fetchKlines({ ...tenHours(store), maxRateLimitWaits: 3 }).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('RATE_LIMITED');
      expect(error.message).toMatch(/429 .*4 times in a row.*run again later/);
    });
  });

  it('retries 500s, resets, timeouts and bad JSON with backoff, keeping every row', async () => {
    await withStore('faults', async (store) => {
      server.inject(
        { type: '500' },
        { type: 'reset' },
        { type: 'bad-json' },
        { type: 'slow', ms: 2_000 },
        { type: '500' },
      );
      const waits: FetchProgress[] = [];
      const result = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: btc[4_999]!.openTime + HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        onProgress: (event) => {
          if (event.waitReason === 'retry') waits.push(event);
        },
        ...fast,
        requestTimeoutMs: 800,
      });
      expect(result.retries).toBe(5);
      expect(waits.map((w) => w.message?.split(';')[0])).toEqual([
        'Binance answered HTTP 500',
        expect.stringMatching(/network error: (ECONNRESET|socket hang up)/),
        expect.stringMatching(/not valid JSON/),
        expect.stringMatching(/no complete answer within 0.8 s \(requestTimeoutMs/),
        'Binance answered HTTP 500',
      ]);
      // Backoff doubles (with jitter in [half, full]).
      expect(waits[1]!.waitingMs).toBeGreaterThanOrEqual(5);
      expect(waits[3]!.waitingMs).toBeLessThanOrEqual(40);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(btc.slice(0, 5_000));
    });
  });

  it('fails clearly after the retry limit and keeps what it had fetched', async () => {
    await withStore('give-up', async (store) => {
      let pages = 0;
      server.onRequest = () => {
        pages++;
        if (pages === 3) server.inject({ type: '500' }, { type: '500' }, { type: '500' });
      };
      const error = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: btc[9_999]!.openTime + HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        ...fast,
        maxRetries: 2,
      }).catch((caught) => caught);
      server.onRequest = undefined;
      expect(isDataError(error) && error.code).toBe('NETWORK');
      expect(error.message).toMatch(/HTTP 500; gave up after 3 attempts \(2 retries\).*run again to resume/);
      // Pages 1 and 2 were stored; the third request failed three times.
      expect(await store.klines('BTCUSDT', '1h')).toEqual(btc.slice(0, 2_000));
    });
  });

  it('stops at once on 418 with the ban time', async () => {
    await withStore('banned', async (store) => {
      const bannedUntil = Date.UTC(2030, 0, 1, 12);
      server.inject({ type: '418', bannedUntil });
      const error = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: START + 100 * HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        ...fast,
      }).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('IP_BANNED');
      expect(error.message).toMatch(/banned this IP address until 2030-01-01T12:00:00.000Z \(HTTP 418\)/);
    });
  });

  it('slows down before the weight limit', async () => {
    await withStore('weight', async (store) => {
      server.usedWeight = 5_500;
      // A clock standing 200 ms before a minute boundary: the pause is 200 ms + 250 ms margin.
      const base = Date.UTC(2026, 0, 1, 0, 0, 59, 800);
      const waits: FetchProgress[] = [];
      try {
        await fetchKlines({
          symbol: 'BTCUSDT',
          interval: '1h',
          since: START,
          until: START + 10 * HOUR,
          store,
          baseUrl: server.url,
          now: () => base,
          onProgress: (event) => {
            if (event.waitingMs !== undefined) waits.push(event);
          },
        });
      } finally {
        server.usedWeight = undefined;
      }
      expect(waits).toHaveLength(1);
      expect(waits[0]!.waitReason).toBe('weight-limit');
      expect(waits[0]!.message).toMatch(/used weight 5500 of 6000/);
      expect(waits[0]!.waitingMs).toBe(450);
    });
  });

  it('maps unknown symbols and intervals and refuses a start after the end', async () => {
    await withStore('bad-input', async (store) => {
      const common = { since: START, until: START + HOUR * 10, store, baseUrl: server.url, now: () => after };
      const symbolError = await fetchKlines({ ...common, symbol: 'NOPEUSDT', interval: '1h' }).catch(
        (e) => e,
      );
      expect(isDataError(symbolError) && symbolError.code).toBe('UNKNOWN_SYMBOL');
      expect(symbolError.message).toMatch(/does not know the symbol "NOPEUSDT" \(code -1121\)/);
      const intervalError = await fetchKlines({
        ...common,
        symbol: 'BTCUSDT',
        interval: '2d' as never,
      }).catch((e) => e);
      expect(intervalError.code).toBe('UNKNOWN_INTERVAL');
      await expect(
        fetchKlines({ ...common, symbol: 'BTCUSDT', interval: '1h', since: START + HOUR * 20 }),
      ).rejects.toThrow(/is not before until/);
      await expect(
        fetchKlines({ ...common, symbol: 'BTCUSDT', interval: '1h', baseUrl: 'ftp://x' }),
      ).rejects.toThrow(/baseUrl must start with http/);
    });
  });

  it('never sends BINANCE_API_KEY: klines and the server time are public endpoints', async () => {
    const saved = { key: process.env.BINANCE_API_KEY, secret: process.env.BINANCE_API_SECRET };
    try {
      process.env.BINANCE_API_KEY = 'test-key-1234567890';
      process.env.BINANCE_API_SECRET = 'test-secret-abcdef';
      const plain = await new FakeBinance().serve('BTCUSDT', '1h', btc.slice(0, 100)).start();
      try {
        await withStore('keys', async (store) => {
          const common = { since: START, until: START + HOUR * 10, store, baseUrl: plain.url };
          // Without `now`, the server time is asked for too.
          await fetchKlines({ ...common, symbol: 'BTCUSDT', interval: '1h' });
          const error = await fetchKlines({ ...common, symbol: 'NOPEUSDT', interval: '1h' }).catch((e) => e);
          expect(error.message).not.toMatch(/test-key|test-secret/);
        });
        expect(plain.headers.length).toBeGreaterThanOrEqual(3);
        for (const headers of plain.headers) {
          expect(headers['x-mbx-apikey']).toBeUndefined();
          expect(JSON.stringify(headers)).not.toMatch(/test-key|test-secret/);
        }
      } finally {
        await plain.close();
      }
    } finally {
      for (const [name, value] of [
        ['BINANCE_API_KEY', saved.key],
        ['BINANCE_API_SECRET', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('is cancelled by its AbortSignal, keeping what it stored', async () => {
    await withStore('abort', async (store) => {
      const controller = new AbortController();
      const error = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: btc[9_999]!.openTime + HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.pages === 2) controller.abort();
        },
      }).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('ABORTED');
      expect(await store.count('BTCUSDT', '1h')).toBe(2_000);
    });
  });
});

describe('fetchKlines deadlines', () => {
  it('retries a request that trickles bytes past its overall deadline, and says so', async () => {
    await withStore('trickle', async (store) => {
      // A byte every 20 ms: an idle timeout never fires; only a deadline on the whole request does.
      server.inject({ type: 'trickle', everyMs: 20 });
      const waits: FetchProgress[] = [];
      const result = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: START + 100 * HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        ...fast,
        requestTimeoutMs: 300,
        onProgress: (event) => {
          if (event.waitingMs !== undefined) waits.push(event);
        },
      });
      expect(result.retries).toBe(1);
      expect(waits).toHaveLength(1);
      expect(waits[0]!.message).toMatch(
        /^no complete answer within 0.3 s \(requestTimeoutMs, the deadline of one request\); retry 1 of 5/,
      );
      expect(await store.count('BTCUSDT', '1h')).toBe(100);
    });
  });

  it('gives up on the whole fetch after giveUpAfterMs with TIMEOUT, keeping the pages stored', async () => {
    await withStore('give-up-deadline', async (store) => {
      let asked = 0;
      server.onRequest = () => {
        asked++;
        // The third page never finishes; its own deadline is far away, the fetch's is not.
        if (asked === 3) server.inject({ type: 'trickle', everyMs: 20 });
      };
      const error = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: btc[9_999]!.openTime + HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        ...fast,
        requestTimeoutMs: 60_000,
        giveUpAfterMs: 500,
      }).catch((caught) => caught);
      server.onRequest = undefined;
      expect(isDataError(error) && error.code).toBe('TIMEOUT');
      expect(error.message).toMatch(
        /^Gave up after 0.5 s \(giveUpAfterMs, the limit for the whole run\): BTCUSDT 1h was not finished \(2000 rows in 2 pages stored.*run again to resume/,
      );
      expect(await store.klines('BTCUSDT', '1h')).toEqual(btc.slice(0, 2_000));
    });
  });

  it('refuses a give-up that is not a positive number', async () => {
    await withStore('give-up-bad', async (store) => {
      const error = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        until: START + 10 * HOUR,
        store,
        baseUrl: server.url,
        now: () => after,
        giveUpAfterMs: 0,
      }).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/giveUpAfterMs must be greater than 0/);
    });
  });

  it('refuses a misspelt option instead of fetching with its default', async () => {
    await withStore('misspelt', async (store) => {
      const error = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        untill: START + 10 * HOUR,
        store,
        baseUrl: server.url,
      } as never).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(
        /^unknown key untill in fetchKlines options \(the keys there are until, symbol,/,
      );
      expect(await store.count('BTCUSDT', '1h')).toBe(0);
    });
  });
});

describe('fetchKlines records a span as empty only where the exchange proves it', () => {
  /** A fetch of the first 100 hourly candles from the shared server into `store`. */
  const firstHundred = (store: KlineStore) => ({
    symbol: 'BTCUSDT',
    interval: '1h' as const,
    since: START,
    until: START + 100 * HOUR,
    store,
    baseUrl: server.url,
    now: () => after,
  });

  it('heals after an empty answer: a later fetch from a healthy server stores the candles', async () => {
    await withStore('empty-answer', async (store) => {
      const common = firstHundred(store);
      // One empty answer (a glitch) is asked again at once, and the range is served in full.
      server.inject({ type: 'empty' });
      const glitch = await fetchKlines(common);
      expect(glitch.rows).toBe(100);
      expect(glitch.unserved).toEqual([]);
    });
    await withStore('empty-answers', async (store) => {
      const common = firstHundred(store);
      // Two in a row: nothing stored, the range reported unserved and left missing; a later
      // fetch from a healthy server stores it.
      server.inject({ type: 'empty' }, { type: 'empty' });
      const first = await fetchKlines(common);
      expect(first.rows).toBe(0);
      expect(first.unserved).toEqual([{ start: START, end: START + 100 * HOUR }]);
      expect(await store.coverage('BTCUSDT', '1h')).toEqual([]);
      const second = await fetchKlines(common);
      expect(second.requests).toBe(1);
      expect(second.rows).toBe(100);
      expect(await store.klines('BTCUSDT', '1h', { end: START + 100 * HOUR })).toEqual(btc.slice(0, 100));
    });
  });

  it('heals a short answer: only the span before its last candle counts as answered', async () => {
    const truncated = await new FakeBinance().serve('BTCUSDT', '1h', btc.slice(0, 40)).start();
    try {
      await withStore('short-answer', async (store) => {
        const common = {
          symbol: 'BTCUSDT',
          interval: '1h' as const,
          since: START,
          until: START + 100 * HOUR,
          store,
          now: () => after,
        };
        expect((await fetchKlines({ ...common, baseUrl: truncated.url })).rows).toBe(40);
        expect(await store.coverage('BTCUSDT', '1h')).toEqual([{ start: START, end: START + 40 * HOUR }]);
        const healed = await fetchKlines({ ...common, baseUrl: server.url });
        expect(healed.ranges).toEqual([{ start: START + 40 * HOUR, end: START + 100 * HOUR }]);
        expect(await store.klines('BTCUSDT', '1h')).toEqual(btc.slice(0, 100));
      });
    } finally {
      await truncated.close();
    }
  });

  it('records the span before the symbol first traded, proven by its first candle', async () => {
    // The pair lists 500 hours after START; a fetch of the 300 hours before gets its first candle.
    const listed = btc.slice(500, 1_000);
    const later = await new FakeBinance().serve('NEWUSDT', '1h', listed).start();
    try {
      await withStore('before-listing', async (store) => {
        const common = {
          symbol: 'NEWUSDT',
          interval: '1h' as const,
          since: START,
          store,
          baseUrl: later.url,
          now: () => after,
        };
        const first = await fetchKlines({ ...common, until: START + 300 * HOUR });
        expect(first.rows).toBe(0);
        expect(await store.coverage('NEWUSDT', '1h')).toEqual([{ start: START, end: START + 300 * HOUR }]);
        expect((await fetchKlines({ ...common, until: START + 300 * HOUR })).requests).toBe(0);
        const all = await fetchKlines({ ...common, until: listed.at(-1)!.openTime + HOUR });
        expect(all.ranges).toEqual([{ start: START + 300 * HOUR, end: listed.at(-1)!.openTime + HOUR }]);
        expect(all.rows).toBe(500);
        expect(await store.coverage('NEWUSDT', '1h')).toEqual([
          { start: START, end: listed.at(-1)!.openTime + HOUR },
        ]);
      });
    } finally {
      await later.close();
    }
  });
});
