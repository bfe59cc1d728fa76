import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/backend.js';
import { AttentionAutoencoder } from '../src/detectors/attention-autoencoder.js';
import { DenseAutoencoder } from '../src/detectors/dense-autoencoder.js';
import { FlatAdam } from '../src/tf/adam.js';
import { type AttentionArchitecture, AttentionNetwork } from '../src/tf/attention-network.js';
import { ADAM_STEP, ATTENTION_LOSS_GRADIENT, useFusedKernels } from '../src/tf/fused-kernels.js';
import { createRandom } from '../src/tf/random.js';
import { tf } from '../src/tf/tensorflow.js';

// The fused attention kernel against TensorFlow.js autodiff of AttentionNetwork's ops: the ops
// define the network; the kernel must give the same loss and gradient.

beforeAll(async () => {
  await selectBackend('wasm');
});

const networks: AttentionNetwork[] = [];
afterAll(() => {
  for (const network of networks) network.dispose();
});

function windows(batch: number, steps: number, features: number, seed: number): Float32Array {
  const random = createRandom(seed);
  const values = new Float32Array(batch * steps * features);
  for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 0.37 + seed) + (random() - 0.5);
  // One window far from the rest, so trimming has something to leave out.
  for (let i = 0; i < steps * features; i++) values[i] = values[i]! * 4;
  return values;
}

const cases: [string, AttentionArchitecture, number, number][] = [
  [
    'the default shape, untrimmed',
    { featureCount: 8, windowSize: 16, modelDim: 8, heads: 2, feedForwardDim: 16, latentDim: 8, blocks: 1 },
    12,
    0,
  ],
  [
    'the default shape, a tenth trimmed',
    { featureCount: 8, windowSize: 16, modelDim: 8, heads: 2, feedForwardDim: 16, latentDim: 8, blocks: 1 },
    20,
    0.1,
  ],
  [
    'two blocks a side, four heads, a quarter trimmed',
    { featureCount: 3, windowSize: 5, modelDim: 8, heads: 4, feedForwardDim: 6, latentDim: 3, blocks: 2 },
    9,
    0.25,
  ],
  [
    'one head, one window',
    { featureCount: 2, windowSize: 3, modelDim: 4, heads: 1, feedForwardDim: 4, latentDim: 2, blocks: 1 },
    1,
    0,
  ],
];

describe('the fused attention loss-and-gradient kernel', () => {
  for (const [name, architecture, batch, trimmedShare] of cases) {
    it(`equals autodiff of the network's ops: ${name}`, () => {
      const network = new AttentionNetwork(
        architecture,
        AttentionNetwork.initialWeights(architecture, createRandom(batch)),
      );
      networks.push(network);
      const { windowSize, featureCount } = architecture;
      tf.tidy(() => {
        const x = tf.tensor3d(windows(batch, windowSize, featureCount, batch), [
          batch,
          windowSize,
          featureCount,
        ]);
        const fused = network.lossAndGradient(x, trimmedShare);
        const ops = network.lossAndGradientOps(x, trimmedShare);
        const [fusedLoss, opsLoss] = [fused.loss.dataSync()[0]!, ops.loss.dataSync()[0]!];
        expect(Math.abs(fusedLoss - opsLoss)).toBeLessThan(1e-5 * opsLoss);
        const a = fused.gradient.dataSync();
        const b = ops.gradient.dataSync();
        expect(a.length).toBe(b.length);
        let largest = 0;
        for (let i = 0; i < b.length; i++) largest = Math.max(largest, Math.abs(b[i]!));
        expect(largest).toBeGreaterThan(0);
        let worst = 0;
        for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        expect(worst).toBeLessThan(1e-4 * largest);
      });
    });
  }

  it('is what training uses on the wasm backend: one kernel instead of hundreds', async () => {
    const architecture = cases[0]![1];
    const network = new AttentionNetwork(
      architecture,
      AttentionNetwork.initialWeights(architecture, createRandom(1)),
    );
    networks.push(network);
    const x = tf.tensor3d(windows(4, 16, 8, 1), [4, 16, 8]);
    const kernelsOf = async (step: () => unknown) =>
      (await tf.profile(() => tf.tidy(() => void step()))).kernels.map((kernel) => kernel.name);
    const fused = await kernelsOf(() => network.lossAndGradient(x, 0.1));
    const ops = await kernelsOf(() => network.lossAndGradientOps(x, 0.1));
    x.dispose();
    expect(fused).toEqual([ATTENTION_LOSS_GRADIENT]);
    expect(ops.length).toBeGreaterThan(100);
  });
});

