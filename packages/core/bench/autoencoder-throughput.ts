/**
 * Dense-autoencoder training throughput: TensorFlow.js (several ways of writing the train step)
 * against PyTorch on one thread, same architecture, data, Adam and batch size, in one run.
 *
 *   pnpm exec tsx bench/autoencoder-throughput.ts [--rows 50000] [--cols 8] [--epochs 15] [--backend wasm]
 *     [--hidden 1] [--batch 1024] [--lr 0.01] [--activation sigmoid]
 *
 * Hidden layers, batch size, learning rate and activation default to DenseAutoencoder's defaults
 * (read at run time); the older shape is `--cols 11 --hidden 32,16,8 --batch 256 --lr 0.001`.
 * Prints a table of median epoch times and each variant's ratio to PyTorch (run once, before the
 * variants); `DenseAutoencoder.fit` is measured one epoch in turn with a second PyTorch run, so
 * both see the same machine load, and its ratio is to that run. Fifteen epochs by default: in a
 * fresh process the first five or six run up to twice as slow while V8 compiles the JavaScript
 * and WebAssembly, and a median of five measured that instead of the steady epoch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers (a devDependency) only for the Keras-style baseline row.
import * as tfl from '@tensorflow/tfjs-layers';
import {
  type BackendPreference,
  DEFAULT_DENSE_AUTOENCODER_OPTIONS,
  type DenseActivation,
  DenseAutoencoder,
  selectBackend,
} from '../src/index.js';
import { FlatAdam } from '../src/tf/adam.js';
import { DenseNetwork } from '../src/tf/dense-network.js';
import { matMulFastGrad } from '../src/tf/matmul.js';
import { createRandom, shuffleInPlace } from '../src/tf/random.js';
import { TorchPeer } from './torch-peer.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    // The relative feature set (the default) has 8 columns.
    cols: { type: 'string', default: '8' },
    batch: { type: 'string', default: String(DEFAULT_DENSE_AUTOENCODER_OPTIONS.batchSize) },
    hidden: { type: 'string', default: DEFAULT_DENSE_AUTOENCODER_OPTIONS.hiddenLayers.join(',') },
    lr: { type: 'string', default: String(DEFAULT_DENSE_AUTOENCODER_OPTIONS.learningRate) },
    epochs: { type: 'string', default: '15' },
    backend: { type: 'string', default: 'wasm' },
    only: { type: 'string' },
    activation: { type: 'string', default: DEFAULT_DENSE_AUTOENCODER_OPTIONS.activation },
  },
});
const rows = Number(values.rows);
const cols = Number(values.cols);
const batchSize = Number(values.batch);
const epochs = Number(values.epochs);
const hidden = values.hidden.split(',').map(Number);
if (!hidden.every((width) => Number.isInteger(width) && width > 0)) {
  throw new Error('--hidden: comma-separated positive layer widths, e.g. 1 or 32,16,8');
}
const learningRate = Number(values.lr);
if (!(learningRate > 0)) throw new Error('--lr: a positive learning rate, e.g. 0.01');
const activation = values.activation as DenseActivation;
if (!['relu', 'tanh', 'sigmoid'].includes(activation)) throw new Error('--activation: relu, tanh or sigmoid');
const sizes = [cols, ...hidden, ...[...hidden].reverse().slice(1), cols];
const backend = await selectBackend(values.backend as BackendPreference);

// Structured data (a 3-D manifold plus noise), identical for both frameworks.
const random = createRandom(1);
const data = new Float32Array(rows * cols);
for (let r = 0; r < rows; r++) {
  const a = random() * 2 - 1;
  const b = random() * 2 - 1;
  const c = random() * 2 - 1;
  for (let f = 0; f < cols; f++)
    data[r * cols + f] = Math.sin(a * (f + 1)) + b * (f % 3) - c * (f % 2) + (random() - 0.5) * 0.1;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface EpochTime {
  /** Median wall time of an epoch. */
  wallMs: number;
  /** Median CPU time of the process during an epoch (robust to other processes on the machine). */
  cpuMs: number;
}

