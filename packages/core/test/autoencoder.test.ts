import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DenseAutoencoder,
  isCoreError,
  type Matrix,
  type PipelineEvent,
  selectBackend,
} from '../src/index.js';
import { DenseNetwork } from '../src/tf/dense-network.js';
import { createRandom } from '../src/tf/random.js';

/**
 * Rows on a 2-D manifold in 6 features: [a, b, a + b, a - b, 2a, sin 3b] + small noise. An
 * autoencoder learns the structure; a row that breaks it (one feature moved) reconstructs badly.
 */
function structuredRows(rows: number, seed: number): Matrix {
  const random = createRandom(seed);
  const cols = 6;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const a = random() * 2 - 1;
    const b = random() * 2 - 1;
    const noise = () => (random() - 0.5) * 0.02;
    const row = [a, b, a + b, a - b, 2 * a, Math.sin(3 * b)].map((v) => v + noise());
    data.set(row, r * cols);
  }
  return { data, rows, cols };
}

const small = { hiddenLayers: [16, 4], epochs: 25, batchSize: 32, learningRate: 0.01, patience: 25, seed: 7 };

function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return isCoreError(error) ? error.code : `not a CoreError: ${String(error)}`;
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'autoencoder-test-'));
  dirs.push(dir);
  return dir;
}

const train = structuredRows(600, 1);
const validation = structuredRows(150, 2);
let fitted: DenseAutoencoder;
const events: PipelineEvent[] = [];

beforeAll(async () => {
  await selectBackend('wasm');
  fitted = await new DenseAutoencoder(small).fit(train, {
    validation,
    onEvent: (event) => events.push(event),
  });
});
afterAll(async () => {
  fitted.dispose();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('DenseNetwork', () => {
  it('backpropagates the same gradient as TensorFlow.js autodiff', () => {
    for (const activation of ['relu', 'tanh', 'elu', 'sigmoid'] as const) {
      const sizes = [5, 7, 3, 7, 5];
      const network = new DenseNetwork(
        sizes,
        activation,
        DenseNetwork.initialParameters(sizes, createRandom(3)),
      );
      const x = tf.tensor2d(
        Float32Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7)),
        [8, 5],
      );
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(tf.sub(network.predict(x), x))) as tf.Scalar,
        [network.parameters],
      );
      const automatic = grads[network.parameters.name]!.arraySync() as number[];
      const scale = Math.max(...automatic.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      // The fused kernel (this backend's default) and the op form, each against autodiff.
      expect(tf.getBackend()).toBe('wasm');
      for (const step of [() => network.lossAndGradient(x), () => network.lossAndGradientOps(x)]) {
        const [loss, manual] = tf.tidy(() => {
          const { loss, gradient } = step();
          return [loss.arraySync() as number, gradient.arraySync()];
        });
        expect(loss).toBeCloseTo(value.arraySync() as number, 6);
        for (let i = 0; i < automatic.length; i++) {
          expect(Math.abs(manual[i]! - automatic[i]!)).toBeLessThan(1e-5 * scale);
        }
      }
      value.dispose();
      for (const grad of Object.values(grads)) grad.dispose();
      x.dispose();
      network.dispose();
    }
  });
});