describe('the fused Adam kernel', () => {
  it("takes the steps of FlatAdam's ops, in one kernel", async () => {
    const random = createRandom(5);
    const initial = Float32Array.from({ length: 300 }, () => random() - 0.5);
    const gradients = Array.from({ length: 6 }, () =>
      Float32Array.from({ length: 300 }, () => (random() - 0.5) * 3),
    );
    const train = (fused: boolean) => {
      useFusedKernels(fused);
      try {
        const parameters = tf.variable(tf.tensor1d(initial));
        const adam = new FlatAdam(300, { learningRate: 0.01 });
        for (const g of gradients) tf.tidy(() => adam.update(parameters, tf.tensor1d(g)));
        const result = parameters.dataSync().slice();
        parameters.dispose();
        adam.dispose();
        return result;
      } finally {
        useFusedKernels(true);
      }
    };
    const fused = train(true);
    const ops = train(false);
    let moved = 0;
    for (let i = 0; i < 300; i++) {
      expect(Math.abs(fused[i]! - ops[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(ops[i]!));
      moved = Math.max(moved, Math.abs(ops[i]! - initial[i]!));
    }
    expect(moved).toBeGreaterThan(0.03);
    const parameters = tf.variable(tf.tensor1d(initial));
    const adam = new FlatAdam(300, { learningRate: 0.01 });
    const { kernels } = await tf.profile(() =>
      tf.tidy(() => adam.update(parameters, tf.tensor1d(gradients[0]!))),
    );
    expect(kernels.map((kernel) => kernel.name)).toEqual([ADAM_STEP]);
    parameters.dispose();
    adam.dispose();
  });
});

describe('the fused kernels on the cpu backend', () => {
  it('leave their inputs as they were (the cpu backend hands a kernel the arrays of its tensors)', async () => {
    await selectBackend('cpu');
    try {
      const initial = Array.from({ length: 50 }, (_, i) => Math.fround(Math.sin(i)));
      const parameters = tf.variable(tf.tensor1d(initial));
      // A snapshot as training takes one: on cpu a clone shares the variable's data.
      const snapshot = tf.clone(parameters);
      const adam = new FlatAdam(50, { learningRate: 0.01 });
      tf.tidy(() =>
        adam.update(parameters, tf.tensor1d(Float32Array.from({ length: 50 }, (_, i) => Math.cos(i)))),
      );
      expect(Array.from(snapshot.dataSync())).toEqual(initial);
      expect(Array.from(parameters.dataSync())).not.toEqual(initial);
      snapshot.dispose();
      parameters.dispose();
      adam.dispose();
    } finally {
      await selectBackend('wasm');
    }
  });
});

describe('training through the fused kernels', () => {
  // The same fit through the kernels and through TensorFlow.js ops: float32 sums in another order
  // part the two trajectories only in the last digits, so the models score alike.
  const rows = 240;
  const cols = 4;
  const random = createRandom(11);
  const data = Float64Array.from(
    { length: rows * cols },
    (_, i) => Math.sin(i * 0.21) + (random() - 0.5) * 0.1,
  );
  for (const r of [60, 150, 201]) for (let c = 0; c < cols; c++) data[r * cols + c] = data[r * cols + c]! + 3;
  const table = { data, rows, cols };

  async function scoresWith(fused: boolean, make: () => DenseAutoencoder | AttentionAutoencoder) {
    useFusedKernels(fused);
    try {
      const detector = await make().fit(table);
      const scores = await detector.decisionFunction(table);
      detector.dispose();
      return scores;
    } finally {
      useFusedKernels(true);
    }
  }

  for (const [name, make] of [
    ['dense', () => new DenseAutoencoder({ hiddenLayers: [2], epochs: 12, batchSize: 32, seed: 3 })],
    [
      'attention',
      () =>
        new AttentionAutoencoder({
          windowSize: 6,
          modelDim: 8,
          heads: 2,
          feedForwardDim: 8,
          latentDim: 4,
          epochs: 6,
          batchSize: 32,
          seed: 3,
        }),
    ],
  ] as const) {
    it(`gives the ${name} autoencoder the model its TensorFlow.js ops give`, async () => {
      const fused = await scoresWith(true, make);
      const ops = await scoresWith(false, make);
      let scale = 0;
      let worst = 0;
      for (let i = 0; i < fused.length; i++) {
        scale = Math.max(scale, Math.abs(ops[i]!));
        worst = Math.max(worst, Math.abs(fused[i]! - ops[i]!));
      }
      expect(scale).toBeGreaterThan(0);
      expect(worst).toBeLessThan(1e-3 * scale);
      // And the planted rows rank on top in both.
      const top = (scores: Float64Array) =>
        Array.from(scores.keys())
          .sort((a, b) => scores[b]! - scores[a]!)
          .slice(0, 3)
          .sort((a, b) => a - b);
      expect(top(fused)).toEqual(top(ops));
    });
  }
});