function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Times `epochs` epochs after one warm-up epoch; each call of `epoch` runs one epoch. */
async function timeEpochs(epoch: () => Promise<void> | void): Promise<EpochTime> {
  await epoch();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const started = performance.now();
    const cpuStarted = cpuNow();
    await epoch();
    wall.push(performance.now() - started);
    cpu.push(cpuNow() - cpuStarted);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

const order = Int32Array.from({ length: rows }, (_, i) => i);
const batchValues = new Float32Array(batchSize * cols);
/** The batch tensor of rows order[start..], gathered in JS (one upload). */
function batchAt(start: number): tf.Tensor2D {
  const count = Math.min(batchSize, rows - start);
  for (let i = 0; i < count; i++) {
    const row = order[start + i]! * cols;
    batchValues.set(data.subarray(row, row + cols), i * cols);
  }
  return tf.tensor2d(batchValues.subarray(0, count * cols), [count, cols]);
}

function layerVariables(): tf.Variable[] {
  const initial = DenseNetwork.initialParameters(sizes, createRandom(42));
  const variables: tf.Variable[] = [];
  let offset = 0;
  for (let l = 1; l < sizes.length; l++) {
    const kernel = sizes[l - 1]! * sizes[l]!;
    variables.push(
      tf.variable(tf.tensor2d(initial.subarray(offset, offset + kernel), [sizes[l - 1]!, sizes[l]!])),
    );
    offset += kernel;
    variables.push(tf.variable(tf.tensor1d(initial.subarray(offset, offset + sizes[l]!))));
    offset += sizes[l]!;
  }
  return variables;
}

function forward(variables: tf.Variable[], x: tf.Tensor2D, fastGrad: boolean): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  const layers = variables.length / 2;
  for (let l = 0; l < layers; l++) {
    const kernel = variables[2 * l] as tf.Tensor2D;
    const product = fastGrad ? matMulFastGrad(h, kernel) : tf.matMul(h, kernel);
    h = tf.add(product, variables[2 * l + 1]!);
    if (l < layers - 1)
      h = activation === 'relu' ? tf.relu(h) : activation === 'tanh' ? tf.tanh(h) : tf.sigmoid(h);
  }
  return h;
}

/** `torch`: PyTorch's epochs run in turn with this variant's, when it alternates. */
type Variant = { name: string; run: () => Promise<EpochTime & { torch?: EpochTime }> };

const directory = mkdtempSync(join(tmpdir(), 'autoencoder-bench-'));
const dataFile = join(directory, 'data.f32');
writeFileSync(dataFile, new Uint8Array(data.buffer));
const script = join(dirname(fileURLToPath(import.meta.url)), 'autoencoder_throughput.py');
const pythonArgs = [
  dataFile,
  String(rows),
  String(cols),
  String(batchSize),
  String(epochs),
  hidden.join(','),
  activation,
  String(learningRate),
];