describe('DenseAutoencoder', () => {
  it('learns structured data: the loss falls and the events report it', () => {
    const history = fitted.history!;
    expect(history.loss.length).toBe(small.epochs);
    expect(history.loss.at(-1)!).toBeLessThan(history.loss[0]! / 5);
    expect(history.valLoss.at(-1)!).toBeLessThan(history.valLoss[0]! / 5);
    expect(history.monitor).toBe('validation');
    const epochs = events.filter((event) => event.type === 'epoch');
    expect(epochs.length).toBe(small.epochs);
    const last = epochs.at(-1)!;
    expect(last).toMatchObject({ detector: 'autoencoder', epoch: small.epochs, epochs: small.epochs });
    if (last.type === 'epoch') {
      expect(last.samplesPerSecond).toBeGreaterThan(0);
      expect(last.valLoss).toBeCloseTo(history.valLoss.at(-1)!, 6);
    }
    // Throttled batch progress: 600 rows / 32 = 19 batches, reported at most ~10 times per epoch.
    const batches = events.filter((event) => event.type === 'batch' && event.epoch === 1);
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.length).toBeLessThanOrEqual(10);
    expect(batches.at(-1)).toMatchObject({ batch: 19, batches: 19 });
    expect(fitted.threshold?.method.kind).toBe('contamination');
  });

  it('scores a planted anomalous row highest, and its contributions point at the moved feature', async () => {
    const test = structuredRows(200, 3);
    const planted = 137;
    test.data[planted * test.cols + 5] = test.data[planted * test.cols + 5]! + 1.5;
    const scores = await fitted.decisionFunction(test);
    expect(scores.length).toBe(200);
    expect(argMax(scores)).toBe(planted);
    const contributions = await fitted.featureContributions(test);
    expect(contributions).toMatchObject({ rows: 200, cols: 6 });
    const row = contributions.data.subarray(planted * 6, planted * 6 + 6);
    expect(argMax(row)).toBe(5);
    // The score is the mean of the row's contributions.
    expect(scores[planted]).toBeCloseTo(row.reduce((sum, v) => sum + v, 0) / 6, 6);
    const flags = await fitted.predict(test);
    expect(flags[planted]).toBe(1);
  });

  it('gives the same scores for the same seed, and different ones for another seed', async () => {
    const options = { ...small, epochs: 3 };
    const a = await new DenseAutoencoder(options).fit(train, { validation });
    const b = await new DenseAutoencoder(options).fit(train, { validation });
    const c = await new DenseAutoencoder({ ...options, seed: 8 }).fit(train, { validation });
    const scoresA = await a.decisionFunction(validation);
    expect(await b.decisionFunction(validation)).toEqual(scoresA);
    expect(await c.decisionFunction(validation)).not.toEqual(scoresA);
    for (const detector of [a, b, c]) detector.dispose();
  });

  it('stops early when the validation loss stops improving, keeping the best epoch', async () => {
    // A large learning rate on noise: validation loss bottoms out early.
    const noisy = structuredRows(300, 4);
    const random = createRandom(9);
    const noiseValidation: Matrix = {
      data: Float64Array.from({ length: 60 * 6 }, () => random() * 4 - 2),
      rows: 60,
      cols: 6,
    };
    const seen: PipelineEvent[] = [];
    const detector = await new DenseAutoencoder({
      ...small,
      epochs: 40,
      patience: 2,
      learningRate: 0.05,
    }).fit(noisy, {
      validation: noiseValidation,
      onEvent: (event) => seen.push(event),
    });
    const history = detector.history!;
    expect(history.stoppedEarly).toBe(true);
    expect(history.epochsRun).toBe(history.bestEpoch + 2);
    expect(seen.filter((event) => event.type === 'early-stop')).toEqual([
      { type: 'early-stop', detector: 'autoencoder', epoch: history.epochsRun, bestEpoch: history.bestEpoch },
    ]);
    // The restored weights are the best epoch's: their validation loss is the best one.
    const contributions = await detector.featureContributions(noiseValidation);
    const loss = contributions.data.reduce((sum, v) => sum + v, 0) / contributions.data.length;
    expect(loss).toBeCloseTo(history.bestValLoss, 5);
    expect(Math.min(...history.valLoss)).toBe(history.bestValLoss);
    detector.dispose();
  });

  it('stops at the next batch when aborted, and is left unfitted', async () => {
    const controller = new AbortController();
    const detector = new DenseAutoencoder(small);
    const error = await detector
      .fit(train, {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'batch' && event.batch >= 5) controller.abort();
        },
      })
      .catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('AbortError');
    expect(await codeOf(detector.decisionFunction(validation))).toBe('NOT_FITTED');
  });

  it('saves and loads: the loaded model scores identically', async () => {
    const dir = await tempDir();
    await fitted.save(dir);
    const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['./weights.bin']);
    const loaded = await DenseAutoencoder.load(dir, { featureCount: 6 });
    expect(await loaded.decisionFunction(validation)).toEqual(await fitted.decisionFunction(validation));
    expect(loaded.threshold).toEqual(fitted.threshold);
    expect(loaded.history).toEqual(fitted.history);
    expect(loaded.options).toEqual(fitted.options);
    loaded.dispose();
    // Saved again over its own files; never over files it did not write.
    await fitted.save(dir);
    for (const [file, text] of [
      ['weights.bin', 'my weights'],
      ['model.json', '{"mine":true}'],
      ['detector.json', '{"notes":"mine"}'],
    ] as const) {
      const other = await tempDir();
      await writeFile(join(other, file), text);
      expect(await codeOf(fitted.save(other)), file).toBe('TARGET_NOT_OURS');
      expect(await readFile(join(other, file), 'utf8')).toBe(text);
    }
  });

  it('refuses a saved model of another feature count, version or detector', async () => {
    const dir = await tempDir();
    await fitted.save(dir);
    expect(await codeOf(DenseAutoencoder.load(dir, { featureCount: 11 }))).toBe('MODEL_MISMATCH');
    const state = JSON.parse(await readFile(join(dir, 'detector.json'), 'utf8'));
    await writeFile(join(dir, 'detector.json'), JSON.stringify({ ...state, formatVersion: 99 }));
    expect(await codeOf(DenseAutoencoder.load(dir))).toBe('MODEL_MISMATCH');
    await writeFile(join(dir, 'detector.json'), JSON.stringify({ ...state, name: 'attention' }));
    expect(await codeOf(DenseAutoencoder.load(dir))).toBe('MODEL_MISMATCH');
    expect(await codeOf(DenseAutoencoder.load(join(dir, 'missing')))).toBe('IO');
  });

  it('does not leak tensors across epochs, fits or scoring', async () => {
    const options = { ...small, epochs: 2 };
    const warm = await new DenseAutoencoder(options).fit(train, { validation });
    warm.dispose();
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const detector = await new DenseAutoencoder({ ...options, epochs: 6 }).fit(train, {
      validation,
      onEvent: (event) => {
        if (event.type === 'epoch') counts.push(tf.memory().numTensors);
      },
    });
    expect(new Set(counts.slice(1)).size).toBe(1);
    await detector.decisionFunction(validation);
    await detector.featureContributions(validation);
    detector.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('watches the training loss when there are no validation rows', async () => {
    const empty: Matrix = { data: new Float64Array(0), rows: 0, cols: 6 };
    const detector = await new DenseAutoencoder({ ...small, epochs: 2 }).fit(train, { validation: empty });
    expect(detector.history?.monitor).toBe('training');
    expect(detector.history?.valLoss).toEqual(detector.history?.loss);
    detector.dispose();
  });

  it('rejects bad input with typed errors that name the problem', async () => {
    const bad = structuredRows(50, 5);
    bad.data[7] = Number.NaN;
    expect(await codeOf(new DenseAutoencoder(small).fit(bad))).toBe('NON_FINITE_INPUT');
    bad.data[7] = Number.POSITIVE_INFINITY;
    const error = await new DenseAutoencoder(small).fit(bad).catch((caught: Error) => caught);
    expect((error as Error).message).toMatch(/row 1, column 1/);
    expect(await codeOf(fitted.decisionFunction(bad))).toBe('NON_FINITE_INPUT');
    const narrow: Matrix = { data: new Float64Array(50), rows: 10, cols: 5 };
    expect(await codeOf(fitted.decisionFunction(narrow))).toBe('MODEL_MISMATCH');
    expect(
      await codeOf(new DenseAutoencoder(small).fit({ data: new Float64Array(6), rows: 1, cols: 6 })),
    ).toBe('TOO_FEW_ROWS');
    expect(await codeOf(new DenseAutoencoder(small).decisionFunction(validation))).toBe('NOT_FITTED');
    const diverging = new DenseAutoencoder({ ...small, epochs: 3, learningRate: 1e30 });
    const divergence = await diverging.fit(train).catch((caught: Error) => caught);
    expect(isCoreError(divergence) && divergence.code).toBe('INVALID_ARGUMENT');
    expect((divergence as Error).message).toMatch(/diverged.*learningRate/);
    expect(() => new DenseAutoencoder({ hiddenLayers: [] })).toThrow(/hiddenLayers/);
    expect(() => new DenseAutoencoder({ epochs: 0 })).toThrow(/epochs/);
    expect(() => new DenseAutoencoder({ learningRate: -1 })).toThrow(/learningRate/);
  });

  it('refuses an option it does not know, and loads a model saved with one', async () => {
    expect(() => new DenseAutoencoder({ epoch: 1 } as object)).toThrow(
      /^unknown key epoch in DenseAutoencoder options \(the keys there are epochs, hiddenLayers, /,
    );
    expect(new DenseAutoencoder({ epochs: undefined }).options.epochs).toBe(200);
    expect(
      await codeOf(
        new DenseAutoencoder(small).fit(train, { signl: undefined, valdation: validation } as object),
      ),
    ).toBe('INVALID_ARGUMENT');
    const dir = await tempDir();
    await fitted.save(dir);
    const path = join(dir, 'detector.json');
    const state = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...state, options: { ...state.options, epoch: 1 } }));
    const loaded = await DenseAutoencoder.load(dir, { featureCount: 6 });
    expect(loaded.options).toEqual(fitted.options);
    expect(await loaded.decisionFunction(validation)).toEqual(await fitted.decisionFunction(validation));
    loaded.dispose();
  });
});
