// `pnpm --filter @crypto-anomaly/kernels exec tsx bench/network-steps.ts`: time of one call of the
// network kernels (AttentionLossGradient, DenseLossGradient) at core's default shapes and batch
// sizes: the arithmetic of one training step. Median of 50 calls after 10 warm-up calls; CPU time.
import { loadavg } from 'node:os';
import {
  AttentionLossGradient,
  attentionParameterCount,
  DenseLossGradient,
  denseParameterCount,
} from '../src/index.js';

function cpuMsNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function medianMs(call: () => void, calls = 50): number {
  for (let i = 0; i < 10; i++) call();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = cpuMsNow();
    call();
    times.push(cpuMsNow() - started);
  }
  return times.sort((a, b) => a - b)[calls >> 1]!;
}

const values = (length: number, seed: number) =>
  Float32Array.from({ length }, (_, i) => Math.sin(i * 0.37 + seed));

const architecture = {
  featureCount: 8,
  windowSize: 16,
  modelDim: 8,
  heads: 2,
  feedForwardDim: 16,
  latentDim: 8,
  blocks: 1,
};
const attention = new AttentionLossGradient(architecture);
const attentionParams = values(attentionParameterCount(architecture), 1).map((v) => v * 0.3);
const positions = values(16 * 8, 2);
const windows = values(64 * 16 * 8, 3);
const attentionGradient = new Float32Array(attentionParams.length);
const attentionMs = medianMs(() =>
  attention.compute(attentionParams, positions, windows, 0.1, attentionGradient),
);

const sizes = [8, 1, 8];
const dense = new DenseLossGradient(sizes, 'sigmoid');
const denseParams = values(denseParameterCount(sizes), 4).map((v) => v * 0.3);
const rows = values(1024 * 8, 5);
const denseGradient = new Float32Array(denseParams.length);
const denseMs = medianMs(() => dense.compute(denseParams, rows, denseGradient), 500);

console.log(`load average ${loadavg()[0]!.toFixed(2)}`);
console.log('| kernel (core default shape) | batch | CPU per call (ms) |');
console.log('|---|---:|---:|');
console.log(
  `| AttentionLossGradient (window 16 × 8, width 8, 2 heads, ff 16, latent 8) | 64 windows | ${attentionMs.toFixed(3)} |`,
);
console.log(`| DenseLossGradient (8 → 1 → 8, sigmoid) | 1024 rows | ${denseMs.toFixed(3)} |`);
