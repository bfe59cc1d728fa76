import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchKlines, generateSampleMarket, type Kline, KlineStore } from '../src/index.js';
import { FakeBinance } from './helpers/fake-binance.js';

const here = dirname(fileURLToPath(import.meta.url));
const HOUR = 3_600_000;
let directory: string;
let server: FakeBinance;
let klines: Kline[];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'resume-'));
  klines = generateSampleMarket({ count: 40_000, start: Date.UTC(2019, 0, 1), seed: 21 }).klines;
  server = await new FakeBinance().serve('BTCUSDT', '1h', klines).start();
});
afterAll(async () => {
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('a fetch killed with SIGKILL', () => {
  it.each([
    [12, 0],
    [20, 3],
  ])('resumes to the same table (killed after request %i, +%i ms)', async (killAfter, delayMs) => {
    const path = join(directory, `killed-${killAfter}.duckdb`);
    const since = klines[0]!.openTime;
    const until = klines.at(-1)!.openTime + HOUR;
    const now = until + 10 * HOUR;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'fixtures', 'fetch-child.ts'),
        server.url,
        path,
        String(since),
        String(until),
        String(now),
      ],
      { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const first = server.requests;
    server.onRequest = () => {
      if (server.requests - first === killAfter) {
        // Kill while the child holds this answer and the previous page may be mid-transaction.
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    };
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    server.onRequest = undefined;
    expect(signal, output).toBe('SIGKILL');
    expect(code).toBeNull();
    expect(output).not.toMatch(/done/);

    const store = await KlineStore.open(path);
    try {
      const partial = await store.count('BTCUSDT', '1h');
      expect(partial % 1000).toBe(0); // whole pages only
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(klines.length);
      const result = await fetchKlines({
        symbol: 'BTCUSDT',
        interval: '1h',
        since,
        until,
        now: () => now,
        store,
        baseUrl: server.url,
      });
      expect(result.rows).toBe(klines.length - partial);
      expect(await store.count('BTCUSDT', '1h')).toBe(klines.length);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(klines);
    } finally {
      await store.close();
    }
  });
});
