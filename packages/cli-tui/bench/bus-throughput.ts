/**
 * Candles scored per second by 1 and 2 workers, and the lag from a candle stored on the bus to its
 * score stored (p50 / p99), on a real nats-server and the built binary, all three detectors.
 * Run from packages/cli-tui after a build: npx tsx bench/bus-throughput.ts [pairs] [candles] [speed]
 * The rate is the scores stored between the server's first and last timestamp, so process start-up
 * and model loading are not counted. The lag is measured with ingest replaying at `speed` times
 * real time while the workers run (the candles of all pairs closing together each step).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleMarket, writeKlinesCsv } from '@crypto-anomaly/data';
import { busClient, run, start, startNatsServer, stop, waitFor } from '../test/helpers/nats-server.js';

const pairs = Number(process.argv[2] ?? 50);
const candles = Number(process.argv[3] ?? 300);
const speed = process.argv[4] ?? '600';
/** Candles each pair's scorer takes before its first score (read from the first run's workers). */
let warmUp: number | undefined;
const work = mkdtempSync(join(tmpdir(), 'bus-bench-'));
const files: string[] = [];
for (let i = 0; i < pairs; i++) {
  const symbol = `P${String(i).padStart(3, '0')}USDT`;
  const file = join(work, `${symbol}-1m.csv`);
  await writeKlinesCsv(
    file,
    generateSampleMarket({ symbol, interval: '1m', count: candles, seed: i + 1 }).klines,
  );
  files.push(file);
}
const trained = run(
  work,
  'train',
  '--symbol',
  'P000USDT',
  '--interval',
  '1m',
  '--epochs',
  '1',
  '--no-charts',
  '--out',
  'model',
);
if (trained.status !== 0) throw new Error(trained.stderr);
const at = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function measure(workers: number, mode: 'preloaded' | 'trickle') {
  const server = await startNatsServer();
  try {
    if (mode === 'preloaded') run(work, 'ingest', '--bus', server.url, '--replay', files.join(','));
    const flags = ['--model', 'model', '--model-for-all', '--lease-ttl', '5s'];
    const running = Array.from({ length: workers }, (_, i) =>
      start(work, 'worker', '--bus', server.url, ...flags, '--name', `b${i}`),
    );
    const client = await busClient(server.url);
    if (mode === 'trickle') {
      // The workers own their pairs before the first candle comes.
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      const ingest = start(
        work,
        'ingest',
        '--bus',
        server.url,
        '--replay',
        files.join(','),
        '--speed',
        speed,
      );
      await ingest.exited;
    }
    if (warmUp === undefined) {
      await waitFor('the pairs claimed', () =>
        running.some((worker) => /warmed up on \d+ candles/.test(worker.stderr())),
      );
      warmUp = Number(
        /warmed up on (\d+) candles/.exec(running.map((worker) => worker.stderr()).join('\n'))![1],
      );
    }
    const expected = pairs * (candles - warmUp);
    await waitFor('every candle scored', async () => (await client.count('SCORES')) >= expected, 1_800_000);
    for (const worker of running) await stop(worker);
    const scores = await client.read('SCORES');
    await client.close();
    const times = scores.map((message) => message.storedAt).sort((a, b) => a - b);
    const lags = scores
      .map((message) => message.storedAt - Number(message.headers['Ca-Kline-Stored-At']))
      .sort((a, b) => a - b);
    return {
      workers,
      mode,
      scores: scores.length,
      perSecond: Math.round((scores.length - 1) / ((times.at(-1)! - times[0]!) / 1000)),
      lagP50Ms: Math.round(at(lags, 0.5)),
      lagP99Ms: Math.round(at(lags, 0.99)),
    };
  } finally {
    await server.dispose();
  }
}

try {
  for (const workers of [1, 2]) console.log(JSON.stringify(await measure(workers, 'preloaded')));
  for (const workers of [1, 2]) console.log(JSON.stringify(await measure(workers, 'trickle')));
} finally {
  rmSync(work, { recursive: true, force: true });
}