const variants: Variant[] = [
  {
    name: 'tf.LayersModel.fit (Keras-style)',
    run: async () => {
      const model = tfl.sequential();
      for (let l = 1; l < sizes.length; l++) {
        model.add(
          tfl.layers.dense({
            units: sizes[l]!,
            inputShape: l === 1 ? [cols] : undefined,
            activation: l === sizes.length - 1 ? 'linear' : activation,
          }),
        );
      }
      model.compile({ optimizer: tf.train.adam(learningRate), loss: 'meanSquaredError' });
      const x = tf.tensor2d(data, [rows, cols]);
      const ms = await timeEpochs(async () => {
        await model.fit(x, x, { epochs: 1, batchSize, shuffle: true, verbose: 0 });
      });
      x.dispose();
      model.dispose();
      return ms;
    },
  },
  ...[
    { name: 'optimizer.minimize, autodiff, loss read every batch', readEveryBatch: true, fastGrad: false },
    {
      name: 'optimizer.minimize, autodiff, loss read once per epoch',
      readEveryBatch: false,
      fastGrad: false,
    },
    { name: '+ matMul gradient with explicit transposes', readEveryBatch: false, fastGrad: true },
  ].map(
    ({ name, readEveryBatch, fastGrad }): Variant => ({
      name,
      run: async () => {
        const variables = layerVariables();
        const optimizer = tf.train.adam(learningRate);
        const random = createRandom(3);
        const ms = await timeEpochs(() => {
          shuffleInPlace(order, random);
          const losses: tf.Scalar[] = [];
          for (let start = 0; start < rows; start += batchSize) {
            const loss = tf.tidy(() => {
              const x = batchAt(start);
              return optimizer.minimize(
                () => tf.mean(tf.square(tf.sub(forward(variables, x, fastGrad), x))),
                true,
              )!;
            });
            if (readEveryBatch) loss.dataSync();
            losses.push(loss);
          }
          const total = tf.addN(losses);
          total.dataSync();
          total.dispose();
          for (const loss of losses) loss.dispose();
        });
        optimizer.dispose();
        for (const variable of variables) variable.dispose();
        return ms;
      },
    }),
  ),
  ...[
    { name: 'hand-written backward pass + flat Adam', fused: false, kernel: false },
    { name: '+ fused matMul + bias + activation forward (not for tanh)', fused: true, kernel: false },
    {
      name: 'one loss-and-gradient kernel in WebAssembly + flat Adam (DenseNetwork)',
      fused: true,
      kernel: true,
    },
  ].map(
    ({ name, fused, kernel }): Variant => ({
      name,
      run: async () => {
        const network = new DenseNetwork(
          sizes,
          activation,
          DenseNetwork.initialParameters(sizes, createRandom(42)),
          fused,
        );
        const optimizer = new FlatAdam(network.parameterCount, { learningRate });
        const random = createRandom(3);
        const ms = await timeEpochs(() => {
          shuffleInPlace(order, random);
          const losses: tf.Scalar[] = [];
          for (let start = 0; start < rows; start += batchSize) {
            losses.push(
              tf.tidy(() => {
                const x = batchAt(start);
                const { loss, gradient } = kernel
                  ? network.lossAndGradient(x)
                  : network.lossAndGradientOps(x);
                optimizer.update(network.parameters, gradient);
                return loss;
              }),
            );
          }
          const total = tf.addN(losses);
          total.dataSync();
          total.dispose();
          for (const loss of losses) loss.dispose();
        });
        optimizer.dispose();
        network.dispose();
        return ms;
      },
    }),
  ),
  {
    name: 'DenseAutoencoder.fit (the above + validation, events), one epoch in turn with PyTorch',
    run: async () => {
      const peer = new TorchPeer<{ processThreads: number }>(script, pythonArgs, directory);
      const torchWall: number[] = [];
      const torchCpu: number[] = [];
      const matrix = { data: Float64Array.from(data), rows, cols };
      const validation = {
        data: matrix.data.subarray(0, Math.floor(rows / 5) * cols),
        rows: Math.floor(rows / 5),
        cols,
      };
      const wall: number[] = [];
      const cpu: number[] = [];
      let last = performance.now();
      let lastCpu = cpuNow();
      const options = {
        hiddenLayers: hidden,
        batchSize,
        learningRate,
        activation,
        epochs: epochs + 1,
        patience: epochs + 1,
      };
      const detector = await new DenseAutoencoder(options).fit(matrix, {
        validation,
        onEvent: (event) => {
          if (event.type !== 'epoch') return;
          const now = performance.now();
          const nowCpu = cpuNow();
          wall.push(now - last);
          cpu.push(nowCpu - lastCpu);
          const torchEpoch = peer.epoch(event.epoch);
          torchWall.push(torchEpoch.wallMs);
          torchCpu.push(torchEpoch.cpuMs);
          last = performance.now();
          lastCpu = cpuNow();
        },
      });
      detector.dispose();
      await peer.close();
      return {
        wallMs: median(wall.slice(1)),
        cpuMs: median(cpu.slice(1)),
        torch: { wallMs: median(torchWall.slice(1)), cpuMs: median(torchCpu.slice(1)) },
      };
    },
  },
];

try {
  const python = spawnSync('/usr/bin/python3', [script, ...pythonArgs], { encoding: 'utf8' });
  if (python.status !== 0) throw new Error(`PyTorch bench failed: ${python.stderr}`);
  const torch = JSON.parse(python.stdout.trim().split('\n').at(-1)!) as {
    epochMs: number;
    epochCpuMs: number;
    torch: string;
    processThreads: number;
  };
  console.log(
    `Dense autoencoder ${sizes.join('→')} (${activation}), ${rows} rows, batch ${batchSize}, Adam (lr ${learningRate}), median of ${epochs} epochs ` +
      `after a warm-up; TF.js ${tf.version_core} on ${backend.name}, PyTorch ${torch.torch} on 1 thread (${torch.processThreads} in its process). ` +
      "CPU = the process's CPU time during the epoch (other processes on the machine inflate wall time).\n",
  );
  console.log('| train step | epoch wall (ms) | × PyTorch | epoch CPU (ms) | × PyTorch |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(
    `| PyTorch (torch.set_num_threads(1)) | ${torch.epochMs.toFixed(0)} | 1.00 | ${torch.epochCpuMs.toFixed(0)} | 1.00 |`,
  );
  for (const variant of variants) {
    if (values.only && !variant.name.includes(values.only)) continue;
    const { wallMs, cpuMs, torch: alternating } = await variant.run();
    const peer = alternating ?? { wallMs: torch.epochMs, cpuMs: torch.epochCpuMs };
    if (alternating) {
      console.log(
        `| PyTorch, in turn with the row below | ${peer.wallMs.toFixed(0)} | 1.00 | ${peer.cpuMs.toFixed(0)} | 1.00 |`,
      );
    }
    console.log(
      `| ${variant.name} | ${wallMs.toFixed(0)} | ${(wallMs / peer.wallMs).toFixed(2)} | ${cpuMs.toFixed(0)} | ` +
        `${(cpuMs / peer.cpuMs).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
