import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BinanceFillEvent,
  binanceSource,
  downloadArchive,
  fetchKlines,
  generateSampleMarket,
  isDataError,
  type Kline,
  KlineStore,
} from '../src/index.js';
import { FakeBinance, toBinanceArray } from './helpers/fake-binance.js';
import { zipFiles } from './helpers/zip.js';

const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);
/** 1500 hourly candles: 744 in January (published in the archive), 756 after (REST only). */
const UNTIL = START + 1500 * HOUR;
const FEBRUARY = Date.UTC(2024, 1, 1);
let directory: string;
let server: FakeBinance;
let klines: Kline[];
/** GET /api/v3/klines requests answered so far. */
let klineRequests = 0;
const fast = { retryBaseMs: 5, retryMaxMs: 40, requestTimeoutMs: 2_000 };

/** Publishes `rows` as an archive file of `exchange`, as data.binance.vision packs it, with its sha256. */
function publishArchive(exchange: FakeBinance, path: string, rows: Kline[]): void {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const zip = zipFiles({
    [name.replace(/\.zip$/, '.csv')]: `${rows.map((k) => toBinanceArray(k).join(',')).join('\n')}\n`,
  });
  exchange.archiveFiles.set(path, zip);
  exchange.archiveFiles.set(
    `${path}.CHECKSUM`,
    Buffer.from(`${createHash('sha256').update(zip).digest('hex')}  ${name}\n`),
  );
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'binance-source-'));
  klines = generateSampleMarket({ count: 1500, start: START, seed: 5 }).klines;
  server = await new FakeBinance().serve('BTCUSDT', '1h', klines).start();
  server.onRequest = (url) => {
    if (url.pathname === '/api/v3/klines') klineRequests++;
  };
  // January's monthly file: a headerless CSV in a zip.
  publishArchive(
    server,
    '/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip',
    klines.filter((k) => k.openTime < FEBRUARY),
  );
});
afterAll(async () => {
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

/** A store in a real DuckDB file in the temp folder, closed after `work`. */
async function withStore<T>(name: string, work: (store: KlineStore) => Promise<T>): Promise<T> {
  const store = await KlineStore.open(join(directory, `${name}.duckdb`));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Event types in order, repeats of one type collapsed (progress comes many times). */
const sequence = (events: BinanceFillEvent[]) =>
  events.map((e) => e.type).filter((type, i, all) => type !== all[i - 1]);

describe('binanceSource', () => {
  it('fills the store over REST on load, then reads it; a second load asks for nothing', async () => {
    await withStore('rest', async (store) => {
      const events: BinanceFillEvent[] = [];
      const source = binanceSource(
        store,
        { baseUrl: server.url, ...fast },
        { onProgress: (e) => events.push(e) },
      );
      expect(source.describe()).toBe(`local kline store ${store.path}`);
      const before = klineRequests;
      const loaded = await source.load({ symbol: 'BTCUSDT', interval: '1h', start: START, end: UNTIL });
      expect(loaded).toEqual(klines);
      expect(klineRequests - before).toBe(2);
      expect(sequence(events)).toEqual(['fetch-start', 'fetch-progress', 'filled']);
      expect(events[0]).toEqual({
        type: 'fetch-start',
        symbol: 'BTCUSDT',
        interval: '1h',
        baseUrl: server.url,
      });
      const filled = events.at(-1) as Extract<BinanceFillEvent, { type: 'filled' }>;
      expect(filled.result.fetch.rows).toBe(1500);
      expect(filled.result.archive).toBeUndefined();

      const again = await source.fill({ symbol: 'BTCUSDT', interval: '1h', start: START, end: UNTIL });
      expect(again.fetch.rows).toBe(0);
      expect(klineRequests - before).toBe(2);
    });
    // The candles are in the file, not only in memory.
    await withStore('rest', async (store) => expect(await store.count('BTCUSDT', '1h')).toBe(1500));
  });

  it('with archive, loads the archive files first and asks REST only for the rest', async () => {
    await withStore('archive', async (store) => {
      const events: BinanceFillEvent[] = [];
      const source = binanceSource(
        store,
        { baseUrl: server.url, ...fast },
        { archive: { baseUrl: server.url, retryBaseMs: 5 }, onProgress: (e) => events.push(e) },
      );
      const archiveBefore = server.archiveRequests.length;
      const loaded = await source.load({ symbol: 'BTCUSDT', interval: '1h', start: START, end: UNTIL });
      expect(loaded).toEqual(klines);
      expect(sequence(events)).toEqual([
        'archive-start',
        'archive-file',
        'archive-done',
        'fetch-start',
        'fetch-progress',
        'filled',
      ]);
      const files = events.flatMap((e) => (e.type === 'archive-file' ? [e.progress] : []));
      expect(files[0]).toMatchObject({ file: 'BTCUSDT-1h-2024-01.zip', status: 'loaded', rows: 744 });
      expect(files.slice(1).every((f) => f.status === 'missing')).toBe(true);
      const { result } = events.at(-1) as Extract<BinanceFillEvent, { type: 'filled' }>;
      expect(result.archive?.rows).toBe(744);
      expect(result.fetch.rows).toBe(756);
      expect(server.archiveRequests.slice(archiveBefore)).toContain(
        '/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip',
      );
    });
  });

  it('with archive, a pair listed long after since costs a handful of requests, not one per month and day before it', async () => {
    // Listed 2024-03-15 10:00, fetched since 2022-01-01: 26 months (790 days) before it had no candle.
    const listed = Date.UTC(2024, 2, 15, 10);
    const may = Date.UTC(2024, 4, 1);
    const since = Date.UTC(2022, 0, 1);
    const late = generateSampleMarket({ count: (may - listed) / HOUR, start: listed, seed: 6 }).klines;
    const exchange = await new FakeBinance().serve('NEWUSDT', '1h', late).start();
    const monthly = (month: string) => `/data/spot/monthly/klines/NEWUSDT/1h/NEWUSDT-1h-${month}.zip`;
    publishArchive(
      exchange,
      monthly('2024-03'),
      late.filter((k) => k.openTime < Date.UTC(2024, 3, 1)),
    );
    publishArchive(
      exchange,
      monthly('2024-04'),
      late.filter((k) => k.openTime >= Date.UTC(2024, 3, 1)),
    );
    const rest = { baseUrl: exchange.url, ...fast };
    try {
      await withStore('late-listing', async (store) => {
        const source = binanceSource(store, rest, { archive: { baseUrl: exchange.url, retryBaseMs: 5 } });
        const result = await source.fill({ symbol: 'NEWUSDT', interval: '1h', start: since, end: may });
        expect(result.archive).toEqual({
          files: 2,
          missingFiles: [],
          rows: late.length,
          microsecondFiles: 0,
        });
        // One request for where the candles start, the two files and their checksums, then the
        // REST fetch: the exchange's clock and one page proving the span before the listing empty.
        expect(exchange.archiveRequests).toEqual([
          monthly('2024-03'),
          `${monthly('2024-03')}.CHECKSUM`,
          monthly('2024-04'),
          `${monthly('2024-04')}.CHECKSUM`,
        ]);
        expect(exchange.requests).toBe(7);

        // The candles and the spans proven empty are the same as when every planned file is asked
        // for (rest: false), which costs a 404 for each of those months and days.
        const walked = await withStore('late-listing-walked', async (blind) => {
          const range = { symbol: 'NEWUSDT', interval: '1h', since, until: may, store: blind } as const;
          await downloadArchive({ ...range, baseUrl: exchange.url, retryBaseMs: 5, rest: false });
          await fetchKlines({ ...range, ...rest });
          return {
            klines: await blind.klines('NEWUSDT', '1h'),
            coverage: await blind.coverage('NEWUSDT', '1h'),
          };
        });
        expect(exchange.archiveRequests.length).toBeGreaterThan(800);
        expect(walked.klines).toEqual(late);
        expect(await store.klines('NEWUSDT', '1h')).toEqual(walked.klines);
        expect(await store.coverage('NEWUSDT', '1h')).toEqual(walked.coverage);
      });
    } finally {
      await exchange.close();
    }
  });

  it('fills and reads since/until when the request names no range, and refuses a fill with no start', async () => {
    await withStore('defaults', async (store) => {
      const rest = { baseUrl: server.url, ...fast };
      const bounded = binanceSource(store, rest, { since: FEBRUARY, until: UNTIL });
      const loaded = await bounded.load({ symbol: 'BTCUSDT', interval: '1h' });
      expect(loaded).toEqual(klines.filter((k) => k.openTime >= FEBRUARY));
      expect(await store.count('BTCUSDT', '1h', { end: FEBRUARY })).toBe(0);

      const unbounded = binanceSource(store, rest);
      const refusal = await unbounded.load({ symbol: 'BTCUSDT', interval: '1h' }).catch((e: unknown) => e);
      expect(isDataError(refusal) && refusal.code).toBe('INVALID_ARGUMENT');
      expect(String(refusal)).toMatch(/pass `since`/);
      expect(() => binanceSource(store, rest, { since: UNTIL, until: FEBRUARY })).toThrow(/swap them/);
      // A misspelt setting, in any of the three objects, or in a request, is refused, not ignored.
      expect(() => binanceSource(store, { ...rest, baseURL: server.url } as never)).toThrow(
        /^unknown key baseURL in binanceSource rest settings \(the keys there are baseUrl, /,
      );
      expect(() => binanceSource(store, rest, { sine: FEBRUARY } as never)).toThrow(
        /^unknown key sine in binanceSource options \(the keys there are since, /,
      );
      expect(() => binanceSource(store, rest, { archive: { baseURL: 'http://x' } } as never)).toThrow(
        /unknown key baseURL in binanceSource options.archive/,
      );
      await expect(
        bounded.load({ symbol: 'BTCUSDT', interval: '1h', strt: FEBRUARY } as never),
      ).rejects.toThrow(/unknown key strt in the load request/);
    });
  });

  it('gives up on the whole fill after giveUpAfterMs, reporting it as an event', async () => {
    const slow = await new FakeBinance().serve('BTCUSDT', '1h', klines).start();
    try {
      slow.inject(...Array.from({ length: 20 }, () => ({ type: 'trickle' as const, everyMs: 20 })));
      await withStore('give-up', async (store) => {
        const events: BinanceFillEvent[] = [];
        const source = binanceSource(
          store,
          { baseUrl: slow.url, requestTimeoutMs: 60_000 },
          { giveUpAfterMs: 300, onProgress: (e) => events.push(e) },
        );
        const started = Date.now();
        const error = await source.load({ symbol: 'BTCUSDT', interval: '1h', start: START }).catch((e) => e);
        expect(isDataError(error) && error.code).toBe('TIMEOUT');
        expect(Date.now() - started).toBeLessThan(5_000);
        const gaveUp = events.find((e) => e.type === 'gave-up');
        expect(gaveUp).toMatchObject({ type: 'gave-up', giveUpAfterMs: 300 });
        expect((gaveUp as { elapsedMs: number }).elapsedMs).toBeGreaterThanOrEqual(250);
        expect(events.some((e) => e.type === 'filled')).toBe(false);
      });
    } finally {
      await slow.close();
    }
  });

  it('stops when its signal is aborted, with the pages stored so far kept', async () => {
    await withStore('abort', async (store) => {
      const controller = new AbortController();
      const source = binanceSource(
        store,
        { baseUrl: server.url, ...fast, pageSize: 100 },
        {
          signal: controller.signal,
          onProgress: (e) => {
            if (e.type === 'fetch-progress' && e.progress.pages === 3) controller.abort();
          },
        },
      );
      const error = await source.load({ symbol: 'BTCUSDT', interval: '1h', start: START }).catch((e) => e);
      expect(isDataError(error) && error.code).toBe('ABORTED');
      const stored = await store.count('BTCUSDT', '1h');
      expect(stored).toBeGreaterThanOrEqual(300);
      expect(stored).toBeLessThan(1500);
    });
  });
});

describe('binanceSource failures', () => {
  /** A local HTTP server answering every request with `status` (a port nobody listens on for 0). */
  async function answering(status: number): Promise<{ url: string; close(): Promise<void> }> {
    const http: Server = createServer((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end('{}');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const close = () => new Promise<void>((resolve) => http.close(() => resolve()));
    if (status === 0) await close();
    return { url, close: status === 0 ? async () => {} : close };
  }

  it("gives up with a small cause: the last failure's message, code and HTTP status, not axios' internals", async () => {
    await withStore('unreachable', async (store) => {
      for (const [status, cause] of [
        [0, { code: 'ECONNREFUSED' }],
        [500, { code: 'ERR_BAD_RESPONSE', status: 500 }],
      ] as const) {
        const exchange = await answering(status);
        try {
          const source = binanceSource(store, {
            baseUrl: exchange.url,
            ...fast,
            maxRetries: 1,
            now: () => UNTIL,
          });
          const error = await source
            .load({ symbol: 'BTCUSDT', interval: '1h', start: START, end: START + 10 * HOUR })
            .catch((caught: unknown) => caught);
          expect(isDataError(error) && error.code).toBe('NETWORK');
          const { cause: kept } = error as Error;
          expect(kept).toBeInstanceOf(Error);
          // Its own fields and nothing else: no request, socket, config nor response.
          expect({ ...(kept as object) }).toEqual(cause);
          expect((kept as Error).message).toMatch(status === 0 ? /ECONNREFUSED/ : /status code 500/);
          // What an unhandled rejection prints: about 400 lines with the axios error.
          expect(inspect(error).split('\n').length).toBeLessThan(60);
        } finally {
          await exchange.close();
        }
      }
    });
  });
});
