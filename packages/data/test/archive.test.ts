import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArchiveFileProgress,
  downloadArchive,
  fetchKlines,
  generateSampleMarket,
  isDataError,
  type Kline,
  KlineStore,
  planArchiveFiles,
} from '../src/index.js';
import { FakeBinance } from './helpers/fake-binance.js';
import { zipFiles } from './helpers/zip.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2024, 10, 1);
const NOW = Date.UTC(2025, 0, 3, 12, 30);
let directory: string;
let klines: Kline[];
const files = new Map<string, Buffer>();
const requested: string[] = [];
let failNext: string[] = [];
/** Paths answered with 200 and then one byte every 20 ms, never finishing. */
const trickle = new Set<string>();
let server: Server;
let baseUrl: string;
/** The REST API, serving `klines` as BTCUSDT 1h: where the candles start is asked of it. */
let exchange: FakeBinance;

/** An archive CSV line: headerless, times in ms or µs, Binance's decimals. */
function archiveLine(k: Kline, micro: boolean): string {
  const t = (ms: number) =>
    micro ? `${ms}${String(k.closeTime === ms ? 999 : 0).padStart(3, '0')}` : String(ms);
  return [
    t(k.openTime),
    k.open.toFixed(8),
    k.high.toFixed(8),
    k.low.toFixed(8),
    k.close.toFixed(8),
    k.volume.toFixed(8),
    t(k.closeTime),
    k.quoteAssetVolume.toFixed(8),
    k.numberOfTrades,
    k.takerBuyBaseAssetVolume.toFixed(8),
    k.takerBuyQuoteAssetVolume.toFixed(8),
    '0',
  ].join(',');
}

function publish(
  name: string,
  period: 'monthly' | 'daily',
  rows: Kline[],
  micro: boolean,
  checksum?: string,
): void {
  const csvName = name.replace(/\.zip$/, '.csv');
  const zip = zipFiles({ [csvName]: `${rows.map((k) => archiveLine(k, micro)).join('\n')}\n` });
  const symbol = name.slice(0, name.indexOf('-'));
  const path = `/data/spot/${period}/klines/${symbol}/1h/${name}`;
  files.set(path, zip);
  files.set(
    `${path}.CHECKSUM`,
    Buffer.from(`${checksum ?? createHash('sha256').update(zip).digest('hex')}  ${name}\n`),
  );
}

