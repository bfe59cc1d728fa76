/**
 * Replay throughput of `crypto-anomaly watch` through the built binary: candles scored per second
 * at --speed max, for 1 pair and for 50 pairs sharing one model (--model-for-all), each replay into
 * a new DuckDB store, off a terminal. The sample market stands in for real candles (1h, offline).
 *
 *   npx tsc -p tsconfig.build.json && npx tsx bench/watch-throughput.ts [--pairs 1,50] [--candles 2000,300]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, writeKlinesCsv } from '@crypto-anomaly/data';

const bin = process.env['BENCH_BIN'] ?? fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };

function flag(name: string, fallback: string): number[] {
  const at = process.argv.indexOf(name);
  return (at >= 0 ? process.argv[at + 1]! : fallback).split(',').map(Number);
}
const pairCounts = flag('--pairs', '1,50');
const candleCounts = flag('--candles', '2000,300');

const work = mkdtempSync(join(tmpdir(), 'watch-bench-'));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env,
    cwd: work,
    timeout: 1_800_000,
    maxBuffer: 1 << 30,
  });

const train = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1h', count: 1_000, seed: 1 }).klines;
await writeKlinesCsv(join(work, 'train.csv'), train);
const trained = cli(
  'train',
  '--source',
  'csv',
  '--input',
  'train.csv',
  '--symbol',
  'BTCUSDT',
  '--interval',
  '1h',
  '--epochs',
  '1',
  '--no-charts',
  '--out',
  'model',
);
if (trained.status !== 0) throw new Error(trained.stderr);

for (const [index, pairs] of pairCounts.entries()) {
  const count = candleCounts[index] ?? candleCounts.at(-1)!;
  const files: string[] = [];
  for (let p = 0; p < pairs; p++) {
    const symbol = `P${String(p).padStart(3, '0')}USDT`;
    const klines = generateSampleMarket({ symbol, interval: '1h', count, seed: 100 + p }).klines;
    const file = join(work, `${symbol}-1h.csv`);
    await writeKlinesCsv(file, klines);
    files.push(file);
  }
  const store = join(work, `bench-${pairs}.duckdb`);
  const started = performance.now();
  const result = cli(
    'watch',
    '--replay',
    files.join(','),
    '--model',
    'model',
    '--model-for-all',
    '--store',
    store,
    '--json',
    '--cooldown',
    '0',
  );
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0)
    throw new Error(`exit ${result.status} ${result.signal ?? ''}: ${result.stderr.slice(-3000)}`);
  const status = result.stdout
    .split('\n')
    .filter((line) => line.includes('"type":"status"'))
    .map((line) => JSON.parse(line) as { candles: number })
    .at(-1)!;
  console.log(
    `${pairs} pair${pairs === 1 ? '' : 's'} x ${count} candles: ${status.candles} scored in ${seconds.toFixed(1)} s (process included) = ${Math.round(status.candles / seconds)} candles/s`,
  );
}
rmSync(work, { recursive: true, force: true });
