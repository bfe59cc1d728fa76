import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import { type Kline, sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * fetch and run --source binance against a fake Binance on 127.0.0.1 (GET /api/v3/klines with
 * the real query parameters and array layout). Its first answer is a 429 with Retry-After, so
 * the wait must show as a wait. The binary runs as a child process, not a terminal.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);
let klines: Kline[];
let server: Server;
let baseUrl: string;
/** BTCUSDT kline requests answered (the first gets a 429). */
let requests = 0;
/** Kline requests per symbol. */
const symbolRequests = new Map<string, number>();
let work: string;
/** Archive paths asked for (GET /data/spot/...), in order. */
const archiveRequests: string[] = [];
/** The archive's files: only January 2024 is published. */
const archive = new Map<string, Buffer>();

/** A one-file zip (deflate), the way the Binance archive packs a month's CSV. */
function zipOne(name: string, text: string): Buffer {
  const data = Buffer.from(text, 'utf8');
  const compressed = deflateRawSync(data);
  const nameBytes = Buffer.from(name, 'utf8');
  const header = (signature: number, size: number, central: boolean) => {
    const b = Buffer.alloc(size);
    b.writeUInt32LE(signature, 0);
    const at = central ? 2 : 0; // the central header has one more field (version made by)
    if (central) b.writeUInt16LE(20, 4);
    b.writeUInt16LE(20, 4 + at);
    b.writeUInt16LE(8, 8 + at);
    b.writeUInt32LE(crc32(data), 14 + at);
    b.writeUInt32LE(compressed.length, 18 + at);
    b.writeUInt32LE(data.length, 22 + at);
    b.writeUInt16LE(nameBytes.length, 26 + at);
    return b;
  };
  const local = header(0x04034b50, 30, false);
  const central = header(0x02014b50, 46, true); // local header offset 0
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(local.length + nameBytes.length + compressed.length, 16);
  return Buffer.concat([local, nameBytes, compressed, central, nameBytes, end]);
}

