import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Matrix, PipelineEvent } from '../src/api.js';
import { selectBackend } from '../src/backend.js';
import { AttentionAutoencoder } from '../src/detectors/attention-autoencoder.js';
import { learningRateAt } from '../src/detectors/autoencoder.js';
import { DenseAutoencoder } from '../src/detectors/dense-autoencoder.js';
import { AttentionNetwork } from '../src/tf/attention-network.js';
import { createRandom } from '../src/tf/random.js';
import { tf } from '../src/tf/tensorflow.js';

/** Four features of two slow oscillations plus noise; `spikes` rows get +4 on every feature. */
function series(rows: number, seed: number, phase = 0, spikes: readonly number[] = []): Matrix {
  const random = createRandom(seed);
  const cols = 4;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = Math.sin((r + phase) / 3);
    const c = Math.cos((r + phase) / 5);
    const noise = () => (random() - 0.5) * 0.05;
    const spike = spikes.includes(r) ? 4 : 0;
    data.set(
      [s + noise() + spike, c + noise() + spike, s + c + noise() + spike, s * c + noise() + spike],
      r * cols,
    );
  }
  return { data, rows, cols };
}

const train = series(300, 1);
const validation = series(80, 2, 300);
/** The training rows followed by 80 later ones, as the pipeline scores a whole history. */
const history: Matrix = {
  data: Float64Array.from([...train.data, ...validation.data]),
  rows: train.rows + validation.rows,
  cols: train.cols,
};
const dense = { hiddenLayers: [8, 2], batchSize: 32, learningRate: 0.01, seed: 4 };
const attention = {
  windowSize: 6,
  modelDim: 8,
  heads: 2,
  feedForwardDim: 8,
  latentDim: 4,
  batchSize: 32,
  learningRate: 0.01,
  seed: 4,
};
const dirs: string[] = [];

beforeAll(async () => {
  await selectBackend('wasm');
});
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('early stopping on a plateau', () => {
  it('warns, and says so in the history, when the best epoch is the cap', async () => {
    const events: PipelineEvent[] = [];
    const detector = await new DenseAutoencoder({ ...dense, epochs: 3, patience: 5 }).fit(train, {
      validation,
      onEvent: (event) => events.push(event),
    });
    // Three epochs of a fresh network: the validation loss is still falling.
    expect(detector.history!.bestEpoch).toBe(3);
    expect(detector.history!.epochCap).toBe(3);
    const warnings = events.filter((e) => e.type === 'log' && e.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ message: expect.stringContaining('Raise its epochs') });
    detector.dispose();
  });

  it('stops when the loss falls by less than minImprovement, keeping the lowest loss', async () => {
    const run = async (minImprovement: number) => {
      const detector = await new DenseAutoencoder({ ...dense, epochs: 40, patience: 2, minImprovement }).fit(
        train,
        { validation },
      );
      const h = detector.history!;
      detector.dispose();
      return h;
    };
    const strict = await run(0.9);
    // Only a 90% fall would count: patience runs out two epochs after the first.
    expect(strict.epochsRun).toBe(3);
    expect(strict.stoppedEarly).toBe(true);
    expect(strict.bestValLoss).toBe(Math.min(...strict.valLoss));
    const any = await run(0);
    expect(any.epochsRun).toBeGreaterThan(3);
  });

  it('refuses a minImprovement outside [0, 1)', () => {
    expect(() => new DenseAutoencoder({ minImprovement: 1 })).toThrow(
      /minImprovement must be a number in \[0, 1\)/,
    );
    expect(() => new AttentionAutoencoder({ minImprovement: -0.1 })).toThrow(/minImprovement/);
  });
});

describe('scoring after fit reuses the training rows', () => {
  it.each([
    ['dense', () => new DenseAutoencoder({ ...dense, epochs: 3 }), DenseAutoencoder.load],
    ['attention', () => new AttentionAutoencoder({ ...attention, epochs: 2 }), AttentionAutoencoder.load],
  ] as const)(
    '%s: the same scores and contributions as a model scoring from scratch',
    async (_, create, load) => {
      const fitted = await create().fit(train, { validation });
      const dir = await mkdtemp(join(tmpdir(), 'core-reuse-'));
      dirs.push(dir);
      await fitted.save(dir);
      // A loaded model has no training rows to reuse: it computes every row.
      const fresh = await load(dir, { featureCount: 4 });
      const both = await fitted.scoresWithContributions(history);
      expect(both.scores).toEqual(await fresh.decisionFunction(history));
      expect(both.contributions.data).toEqual((await fresh.featureContributions(history)).data);
      expect(await fitted.decisionFunction(history)).toEqual(both.scores);
      // Rows that do not start with the training rows are computed, not reused.
      const later: Matrix = { data: history.data.subarray(40), rows: history.rows - 10, cols: 4 };
      expect(await fitted.decisionFunction(later)).toEqual(await fresh.decisionFunction(later));
      fitted.dispose();
      fresh.dispose();
    },
  );
});

describe('learningRateAt', () => {
  it('cosine falls from the learning rate at the first epoch to 1% of it at the cap', () => {
    const rates = Array.from({ length: 20 }, (_, i) => learningRateAt(i + 1, 20, 0.003, 'cosine'));
    expect(rates[0]).toBeCloseTo(0.003, 12);
    expect(rates[19]).toBeCloseTo(0.00003, 12);
    for (let i = 1; i < rates.length; i++) expect(rates[i]!).toBeLessThan(rates[i - 1]!);
    // Half way, half way between the two ends.
    expect(learningRateAt(11, 21, 1, 'cosine')).toBeCloseTo(0.505, 12);
  });

  it('constant keeps it, and one epoch is trained at the full rate', () => {
    expect(learningRateAt(7, 20, 0.003, 'constant')).toBe(0.003);
    expect(learningRateAt(1, 1, 0.003, 'cosine')).toBe(0.003);
  });
});

