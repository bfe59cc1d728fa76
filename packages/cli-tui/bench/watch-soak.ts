/**
 * Memory soak of `crypto-anomaly watch`: a day of 1m candles for 200 pairs (one model shared,
 * --model-for-all), replayed at --speed max through the built binary off a terminal, its resident
 * memory sampled from /proc every 2 s. Memory should stay flat: the report compares the resident
 * size at each quarter of the run (after the warm-up) and fails when the last quarter's peak is more
 * than 25% above the first quarter's.
 *
 *   npx tsc -p tsconfig.build.json && npx tsx bench/watch-soak.ts [--pairs 200] [--candles 1440]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, writeKlinesCsv } from '@crypto-anomaly/data';

const bin = process.env['BENCH_BIN'] ?? fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
const flag = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const pairs = flag('--pairs', 200);
const candles = flag('--candles', 1_440);
const warmup = 60;

const work = mkdtempSync(join(tmpdir(), 'watch-soak-'));
const train = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1m', count: 2_000, seed: 1 }).klines;
await writeKlinesCsv(join(work, 'train.csv'), train);
const trained = spawnSync(
  process.execPath,
  [bin, 'train', '--source', 'csv', '--input', 'train.csv', '--symbol', 'BTCUSDT', '--interval', '1m'].concat(
    ['--epochs', '2', '--no-charts', '--out', 'models/BTCUSDT_1m'],
  ),
  { encoding: 'utf8', env, cwd: work },
);
if (trained.status !== 0) throw new Error(trained.stderr);

const files: string[] = [];
for (let p = 0; p < pairs; p++) {
  const symbol = `P${String(p).padStart(3, '0')}USDT`;
  const market = generateSampleMarket({ symbol, interval: '1m', count: candles + warmup, seed: 100 + p });
  const file = join(work, `${symbol}-1m.csv`);
  await writeKlinesCsv(file, market.klines);
  files.push(file);
}

const started = performance.now();
const child = spawn(
  process.execPath,
  [bin, 'watch', '--replay', files.join(','), '--model', 'models/BTCUSDT_1m', '--model-for-all'].concat([
    '--interval',
    '1m',
    '--speed',
    'max',
    '--json',
    '--cooldown',
    '0',
    '--store',
    'soak.duckdb',
  ]),
  { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
);
let alerts = 0;
child.stdout.on('data', (chunk: Buffer) => {
  alerts += chunk
    .toString()
    .split('\n')
    .filter((line) => line.includes('"id"')).length;
});
let stderr = '';
child.stderr.on('data', (chunk: Buffer) => {
  stderr += chunk.toString();
});
const samples: { seconds: number; rssMb: number }[] = [];
const timer = setInterval(() => {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    if (kb > 0) samples.push({ seconds: (performance.now() - started) / 1000, rssMb: kb / 1024 });
  } catch {}
}, 2_000);
const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
clearInterval(timer);
const seconds = (performance.now() - started) / 1000;
if (code !== 0) throw new Error(`watch exited ${code}: ${stderr.slice(-2_000)}`);

const quarter = (q: number) => {
  const part = samples.filter((s) => s.seconds >= (seconds * q) / 4 && s.seconds < (seconds * (q + 1)) / 4);
  return Math.max(...part.map((s) => s.rssMb));
};
const peaks = [0, 1, 2, 3].map(quarter);
console.log(
  `watch --replay, ${pairs} pairs x ${candles} 1m candles (${pairs * candles} scored after a warm-up of ${warmup}), ` +
    `all three detectors, one shared model: ${seconds.toFixed(0)} s, ${((pairs * candles) / seconds).toFixed(0)} candles/s, ${alerts} alerts`,
);
console.log(
  `resident memory, peak per quarter of the run (MB): ${peaks.map((p) => p.toFixed(0)).join(' / ')}`,
);
const growth = peaks[3]! / peaks[0]! - 1;
console.log(`growth from the first to the last quarter: ${(growth * 100).toFixed(1)}%`);
rmSync(work, { recursive: true, force: true });
process.exitCode = growth > 0.25 ? 1 : 0;