function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, CI: 'true' }, cwd: work });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A kline as Binance's REST API and archive CSV lay it out. */
function toRow(k: Kline): (number | string)[] {
  return [
    k.openTime,
    String(k.open),
    String(k.high),
    String(k.low),
    String(k.close),
    String(k.volume),
    k.closeTime,
    String(k.quoteAssetVolume),
    k.numberOfTrades,
    String(k.takerBuyBaseAssetVolume),
    String(k.takerBuyQuoteAssetVolume),
    '0',
  ];
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cli-fetch-'));
  klines = await sampleSource({ count: 1500, start: START }).load({ symbol: 'BTCUSDT', interval: '1h' });
  const january = klines.filter((k) => k.openTime < Date.UTC(2024, 1, 1));
  const csv = january.map((k) => toRow(k).join(',')).join('\n');
  const zip = zipOne('BTCUSDT-1h-2024-01.csv', `${csv}\n`);
  const monthPath = '/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip';
  archive.set(monthPath, zip);
  archive.set(
    `${monthPath}.CHECKSUM`,
    Buffer.from(`${createHash('sha256').update(zip).digest('hex')}  BTCUSDT-1h-2024-01.zip\n`),
  );
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/data/spot/')) {
      archiveRequests.push(url.pathname);
      const file = archive.get(url.pathname);
      if (file) response.writeHead(200, { 'content-type': 'application/zip' }).end(file);
      else response.writeHead(404).end();
      return;
    }
    if (url.pathname === '/api/v3/time') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ serverTime: Date.now() }));
      return;
    }
    if (url.pathname !== '/api/v3/klines') {
      response.writeHead(404).end();
      return;
    }
    const symbol = url.searchParams.get('symbol') ?? '';
    const asked = (symbolRequests.get(symbol) ?? 0) + 1;
    symbolRequests.set(symbol, asked);
    // ETHUSDT: two 500s first; SOLUSDT: the first answer trickles; XRPUSDT: every answer trickles.
    if (symbol === 'ETHUSDT' && asked <= 2) {
      response.writeHead(500, { 'content-type': 'text/html' }).end('<html>Internal Server Error</html>');
      return;
    }
    if ((symbol === 'SOLUSDT' && asked === 1) || symbol === 'XRPUSDT') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('[');
      const timer = setInterval(() => response.write(' '), 20);
      response.on('close', () => clearInterval(timer));
      return;
    }
    if (symbol === 'BTCUSDT') requests++;
    if (symbol === 'BTCUSDT' && requests === 1) {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      response.end(JSON.stringify({ code: -1003, msg: 'Too many requests.' }));
      return;
    }
    const start = Number(url.searchParams.get('startTime') ?? 0);
    const end = Number(url.searchParams.get('endTime') ?? Number.MAX_SAFE_INTEGER);
    const limit = Number(url.searchParams.get('limit') ?? 500);
    // GAPUSDT: an outage, candles 100-149 never served.
    const outage = (k: { openTime: number }) =>
      symbol === 'GAPUSDT' && k.openTime >= START + 100 * HOUR && k.openTime < START + 150 * HOUR;
    const page = klines
      .filter((k) => k.openTime >= start && k.openTime <= end && symbol !== 'NOPEUSDT' && !outage(k))
      .slice(0, limit)
      .map(toRow);
    response.writeHead(200, {
      'content-type': 'application/json',
      'x-mbx-used-weight-1m': String(2 * requests),
    });
    response.end(JSON.stringify(page));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('crypto-anomaly fetch', () => {
  it('fills the store, shows the rate-limit wait as a wait, exports a CSV, then resumes with nothing to do', async () => {
    const store = join(work, 'store.duckdb');
    const csv = join(work, 'BTCUSDT-1h.csv');
    const until = String(START + 1500 * HOUR);
    const args = [
      'fetch',
      '--symbol',
      'BTCUSDT',
      '--interval',
      '1h',
      '--since',
      '2024-01-01',
      '--until',
      until,
    ];
    const first = await cli(...args, '--base-url', baseUrl, '--store', store, '--csv', csv);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^fetch: waiting 1\.0s \(rate-limit/m);
    expect(first.stdout).toMatch(/^fetch: done, 2 pages, 1,500 rows/m);
    expect(first.stdout).toMatch(/holds 1,500 BTCUSDT 1h candles/);
    expect(first.stdout.includes('\u001b') || first.stdout.includes('\r')).toBe(false);
    expect(readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(1501);

    const before = requests;
    const again = await cli(...args, '--base-url', baseUrl, '--store', store);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/fetch: 0 new rows/);
    expect(requests).toBe(before);
  });

  it('says what the range holds, from when to when, and the gaps the exchange has no candles for', async () => {
    const result = await cli(
      'fetch',
      '--symbol',
      'GAPUSDT',
      '--interval',
      '1h',
      '--since',
      '2024-01-01',
      '--until',
      String(START + 300 * HOUR),
      '--base-url',
      baseUrl,
      '--store',
      join(work, 'gap-store.duckdb'),
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /holds 250 GAPUSDT 1h candles in the range, 2024-01-01 00:00 to 2024-01-13 11:00 UTC/,
    );
    expect(result.stderr).toMatch(
      /store: 50 candles missing in 1 gap the exchange has no candles for: 2024-01-05 04:00 \(50\)/,
    );
    expect(JSON.parse(result.stdout).gaps).toEqual([{ from: '2024-01-05T04:00:00.000Z', missing: 50 }]);
  });

  it('--csv refuses an existing file it did not write before downloading (exit 2), and replaces its own', async () => {
    const notes = join(work, 'notes.csv');
    writeFileSync(notes, 'name,amount\nrent,900\n');
    const args = [
      'fetch',
      '--symbol',
      'BTCUSDT',
      '--interval',
      '1h',
      '--since',
      '2024-01-01',
      '--until',
      String(START + 200 * HOUR),
      '--base-url',
      baseUrl,
      '--store',
      join(work, 'csv-store.duckdb'),
    ];
    const before = requests;
    const refused = await cli(...args, '--csv', 'notes.csv');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^error: --csv: .*notes\.csv already exists and is not a kline CSV/m);
    expect(refused.stderr).toMatch(/Name another file with --csv, or move this one aside/);
    expect(readFileSync(notes, 'utf8')).toBe('name,amount\nrent,900\n');
    expect(requests).toBe(before);
    expect(existsSync(join(work, 'csv-store.duckdb'))).toBe(false);
    // A path under a file: named, exit 2, before any download.
    const underFile = await cli(...args, '--csv', 'notes.csv/btc.csv');
    expect(underFile.status).toBe(2);
    expect(underFile.stderr).toMatch(/^error: --csv .*notes\.csv\/btc\.csv cannot be written \(ENOTDIR/m);
    expect(requests).toBe(before);

    const own = join(work, 'own.csv');
    expect((await cli(...args, '--csv', own)).status).toBe(0);
    const again = await cli(...args, '--csv', own);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/csv: wrote 200 rows/);
    expect(readFileSync(own, 'utf8').trim().split('\n')).toHaveLength(201);
  });

  it('exits 2 without --since, naming it', async () => {
    const result = await cli('fetch', '--symbol', 'BTCUSDT', '--interval', '1h');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: --since is required\n/);
  });
});