const between = (start: number, end: number) => klines.filter((k) => k.openTime >= start && k.openTime < end);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'archive-'));
  klines = generateSampleMarket({ count: 24 * 70, start: START, seed: 8 }).klines.filter(
    (k) => k.closeTime < NOW,
  );
  publish('BTCUSDT-1h-2024-11.zip', 'monthly', between(START, Date.UTC(2024, 11, 1)), false);
  publish('BTCUSDT-1h-2024-12.zip', 'monthly', between(Date.UTC(2024, 11, 1), Date.UTC(2025, 0, 1)), false);
  // Binance writes microseconds in files from 2025-01-01.
  publish('BTCUSDT-1h-2025-01-01.zip', 'daily', between(Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 2)), true);
  publish('BTCUSDT-1h-2025-01-02.zip', 'daily', between(Date.UTC(2025, 0, 2), Date.UTC(2025, 0, 3)), true);
  server = createServer((request, response) => {
    const path = request.url ?? '';
    requested.push(path);
    if (failNext.includes(path)) {
      failNext = failNext.filter((p) => p !== path);
      response.writeHead(503).end('busy');
      return;
    }
    if (trickle.has(path)) {
      response.writeHead(200, { 'content-type': 'application/zip' });
      const timer = setInterval(() => response.write('P'), 20);
      response.on('close', () => clearInterval(timer));
      return;
    }
    const body = files.get(path);
    if (!body) response.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
    else response.writeHead(200, { 'content-type': 'application/zip' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  exchange = await new FakeBinance().serve('BTCUSDT', '1h', klines).start();
});
afterAll(async () => {
  await exchange?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await rm(directory, { recursive: true, force: true });
});

describe('planArchiveFiles', () => {
  it('takes past months as monthly files and this month as daily files before today', () => {
    const plan = planArchiveFiles('BTCUSDT', '1h', [{ start: Date.UTC(2024, 10, 15), end: NOW }], NOW);
    expect(plan.map((f) => f.path)).toEqual([
      'data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-11.zip',
      'data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-12.zip',
      'data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2025-01-01.zip',
      'data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2025-01-02.zip',
    ]);
    expect(
      planArchiveFiles('BTCUSDT', '1M', [{ start: Date.UTC(2024, 0, 1), end: NOW }], NOW).at(-1)!.name,
    ).toBe('BTCUSDT-1mo-2024-12.zip');
  });
});

describe('downloadArchive', () => {
  it('loads verified monthly (ms) and daily (µs) files, then REST fills only the remainder', async () => {
    const store = await KlineStore.open(join(directory, 'archive.duckdb'));
    const rest = { baseUrl: exchange.url };
    try {
      const events: ArchiveFileProgress[] = [];
      failNext = ['/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-12.zip'];
      const result = await downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        store,
        baseUrl,
        now: () => NOW,
        retryBaseMs: 5,
        onProgress: (event) => events.push(event),
        rest,
      });
      expect(result).toEqual({ files: 4, missingFiles: [], rows: 24 * 63, microsecondFiles: 2 });
      expect(events.map((e) => e.status)).toEqual(['loaded', 'retrying', 'loaded', 'loaded', 'loaded']);
      expect(events.at(-1)!.timestampUnit).toBe('microseconds');
      const stored = await store.klines('BTCUSDT', '1h');
      expect(stored).toEqual(between(START, Date.UTC(2025, 0, 3)));
      expect(stored.find((k) => k.openTime === Date.UTC(2025, 0, 1))!.closeTime).toBe(
        Date.UTC(2025, 0, 1, 1) - 1,
      );

      const filled = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        store,
        baseUrl: exchange.url,
        now: () => NOW,
      });
      expect(filled.ranges).toEqual([{ start: Date.UTC(2025, 0, 3), end: NOW }]);
      expect(filled.rows).toBe(12);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(klines);

      // Nothing is missing any more: a second download asks for nothing.
      const before = requested.length;
      const again = await downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: START,
        store,
        baseUrl,
        now: () => NOW,
        rest,
      });
      expect(again.files).toBe(0);
      expect(requested.length).toBe(before);
    } finally {
      await store.close();
    }
  });

  it('falls back to daily files when a monthly file is not published yet', async () => {
    const store = await KlineStore.open(':memory:');
    try {
      // 2025-01 has no monthly file yet on 2025-02-02; its daily files for the 1st and 2nd exist.
      const result = await downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: Date.UTC(2025, 0, 1),
        until: Date.UTC(2025, 0, 3),
        store,
        baseUrl,
        now: () => Date.UTC(2025, 1, 2),
        rest: { baseUrl: exchange.url },
      });
      expect(result.missingFiles).toEqual(['BTCUSDT-1h-2025-01.zip']);
      expect(result.files).toBe(2);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(
        between(Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 3)),
      );
    } finally {
      await store.close();
    }
  });

  it('asks the REST API where a relisted pair resumes, and takes a month the archive lacks from its days', async () => {
    // Traded in January and February 2023, delisted from March to June, relisted in July. The
    // archive lacks February's monthly file (its days are there) and has nothing for March-June.
    const FEBRUARY = Date.UTC(2023, 1, 1);
    const MARCH = Date.UTC(2023, 2, 1);
    const JULY = Date.UTC(2023, 6, 1);
    const AUGUST = Date.UTC(2023, 7, 1);
    const early = generateSampleMarket({ count: 59 * 24, start: Date.UTC(2023, 0, 1), seed: 10 }).klines;
    const late = generateSampleMarket({ count: 31 * 24, start: JULY, seed: 11 }).klines;
    const series = [...early, ...late];
    const inSeries = (start: number, end: number) =>
      series.filter((k) => k.openTime >= start && k.openTime < end);
    publish('RELISTUSDT-1h-2023-01.zip', 'monthly', inSeries(Date.UTC(2023, 0, 1), FEBRUARY), false);
    for (let day = FEBRUARY; day < MARCH; day += DAY) {
      const name = `RELISTUSDT-1h-${new Date(day).toISOString().slice(0, 10)}.zip`;
      publish(name, 'daily', inSeries(day, day + DAY), false);
    }
    publish('RELISTUSDT-1h-2023-07.zip', 'monthly', inSeries(JULY, AUGUST), false);
    exchange.serve('RELISTUSDT', '1h', series);
    const store = await KlineStore.open(':memory:');
    try {
      const restBefore = exchange.requests;
      const archiveBefore = requested.length;
      const result = await downloadArchive({
        symbol: 'RELISTUSDT',
        interval: '1h',
        since: Date.UTC(2023, 0, 1),
        until: AUGUST,
        store,
        baseUrl,
        now: () => NOW,
        rest: { baseUrl: exchange.url },
      });
      expect(result).toEqual({
        files: 30,
        missingFiles: ['RELISTUSDT-1h-2023-02.zip', 'RELISTUSDT-1h-2023-03.zip'],
        rows: series.length,
        microsecondFiles: 0,
      });
      expect(await store.klines('RELISTUSDT', '1h')).toEqual(series);
      // Where the candles start (January), and where they resume after February and March.
      expect(exchange.requests - restBefore).toBe(3);
      const asked = requested.slice(archiveBefore).filter((path) => !path.endsWith('.CHECKSUM'));
      expect(asked).toHaveLength(1 + 1 + 28 + 1 + 1);
      expect(asked.filter((path) => /2023-0[456]|2023-03-/.test(path))).toEqual([]);
      // The months skipped are not recorded as empty: the REST fetch proves them.
      expect(
        await store.missingRanges('RELISTUSDT', '1h', { start: Date.UTC(2023, 0, 1), end: AUGUST }),
      ).toEqual([{ start: MARCH, end: JULY }]);
    } finally {
      exchange.forget('RELISTUSDT', '1h');
      await store.close();
    }
  });

  it('walks the archive when the REST API does not know the pair (the archive keeps delisted pairs)', async () => {
    const january = generateSampleMarket({ count: 31 * 24, start: Date.UTC(2023, 0, 1), seed: 12 }).klines;
    publish('GONEUSDT-1h-2023-01.zip', 'monthly', january, false);
    exchange.inject({ type: '500' });
    const store = await KlineStore.open(':memory:');
    try {
      const before = exchange.requests;
      const events: ArchiveFileProgress[] = [];
      const result = await downloadArchive({
        symbol: 'GONEUSDT',
        interval: '1h',
        since: Date.UTC(2023, 0, 1),
        until: Date.UTC(2023, 1, 3),
        store,
        baseUrl,
        now: () => NOW,
        rest: { baseUrl: exchange.url, retryBaseMs: 5 },
        onProgress: (event) => events.push(event),
      });
      expect(await store.klines('GONEUSDT', '1h')).toEqual(january);
      // The 500's retry is reported before the first file; the -1121 after it ends the asking.
      expect(events[0]).toMatchObject({ file: 'GONEUSDT-1h-2023-01.zip', status: 'waiting' });
      expect(events[0]!.message).toMatch(/Binance answered HTTP 500; retry 1 of 5/);
      expect(exchange.requests - before).toBe(2);
      expect(result.missingFiles).toEqual([
        'GONEUSDT-1h-2023-02.zip',
        'GONEUSDT-1h-2023-02-01.zip',
        'GONEUSDT-1h-2023-02-02.zip',
      ]);
    } finally {
      await store.close();
    }
  });

  it('refuses a file whose sha256 does not match its .CHECKSUM', async () => {
    publish('BTCUSDT-1h-2024-10.zip', 'monthly', between(START, START + DAY), false, 'ab'.repeat(32));
    const store = await KlineStore.open(':memory:');
    try {
      const error = await downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: Date.UTC(2024, 9, 1),
        until: Date.UTC(2024, 10, 1),
        store,
        baseUrl,
        now: () => NOW,
        maxRetries: 1,
        retryBaseMs: 5,
        // Not the exchange's candles: no REST request, every planned file is asked for.
        rest: false,
      }).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('CHECKSUM_MISMATCH');
      expect(error.message).toMatch(
        /BTCUSDT-1h-2024-10.zip: sha256 [0-9a-f]{64} does not match its .CHECKSUM \(abab/,
      );
      expect(await store.count('BTCUSDT', '1h')).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('records a file as answered only up to its last candle', async () => {
    // September's file ends on the 20th: the days after it are not proven empty by it.
    const september = generateSampleMarket({ count: 19 * 24, start: Date.UTC(2024, 8, 1), seed: 9 }).klines;
    publish('BTCUSDT-1h-2024-09.zip', 'monthly', september, false);
    const store = await KlineStore.open(':memory:');
    try {
      const wanted = { start: Date.UTC(2024, 8, 1), end: Date.UTC(2024, 9, 1) };
      const result = await downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: wanted.start,
        until: wanted.end,
        store,
        baseUrl,
        now: () => NOW,
        rest: false,
      });
      expect(result.rows).toBe(19 * 24);
      expect(await store.coverage('BTCUSDT', '1h')).toEqual([
        { start: wanted.start, end: Date.UTC(2024, 8, 20) },
      ]);
      expect(await store.missingRanges('BTCUSDT', '1h', wanted)).toEqual([
        { start: Date.UTC(2024, 8, 20), end: wanted.end },
      ]);
    } finally {
      await store.close();
    }
  });

  it('gives up on the whole download after giveUpAfterMs with TIMEOUT', async () => {
    const path = '/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-08.zip';
    trickle.add(path);
    const store = await KlineStore.open(':memory:');
    try {
      const error = await downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: Date.UTC(2024, 7, 1),
        until: Date.UTC(2024, 8, 1),
        store,
        baseUrl,
        now: () => NOW,
        giveUpAfterMs: 300,
        rest: false,
      }).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('TIMEOUT');
      expect(error.message).toMatch(
        /^Gave up after 0.3 s \(giveUpAfterMs, the limit for the whole run\): 0 files .*run again to resume/,
      );
    } finally {
      trickle.delete(path);
      await store.close();
    }
  });

  it('refuses a start after the end', async () => {
    const store = await KlineStore.open(':memory:');
    await expect(
      downloadArchive({ symbol: 'BTCUSDT', interval: '1h', since: NOW, until: NOW - HOUR, store, baseUrl }),
    ).rejects.toThrow(/is not before until/);
    await expect(
      downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: NOW - HOUR,
        store,
        baseUrl,
        retries: 1,
      } as never),
    ).rejects.toThrow(/^unknown key retries in downloadArchive options \(the keys there are maxRetries, /);
    await expect(
      downloadArchive({
        symbol: 'BTCUSDT',
        interval: '1h',
        since: NOW - HOUR,
        store,
        baseUrl,
        rest: { url: 'x' },
      } as never),
    ).rejects.toThrow(/unknown key url in downloadArchive options.rest/);
    await store.close();
  });
});
