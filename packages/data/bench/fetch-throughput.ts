/**
 * Rows per second from a local Binance-like HTTP server (its own process, as the exchange is)
 * into a DuckDB store in a temp folder, through fetchKlines: HTTP, JSON, checks, one transaction
 * per 1000-row page.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fetchKlines, generateSampleMarket, KlineStore } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

export async function fetchThroughput(
  count = 100_000,
): Promise<{ rows: number; pages: number; seconds: number; rowsPerSecond: number }> {
  // Bundled benchmarks (for a machine without the workspace) ship the server as plain JS.
  const bundled = join(here, 'fake-binance-process.mjs');
  const args = existsSync(bundled) ? [bundled] : ['--import', 'tsx', join(here, 'fake-binance-process.ts')];
  const child = spawn(process.execPath, [...args, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: join(here, '..'),
  });
  const [url] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const klines = generateSampleMarket({ count, interval: '1m', start: Date.UTC(2020, 0, 1), seed: 5 }).klines;
  const directory = await mkdtemp(join(tmpdir(), 'fetch-bench-'));
  const store = await KlineStore.open(join(directory, 'bench.duckdb'));
  try {
    const after = klines.at(-1)!.closeTime + 1;
    const t0 = performance.now();
    const result = await fetchKlines({
      symbol: 'BTCUSDT',
      interval: '1m',
      since: klines[0]!.openTime,
      until: after,
      store,
      baseUrl: url,
      now: () => after + 3 * 60_000,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (result.rows !== count || (await store.count('BTCUSDT', '1m')) !== count) {
      throw new Error(`expected ${count} rows, stored ${result.rows}`);
    }
    return { rows: result.rows, pages: result.pages, seconds, rowsPerSecond: result.rows / seconds };
  } finally {
    child.kill('SIGTERM');
    await store.close();
    await rm(directory, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('fetch-throughput.ts')) {
  const r = await fetchThroughput();
  console.log(
    `fetch: ${r.rows} rows, ${r.pages} pages in ${r.seconds.toFixed(2)} s = ${Math.round(r.rowsPerSecond)} rows/s`,
  );
}