describe('crypto-anomaly fetch deadlines and waits', () => {
  const range = (symbol: string) => [
    'fetch',
    '--symbol',
    symbol,
    '--interval',
    '1h',
    '--since',
    '2024-01-01',
    '--until',
    String(START + 100 * HOUR),
    '--base-url',
    baseUrl,
    '--store',
    join(work, `${symbol}.duckdb`),
  ];

  it('prints every retry, not only the first', async () => {
    const result = await cli(...range('ETHUSDT'));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^fetch: waiting .*\(retry: Binance answered HTTP 500; retry 1 of 5 in/m);
    expect(result.stdout).toMatch(/^fetch: waiting .*\(retry: Binance answered HTTP 500; retry 2 of 5 in/m);
    expect(result.stdout).toMatch(/^fetch: done, 1 pages, 100 rows/m);
  });

  it('--request-timeout bounds a request that trickles, and the retry says why', async () => {
    const result = await cli(...range('SOLUSDT'), '--request-timeout', '0.3');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /^fetch: waiting .*\(retry: no complete answer within 0.3 s \(requestTimeoutMs, the deadline of one request\); retry 1 of 5/m,
    );
    expect(result.stdout).toMatch(/^fetch: done, 1 pages, 100 rows/m);
  });

  it('--give-up-after stops the whole fetch, saying so, with exit 1', async () => {
    const result = await cli(...range('XRPUSDT'), '--request-timeout', '60', '--give-up-after', '0.5');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /^fetch: gave up after .*the limit for the whole fetch, archive included, is 500ms/m,
    );
    expect(result.stderr).toMatch(/^error: Gave up after 0\.\d s \(giveUpAfterMs/m);
    expect(result.stderr).toMatch(/^hint: .*raise --give-up-after/m);
  });

  it('calls a damaged store damaged, says how to rebuild it, and leaves the file', async () => {
    const store = join(work, 'damaged.duckdb');
    // A DuckDB file's signature ("DUCK" at byte 8), then garbage: a store damaged, not a file of
    // another program's (that one is refused as not a store, exit 2).
    const garbage = Buffer.alloc(20_000, 7);
    garbage.write('DUCK', 8, 'latin1');
    writeFileSync(store, garbage);
    const result = await cli(...range('ETHUSDT').slice(0, -2), '--store', store);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: The kline store at .*damaged\.duckdb is damaged/m);
    expect(result.stderr).toMatch(
      /^hint: the store file is damaged .*run crypto-anomaly fetch again to rebuild it/m,
    );
    expect(result.stderr).not.toMatch(/another process/i);
    expect(readFileSync(store).equals(garbage)).toBe(true);
  });

  it('refuses a deadline that is not a number of seconds', async () => {
    const result = await cli(...range('ETHUSDT'), '--give-up-after', 'soon');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--give-up-after.*Expected a number of seconds above 0/);
  });
});

describe('crypto-anomaly run --source binance', () => {
  it('fetches what the store lacks, then runs the pipeline on the stored candles', async () => {
    const store = join(work, 'run-store.duckdb');
    const out = join(work, 'binance-run');
    const result = await cli(
      'run',
      '--source',
      'binance',
      '--since',
      '2024-01-01',
      '--until',
      String(START + 1500 * HOUR),
      '--base-url',
      baseUrl,
      '--store',
      store,
      '--epochs',
      '1',
      '--no-charts',
      '--out',
      out,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/fetch: done, \d+ pages, 1,500 rows/);
    expect(result.stdout).toMatch(/source: local kline store/);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
  });

  it('with --archive, loads the archive files first and fetches only the rest over REST', async () => {
    const store = join(work, 'archive-run-store.duckdb');
    const before = archiveRequests.length;
    const result = await cli(
      'run',
      '--source',
      'binance',
      '--since',
      '2024-01-01',
      '--until',
      String(START + 1500 * HOUR),
      '--base-url',
      baseUrl,
      '--archive',
      '--archive-base-url',
      baseUrl,
      '--store',
      store,
      '--epochs',
      '1',
      '--no-charts',
      '--out',
      join(work, 'archive-run'),
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/archive: BTCUSDT-1h-2024-01\.zip loaded/);
    expect(result.stdout).toMatch(/archive: 744 rows from \d+ files/);
    // January came from the archive: the REST API is asked only for the 756 hours after it.
    expect(result.stdout).toMatch(/fetch: done, \d+ pages, 756 rows/);
    expect(archiveRequests.slice(before)).toContain(
      '/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip',
    );
    expect(existsSync(join(work, 'archive-run', 'summary.json'))).toBe(true);
  });

  it('exits 2 when --archive is given without --source binance', async () => {
    const result = await cli('run', '--archive', '--epochs', '1');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--archive is only read with --source binance \(the source is sample\)/);
  });
});
