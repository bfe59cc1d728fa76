import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Matrix, PipelineEvent } from '../src/api.js';
import { selectBackend } from '../src/backend.js';
import { AttentionAutoencoder } from '../src/detectors/attention-autoencoder.js';
import { DenseAutoencoder } from '../src/detectors/dense-autoencoder.js';
import { createRandom } from '../src/tf/random.js';

function series(rows: number, seed: number, phase = 0): Matrix {
  const random = createRandom(seed);
  const cols = 4;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = Math.sin((r + phase) / 3);
    const c = Math.cos((r + phase) / 5);
    const noise = () => (random() - 0.5) * 0.05;
    data.set([s + noise(), c + noise(), s + c + noise(), s * c + noise()], r * cols);
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