describe('trimmed training loss', () => {
  it('is the plain loss, and its gradient, over the windows left after the largest errors', () => {
    const architecture = {
      featureCount: 4,
      windowSize: 6,
      modelDim: 8,
      heads: 2,
      feedForwardDim: 8,
      latentDim: 4,
      blocks: 1,
    };
    const network = new AttentionNetwork(
      architecture,
      AttentionNetwork.initialWeights(architecture, createRandom(9)),
    );
    const data = series(48, 2, 0, [7, 30]);
    const windows = new Float32Array(8 * 6 * 4);
    for (let i = 0; i < 8; i++)
      windows.set(Float32Array.from(data.data.subarray(i * 24, i * 24 + 24)), i * 24);
    try {
      tf.tidy(() => {
        const x = tf.tensor3d(windows, [8, 6, 4]);
        const errors = tf.mean(tf.squaredDifference(network.reconstruct(x), x), [1, 2]).dataSync();
        // A quarter of 8 windows: the two with the largest errors are left out.
        const kept = Array.from(errors.keys())
          .sort((a, b) => errors[a]! - errors[b]!)
          .slice(0, 6)
          .sort((a, b) => a - b);
        const trimmed = network.lossAndGradient(x, 0.25);
        const plain = network.lossAndGradient(tf.gather(x, kept) as typeof x, 0);
        const [trimmedLoss, plainLoss] = [trimmed.loss.dataSync()[0]!, plain.loss.dataSync()[0]!];
        expect(Math.abs(trimmedLoss - plainLoss)).toBeLessThan(1e-5 * plainLoss);
        const a = trimmed.gradient.dataSync();
        const b = plain.gradient.dataSync();
        let largest = 0;
        for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(b[i]!));
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5 * largest);
        // And it is not the untrimmed gradient.
        const full = network.lossAndGradient(x, 0).gradient.dataSync();
        let differs = 0;
        for (let i = 0; i < a.length; i++) differs = Math.max(differs, Math.abs(a[i]! - full[i]!));
        expect(differs).toBeGreaterThan(1e-3 * largest);
      });
    } finally {
      network.dispose();
    }
  });

  it('keeps anomalies in the training rows standing out', async () => {
    // Twelve spikes among 400 training rows (3%): fitted with the plain mean the model learns to
    // reconstruct them as well; trimmed, they add nothing to the gradient.
    const spikes = [40, 73, 101, 140, 177, 205, 238, 262, 301, 333, 356, 389];
    const spiked = series(400, 1, 0, spikes);
    const standOut = async (trimmedShare: number) => {
      const detector = await new AttentionAutoencoder({
        ...attention,
        epochs: 25,
        patience: 25,
        learningRateSchedule: 'constant',
        trimmedShare,
      }).fit(spiked);
      const scores = await detector.decisionFunction(spiked);
      detector.dispose();
      const sorted = Float64Array.from(scores).sort();
      const median = sorted[sorted.length >> 1]!;
      return Math.min(...spikes.map((r) => scores[r]!)) / median;
    };
    const plain = await standOut(0);
    const trimmed = await standOut(0.1);
    expect(trimmed).toBeGreaterThan(plain);
  }, 120_000);

  it('refuses a share outside [0, 0.5)', () => {
    expect(() => new AttentionAutoencoder({ trimmedShare: 0.5 })).toThrow(
      /trimmedShare must be a number in \[0, 0.5\)/,
    );
    expect(() => new AttentionAutoencoder({ trimmedShare: -0.1 })).toThrow(/trimmedShare/);
    expect(() => new AttentionAutoencoder({ learningRateSchedule: 'linear' as 'cosine' })).toThrow(
      /learningRateSchedule must be "constant" or "cosine"/,
    );
  });
});

describe('the learning-rate schedule in training', () => {
  const shortTrain = series(200, 1);
  const shortValidation = series(60, 3);

  it('trains the first epoch at the full rate and the later ones slower', async () => {
    const losses = async (learningRateSchedule: 'constant' | 'cosine') => {
      const detector = await new AttentionAutoencoder({
        ...attention,
        epochs: 4,
        patience: 4,
        learningRateSchedule,
      }).fit(shortTrain, { validation: shortValidation });
      const history = detector.history!;
      detector.dispose();
      return history.loss;
    };
    const constant = await losses('constant');
    const cosine = await losses('cosine');
    expect(cosine[0]).toBe(constant[0]);
    expect(cosine[2]).not.toBe(constant[2]);
  }, 120_000);

  it('warns of a cut-short training only when the loss still fell by minImprovement at the cap', async () => {
    const fit = async (minImprovement: number) => {
      const events: PipelineEvent[] = [];
      const detector = await new AttentionAutoencoder({
        ...attention,
        epochs: 3,
        patience: 5,
        minImprovement,
      }).fit(train, { validation, onEvent: (event) => events.push(event) });
      const history = detector.history!;
      detector.dispose();
      return { history, warnings: events.filter((e) => e.type === 'log' && e.level === 'warn') };
    };
    // Three epochs of a fresh network: the best is the last, still falling by more than 0.
    const falling = await fit(0);
    expect(falling.history.bestEpoch).toBe(3);
    expect(falling.history.stillFalling).toBe(true);
    expect(falling.warnings).toHaveLength(1);
    // The same run judged by a 90% fall: the loss had settled, by that measure, at the cap.
    const settled = await fit(0.9);
    expect(settled.history.bestEpoch).toBe(3);
    expect(settled.history.stillFalling).toBe(false);
    expect(settled.warnings).toHaveLength(0);
  }, 120_000);
});
