/**
 * Where the attention autoencoder's pipeline stage spends its CPU time, on real hourly candles
 * (../shared/data/binance/BTCUSDT_1h.csv, 72,866 rows: 51k training, 10.9k validation rows):
 * an epoch's training steps, the epoch's validation loss over every window vs over the default
 * `maxValidationWindows` sample, and scoring every row.
 *
 *   pnpm exec tsx bench/attention-stage.ts [--data ../../../shared/data] [--epochs 2]
 *
 * CPU time of this process (process.cpuUsage, every thread), so a loaded machine changes the figures less than
 * wall time; the wasm backend runs on one thread.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { csvSource } from '@crypto-anomaly/data';
import { attentionScoring } from '../src/detectors/attention-autoencoder.js';
import {
  AttentionAutoencoder,
  automaticTrainingStride,
  chronologicalSplit,
  computeFeatures,
  type Matrix,
  Preprocessor,
  selectBackend,
} from '../src/index.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data') },
    epochs: { type: 'string', default: '2' },
  },
});
const path = join(values.data, 'binance', 'BTCUSDT_1h.csv');
if (!existsSync(path)) {
  console.log(`skipped: ${path} is missing`);
  process.exit(0);
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
function rowsOf(X: Matrix, start: number, end: number): Matrix {
  return { data: X.data.subarray(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
}

const klines = await csvSource(path, { symbol: 'BTCUSDT', interval: '1h' }).load({
  symbol: 'BTCUSDT',
  interval: '1h',
});
const table = computeFeatures(klines);
const ranges = chronologicalSplit(table.matrix.rows, { train: 0.7, validation: 0.15 });
const preprocessor = Preprocessor.fit(rowsOf(table.matrix, 0, ranges.train.end), table.names);
const scaled = preprocessor.transform(table.matrix);
const train = rowsOf(scaled, 0, ranges.train.end);
const validation = rowsOf(scaled, ranges.validation.start, ranges.validation.end);
const epochs = Number(values.epochs);
await selectBackend('wasm');
const trainingStride = automaticTrainingStride(train.rows, undefined);

console.log(
  `${scaled.rows} rows (train ${train.rows}, validation ${validation.rows}), training stride ${trainingStride}, ${epochs} epochs\n`,
);
console.log('| part | CPU (s) |');
console.log('|---|---:|');
for (const [label, maxValidationWindows] of [
  ['fit, validation over every window', 1e9],
  ['fit, validation over ≤ 2048 windows (default)', 2048],
] as const) {
  const detector = new AttentionAutoencoder({ epochs, trainingStride, maxValidationWindows });
  let training = 0;
  let epochStart = cpuMs();
  const start = cpuMs();
  await detector.fit(train, {
    validation,
    onEvent: (event) => {
      // The batch event of an epoch's last batch comes before its validation loss.
      if (event.type === 'batch' && event.batch === event.batches) training += cpuMs() - epochStart;
      if (event.type === 'epoch') epochStart = cpuMs();
    },
  });
  const fit = cpuMs() - start;
  console.log(`| ${label}: training steps | ${(training / 1000).toFixed(1)} |`);
  console.log(`| ${label}: threshold scoring + validation | ${((fit - training) / 1000).toFixed(1)} |`);
  if (maxValidationWindows === 2048) {
    let t = cpuMs();
    await detector.scoresWithContributions(scaled);
    console.log(
      `| scores + contributions of every row, after fit (one pass, training rows reused) | ${((cpuMs() - t) / 1000).toFixed(1)} |`,
    );
    const shifted = rowsOf(scaled, 1, scaled.rows);
    for (const threadFrom of [Number.POSITIVE_INFINITY, attentionScoring.threadFrom]) {
      const saved = attentionScoring.threadFrom;
      attentionScoring.threadFrom = threadFrom;
      t = cpuMs();
      const wall = performance.now();
      await detector.decisionFunction(shifted);
      attentionScoring.threadFrom = saved;
      const threads = Number.isFinite(threadFrom) ? 'split with a second thread' : 'one thread';
      console.log(
        `| one scoring pass over every row (nothing reused), ${threads}: CPU (all threads) / wall | ` +
          `${((cpuMs() - t) / 1000).toFixed(1)} / ${((performance.now() - wall) / 1000).toFixed(1)} |`,
      );
    }
  }
  detector.dispose();
}
