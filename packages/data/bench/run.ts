/**
 * The package's benchmarks, one run each, figures printed for the README:
 * - rows/s from a local Binance-like server (own process) into a DuckDB store (fetchKlines);
 * - CSV import rows/s for ../shared/data/binance/BTCUSDT_1h.csv: parsing only, and into a store;
 * - sample-market generation rows/s.
 * Usage: pnpm --filter @crypto-anomaly/data bench [path/to/BTCUSDT_1h.csv]
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, importCsv, KlineStore, readKlinesCsvBatches } from '../src/index.js';
import { fetchThroughput } from './fetch-throughput.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const csvPath = process.argv[2] ?? resolve(repoRoot, '../shared/data/binance/BTCUSDT_1h.csv');

const rate = (rows: number, seconds: number) =>
  `${Math.round(rows / seconds).toLocaleString('en-US')} rows/s`;

console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`);

{
  const r = await fetchThroughput(100_000);
  console.log(
    `fetch (local server -> store): ${r.rows} rows, ${r.pages} pages in ${r.seconds.toFixed(2)} s = ${rate(r.rows, r.seconds)}`,
  );
}

if (existsSync(csvPath)) {
  let rows = 0;
  let t0 = performance.now();
  for await (const batch of readKlinesCsvBatches(csvPath)) rows += batch.length;
  let seconds = (performance.now() - t0) / 1000;
  console.log(`CSV parse ${csvPath}: ${rows} rows in ${seconds.toFixed(2)} s = ${rate(rows, seconds)}`);
  const directory = await mkdtemp(join(tmpdir(), 'csv-bench-'));
  const store = await KlineStore.open(join(directory, 'bench.duckdb'));
  try {
    t0 = performance.now();
    const result = await importCsv(store, csvPath);
    seconds = (performance.now() - t0) / 1000;
    console.log(
      `CSV import into store: ${result.rows} rows in ${seconds.toFixed(2)} s = ${rate(result.rows, seconds)}`,
    );
  } finally {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  }
} else {
  console.log(`CSV benchmark skipped: ${csvPath} not found (pass its path as the first argument).`);
}

{
  const t0 = performance.now();
  const market = generateSampleMarket({ count: 100_000 });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `sample market: ${market.klines.length} candles in ${seconds.toFixed(2)} s = ${rate(market.klines.length, seconds)}`,
  );
}
