/**
 * Training fan-out on the bus: `train --bus` for 8 pairs of 1h candles (the sample market of each
 * pair, 5,000 candles, default settings: all three detectors) with 1 and then 2 workers, on a real
 * nats-server and the built binary. Prints the wall time of the train command (jobs queued to the
 * last model stored) for each worker count.
 * Run from packages/cli-tui after a build: npx tsx bench/bus-train-fanout.ts [pairs]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, start, startNatsServer, stop } from '../test/helpers/nats-server.js';

const pairs = Number(process.argv[2] ?? 8);
const symbols = Array.from({ length: pairs }, (_, i) => `P${String(i).padStart(3, '0')}USDT`).join(',');
const work = mkdtempSync(join(tmpdir(), 'bus-train-bench-'));
const results: string[] = [];
for (const workers of [1, 2]) {
  const server = await startNatsServer();
  const running = Array.from({ length: workers }, (_, i) =>
    start(
      work,
      'worker',
      '--bus',
      server.url,
      '--name',
      `t${i}`,
      '--model-cache',
      join(work, `cache-${workers}-${i}`),
    ),
  );
  try {
    // The workers subscribe to the job queue before the first job is queued.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const started = performance.now();
    const trained = run(work, 'train', '--bus', server.url, '--symbols', symbols, '--interval', '1h');
    const seconds = (performance.now() - started) / 1000;
    if (trained.status !== 0) throw new Error(trained.stderr);
    const done = trained.stdout.split('\n').filter((line) => line.includes('"done"')).length;
    results.push(`${workers} worker(s): ${pairs} pairs trained in ${seconds.toFixed(1)} s (${done} done)`);
  } finally {
    for (const worker of running) await stop(worker);
    await server.stop();
  }
}
console.log(results.join('\n'));
rmSync(work, { recursive: true, force: true });
