/**
 * Attention-autoencoder training time per epoch on the wasm backend, for the default architecture
 * on as many windows as the pipeline trains on for BTCUSDT 1h (about 50,000) or fewer.
 *
 *   pnpm exec tsx bench/autoencoder-attention-epoch.ts [--rows 50000] [--epochs 2] [--stride 1] [--batch 64]
 */
import { parseArgs } from 'node:util';
import {
  AttentionAutoencoder,
  type BackendPreference,
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
  selectBackend,
} from '../src/index.js';
import { wanderingSeries } from './wandering-series.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    cols: { type: 'string', default: '11' },
    epochs: { type: 'string', default: '2' },
    stride: { type: 'string', default: '1' },
    window: { type: 'string' },
    batch: { type: 'string', default: String(DEFAULT_ATTENTION_AUTOENCODER_OPTIONS.batchSize) },
    backend: { type: 'string', default: 'wasm' },
  },
});
const rows = Number(values.rows);
const cols = Number(values.cols);
const backend = await selectBackend(values.backend as BackendPreference);
const data = wanderingSeries(rows, cols);
const train = { data, rows, cols };
const validationRows = Math.floor(rows / 5);
const validation = { data: data.subarray(0, validationRows * cols), rows: validationRows, cols };
const epochMs: number[] = [];
let last = performance.now();
const options = {
  epochs: Number(values.epochs),
  patience: Number(values.epochs),
  trainingStride: Number(values.stride),
  ...(values.window ? { windowSize: Number(values.window) } : {}),
  batchSize: Number(values.batch),
};
const detector = await new AttentionAutoencoder(options).fit(train, {
  validation,
  onEvent: (event) => {
    if (event.type !== 'epoch') return;
    const now = performance.now();
    epochMs.push(now - last);
    last = now;
    console.log(
      `epoch ${event.epoch}: ${(epochMs.at(-1)! / 1000).toFixed(1)} s (validation included), ` +
        `${event.samplesPerSecond.toFixed(0)} windows/s, loss ${event.loss.toFixed(4)}, val ${event.valLoss.toFixed(4)}`,
    );
  },
});
const started = performance.now();
await detector.decisionFunction(train);
const scoreMs = performance.now() - started;
const { windowSize, modelDim, heads, feedForwardDim, latentDim, blocks } = detector.options;
console.log(
  `\nAttention autoencoder (window ${windowSize}, modelDim ${modelDim}, ${heads} heads, feed-forward ${feedForwardDim}, ` +
    `latent ${latentDim}, ${blocks} block each side) on ${backend.name}: ${rows} rows, stride ${options.trainingStride}, ` +
    `batch ${options.batchSize}: median epoch ${(median(epochMs) / 1000).toFixed(1)} s; scoring ${rows} rows ${(scoreMs / 1000).toFixed(1)} s.`,
);
detector.dispose();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
