/**
 * Attention-autoencoder training time per epoch: TensorFlow.js (`AttentionAutoencoder.fit`, its
 * defaults, wasm backend) against the same network in PyTorch on one thread
 * (bench/attention_throughput.py), on the same windows, in one run, one epoch of each in turn.
 *
 *   pnpm exec tsx bench/attention-throughput.ts [--rows 50000] [--cols 8] [--epochs 6]
 *     [--model-dim 8 --heads 2 --feed-forward 16] [--torch-attention explicit|module] [--step fused|ops]
 *
 * Both train the windows `fit` trains on for `rows` rows (the stride raised until at most
 * `maxTrainingWindows` windows, a new offset each epoch), shuffled, in batches of the default
 * size, with the default trimmed loss, Adam learning rate and cosine schedule; no validation.
 * PyTorch starts from fit's initial weights; the bench stops unless both networks have the same
 * parameter count and reconstruct 64 windows alike with those weights (to 1e-4).
 * After a warm-up epoch of each, prints the median epoch wall and CPU time of each and the ratio.
 * `--step ops` trains TF.js through its ops and autodiff instead of the fused WebAssembly
 * loss-and-gradient kernel (the default on the wasm backend), to measure what the kernel gains.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AttentionAutoencoder,
  type AttentionAutoencoderOptions,
  type BackendPreference,
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
  selectBackend,
} from '../src/index.js';
import { AttentionNetwork } from '../src/tf/attention-network.js';
import { useFusedKernels } from '../src/tf/fused-kernels.js';
import { createRandom } from '../src/tf/random.js';
import { tf } from '../src/tf/tensorflow.js';
import { TorchPeer } from './torch-peer.js';
import { wanderingSeries } from './wandering-series.js';

const defaults = DEFAULT_ATTENTION_AUTOENCODER_OPTIONS;
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    // The relative feature set (the default) has 8 columns.
    cols: { type: 'string', default: '8' },
    epochs: { type: 'string', default: '6' },
    'model-dim': { type: 'string', default: String(defaults.modelDim) },
    heads: { type: 'string', default: String(defaults.heads) },
    'feed-forward': { type: 'string', default: String(defaults.feedForwardDim) },
    'torch-attention': { type: 'string', default: 'explicit' },
    backend: { type: 'string', default: 'wasm' },
    step: { type: 'string', default: 'fused' },
  },
});
const rows = Number(values.rows);
const cols = Number(values.cols);
const epochs = Number(values.epochs);
const torchAttention = values['torch-attention'];
if (values.step !== 'fused' && values.step !== 'ops') throw new Error('--step: fused or ops');
useFusedKernels(values.step === 'fused');
if (torchAttention !== 'explicit' && torchAttention !== 'module') {
  throw new Error('--torch-attention: explicit (matMul + softmax, as the TF.js network) or module');
}
// One warm-up epoch, then `epochs` measured ones; patience never stops it early.
const options: Partial<AttentionAutoencoderOptions> = {
  modelDim: Number(values['model-dim']),
  heads: Number(values.heads),
  feedForwardDim: Number(values['feed-forward']),
  epochs: epochs + 1,
  patience: epochs + 1,
};
const detector = new AttentionAutoencoder(options);
const resolved = detector.options;
const w = resolved.windowSize;
// The training windows of AttentionAutoencoder.fit for `rows` rows.
const fullWindows = rows - w + 1;
const stride = Math.max(resolved.trainingStride, Math.ceil(fullWindows / resolved.maxTrainingWindows));
const windowCount = stride === 1 ? fullWindows : Math.floor(fullWindows / stride);
const architecture = {
  featureCount: cols,
  windowSize: w,
  modelDim: resolved.modelDim,
  heads: resolved.heads,
  feedForwardDim: resolved.feedForwardDim,
  latentDim: resolved.latentDim,
  blocks: resolved.blocks,
};
// fit's initial weights (seeded by the same option), given to PyTorch too.
const initialWeights = AttentionNetwork.initialWeights(architecture, createRandom(resolved.seed));
const flatWeights = new Float32Array([...initialWeights.values()].reduce((n, w) => n + w.length, 0));
let tfParameterCount = 0;
for (const name of AttentionNetwork.weightNames(architecture)) {
  flatWeights.set(initialWeights.get(name)!, tfParameterCount);
  tfParameterCount += initialWeights.get(name)!.length;
}

const data = wanderingSeries(rows, cols);

function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const backend = await selectBackend(values.backend as BackendPreference);
const directory = mkdtempSync(join(tmpdir(), 'attention-bench-'));
try {
  const dataFile = join(directory, 'data.f32');
  writeFileSync(dataFile, new Uint8Array(Float32Array.from(data).buffer));
  const weightsFile = join(directory, 'weights.f32');
  writeFileSync(weightsFile, new Uint8Array(flatWeights.buffer));
  // The same function? TF.js's reconstruction of 64 windows with the initial weights, for PyTorch
  // to compare with its own.
  const checkCount = 64;
  const checkWindows = new Float32Array(checkCount * w * cols);
  for (let i = 0; i < checkCount; i++) {
    checkWindows.set(Float32Array.from(data.subarray(i * cols, (i + w) * cols)), i * w * cols);
  }
  const network = new AttentionNetwork(architecture, initialWeights);
  const reconstruction = tf.tidy(() =>
    network.reconstruct(tf.tensor3d(checkWindows, [checkCount, w, cols])).dataSync(),
  ) as Float32Array;
  network.dispose();
  const checkWindowsFile = join(directory, 'check-windows.f32');
  const checkReconstructionFile = join(directory, 'check-reconstruction.f32');
  writeFileSync(checkWindowsFile, new Uint8Array(checkWindows.buffer));
  writeFileSync(checkReconstructionFile, new Uint8Array(Float32Array.from(reconstruction).buffer));
  const configFile = join(directory, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      data: dataFile,
      rows,
      cols,
      windowSize: w,
      stride,
      windowCount,
      batchSize: resolved.batchSize,
      learningRate: resolved.learningRate,
      schedule: resolved.learningRateSchedule,
      epochs: resolved.epochs,
      trimmedShare: resolved.trimmedShare,
      modelDim: resolved.modelDim,
      heads: resolved.heads,
      feedForwardDim: resolved.feedForwardDim,
      latentDim: resolved.latentDim,
      blocks: resolved.blocks,
      seed: resolved.seed,
      attention: torchAttention,
      weights: weightsFile,
      checkWindows: checkWindowsFile,
      checkReconstruction: checkReconstructionFile,
    }),
  );
  const script = join(dirname(fileURLToPath(import.meta.url)), 'attention_throughput.py');
  const peer = new TorchPeer<{
    parameterCount: number;
    torch: string;
    threads: number;
    processThreads: number;
    largestDifference: number;
  }>(script, [configFile], directory);
  const header = peer.header;
  if (header.parameterCount !== tfParameterCount) {
    throw new Error(
      `parameter counts differ: TF.js ${tfParameterCount}, PyTorch ${header.parameterCount}: not the same network`,
    );
  }
  // float32 in a different order of operations: differences of ~1e-6 are expected.
  if (!(header.largestDifference < 1e-4)) {
    throw new Error(
      `PyTorch's reconstruction with TF.js's weights differs by up to ${header.largestDifference}: not the same network`,
    );
  }

  const tfTimes: { wall: number[]; cpu: number[] } = { wall: [], cpu: [] };
  const torchTimes: { wall: number[]; cpu: number[] } = { wall: [], cpu: [] };
  const losses: string[] = [];
  let resumed = performance.now();
  let resumedCpu = cpuNow();
  const fitStarted = performance.now();
  await detector.fit(
    { data, rows, cols },
    {
      onEvent: (event) => {
        if (event.type !== 'epoch') return;
        tfTimes.wall.push(performance.now() - resumed);
        tfTimes.cpu.push(cpuNow() - resumedCpu);
        const torchEpoch = peer.epoch(event.epoch);
        torchTimes.wall.push(torchEpoch.wallMs);
        torchTimes.cpu.push(torchEpoch.cpuMs);
        losses.push(`${event.loss.toFixed(4)}/${torchEpoch.loss.toFixed(4)}`);
        resumed = performance.now();
        resumedCpu = cpuNow();
      },
    },
  );
  const fitMs = performance.now() - fitStarted;
  await peer.close();
  detector.dispose();

  const row = (name: string, times: { wall: number[]; cpu: number[] }) => {
    const wall = median(times.wall.slice(1));
    const cpu = median(times.cpu.slice(1));
    const torchWall = median(torchTimes.wall.slice(1));
    const torchCpu = median(torchTimes.cpu.slice(1));
    return `| ${name} | ${wall.toFixed(0)} | ${(wall / torchWall).toFixed(2)} | ${cpu.toFixed(0)} | ${(cpu / torchCpu).toFixed(2)} |`;
  };
  console.log(
    `Attention autoencoder: window ${w}, ${cols} features, width ${resolved.modelDim}, ${resolved.heads} heads, ` +
      `feed-forward ${resolved.feedForwardDim}, latent ${resolved.latentDim}, ${resolved.blocks} block each side; ` +
      `parameters: TF.js ${tfParameterCount}, PyTorch ${header.parameterCount}; the same initial weights (reconstructions of 64 windows ` +
      `differ by at most ${header.largestDifference.toExponential(1)}). ${rows} rows → ${windowCount} training windows per epoch ` +
      `(stride ${stride}), batch ${resolved.batchSize}, trimmed share ${resolved.trimmedShare}, Adam lr ` +
      `${resolved.learningRate} (${resolved.learningRateSchedule}). Median of ${epochs} epochs after a warm-up, ` +
      `alternating one epoch each. TF.js on ${backend.name} (AttentionAutoencoder.fit, no validation); ` +
      `PyTorch ${header.torch} on ${header.threads} thread (${header.processThreads} in its process; attention: ${torchAttention}). CPU = the process's ` +
      `CPU time during the epoch. Whole TF.js fit, scoring the training rows included: ${(fitMs / 1000).toFixed(1)} s.\n`,
  );
  console.log('| epoch | wall (ms) | × PyTorch | CPU (ms) | × PyTorch |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(row('PyTorch (torch.set_num_threads(1))', torchTimes));
  console.log(
    row(
      `TF.js AttentionAutoencoder.fit (${values.step === 'fused' ? 'fused kernel' : 'ops and autodiff'})`,
      tfTimes,
    ),
  );
  console.log(`\ntraining loss per epoch (TF.js/PyTorch): ${losses.join(' ')}`);
  console.log(
    `epoch CPU ms, TF.js: ${tfTimes.cpu.map((t) => t.toFixed(0)).join(' ')}; PyTorch: ${torchTimes.cpu.map((t) => t.toFixed(0)).join(' ')}`,
  );
} finally {
  rmSync(directory, { recursive: true, force: true });
}
