import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AttentionAutoencoder,
  isCoreError,
  type Matrix,
  type PipelineEvent,
  selectBackend,
} from '../src/index.js';
import { positionalEncoding } from '../src/tf/attention-network.js';
import { createRandom } from '../src/tf/random.js';

/**
 * A series of 4 features driven by two slow oscillations plus noise: [sin, cos, sin + cos, sin · cos].
 * Consecutive rows are related, so a window has structure an attention model can learn.
 */
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

const small = {
  windowSize: 8,
  modelDim: 16,
  heads: 2,
  feedForwardDim: 16,
  latentDim: 8,
  epochs: 12,
  batchSize: 32,
  learningRate: 0.01,
  patience: 12,
  seed: 3,
};

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
const train = series(400, 1);
const validation = series(120, 2, 400);
let fitted: AttentionAutoencoder;
const events: PipelineEvent[] = [];

beforeAll(async () => {
  await selectBackend('wasm');
  fitted = await new AttentionAutoencoder(small).fit(train, {
    validation,
    onEvent: (event) => events.push(event),
  });
  // Generous: the default 10 s hook timeout was exceeded on a loaded 2-core machine.
}, 120_000);
afterAll(async () => {
  fitted.dispose();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('positionalEncoding', () => {
  it('is sin at even and cos at odd dimensions of position / 10000^(2i/d)', () => {
    const encoding = positionalEncoding(3, 4);
    expect(encoding[0]).toBe(0);
    expect(encoding[1]).toBe(1);
    expect(encoding[4]).toBeCloseTo(Math.sin(1), 6);
    expect(encoding[5]).toBeCloseTo(Math.cos(1), 6);
    expect(encoding[2 * 4 + 2]).toBeCloseTo(Math.sin(2 / 100), 6);
  });
});

describe('AttentionAutoencoder', () => {
  it('learns the series: the loss falls, epochs are reported', () => {
    const history = fitted.history!;
    expect(history.loss.at(-1)!).toBeLessThan(history.loss[0]! / 3);
    expect(history.valLoss.at(-1)!).toBeLessThan(history.valLoss[0]! / 3);
    const epochs = events.filter((event) => event.type === 'epoch');
    expect(epochs.length).toBe(small.epochs);
    expect(epochs[0]).toMatchObject({ detector: 'attention', epoch: 1, epochs: small.epochs });
    expect(events.some((event) => event.type === 'batch' && event.detector === 'attention')).toBe(true);
  });

  it('scores every row, the planted one highest, using no later row', async () => {
    const test = series(150, 3, 520);
    const planted = 90;
    test.data[planted * test.cols + 2] = test.data[planted * test.cols + 2]! + 2;
    const scores = await fitted.decisionFunction(test);
    expect(scores.length).toBe(150);
    expect(scores.every(Number.isFinite)).toBe(true);
    expect(argMax(scores)).toBe(planted);
    const contributions = await fitted.featureContributions(test);
    expect(argMax(contributions.data.subarray(planted * 4, planted * 4 + 4))).toBe(2);
    // No look-ahead: rows before the planted one score the same with or without it.
    const clean = series(150, 3, 520);
    const cleanScores = await fitted.decisionFunction(clean);
    expect(Array.from(scores.subarray(0, planted))).toEqual(Array.from(cleanScores.subarray(0, planted)));
    expect(scores[planted]).not.toBe(cleanScores[planted]);
  });

  it('pads the first windows by repeating the first row', async () => {
    const test = series(40, 4, 700);
    const scores = await fitted.decisionFunction(test);
    // Row 0's window is 8 copies of row 0: the same as scoring a series of 8 copies of row 0.
    const repeated: Matrix = { data: new Float64Array(8 * 4), rows: 8, cols: 4 };
    for (let r = 0; r < 8; r++) repeated.data.set(test.data.subarray(0, 4), r * 4);
    const repeatedScores = await fitted.decisionFunction(repeated);
    expect(scores[0]).toBeCloseTo(repeatedScores[7]!, 6);
  });

  it('gives the same scores for the same seed', async () => {
    const options = { ...small, epochs: 2 };
    const a = await new AttentionAutoencoder(options).fit(train, { validation });
    const b = await new AttentionAutoencoder(options).fit(train, { validation });
    const c = await new AttentionAutoencoder({ ...options, seed: 4 }).fit(train, { validation });
    const scores = await a.decisionFunction(validation);
    expect(await b.decisionFunction(validation)).toEqual(scores);
    expect(await c.decisionFunction(validation)).not.toEqual(scores);
    for (const detector of [a, b, c]) detector.dispose();
  });

  it('stops early and keeps the best epoch; abort stops training', async () => {
    const random = createRandom(5);
    const noise: Matrix = {
      data: Float64Array.from({ length: 60 * 4 }, () => random() * 6 - 3),
      rows: 60,
      cols: 4,
    };
    const seen: PipelineEvent[] = [];
    const detector = await new AttentionAutoencoder({
      ...small,
      epochs: 30,
      patience: 2,
      learningRate: 0.05,
    }).fit(train, { validation: noise, onEvent: (event) => seen.push(event) });
    const history = detector.history!;
    expect(history.stoppedEarly).toBe(true);
    expect(history.epochsRun).toBe(history.bestEpoch + 2);
    expect(seen.some((event) => event.type === 'early-stop')).toBe(true);
    detector.dispose();

    const controller = new AbortController();
    const aborted = new AttentionAutoencoder(small);
    const error = await aborted
      .fit(train, {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'batch') controller.abort();
        },
      })
      .catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('AbortError');
    expect(await codeOf(aborted.decisionFunction(validation))).toBe('NOT_FITTED');
  });

  it('raises the training stride to keep at most maxTrainingWindows windows per epoch', async () => {
    const seen: PipelineEvent[] = [];
    // 400 rows, window 8: 393 full windows; at most 50 → stride 8 → 49 windows from a seeded offset.
    const options = { ...small, epochs: 2, maxTrainingWindows: 50, batchSize: 7 };
    const detector = await new AttentionAutoencoder(options).fit(train, {
      onEvent: (event) => seen.push(event),
    });
    // 49 windows in batches of 7: 7 batches per epoch, in both epochs.
    const batches = seen.filter((event) => event.type === 'batch');
    expect(batches.every((event) => event.type === 'batch' && event.batches === 7)).toBe(true);
    expect(batches.length).toBe(14);
    detector.dispose();
  });

  it('saves and loads: the loaded model scores identically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attention-test-'));
    dirs.push(dir);
    await fitted.save(dir);
    const loaded = await AttentionAutoencoder.load(dir, { featureCount: 4 });
    expect(await loaded.decisionFunction(validation)).toEqual(await fitted.decisionFunction(validation));
    expect(loaded.threshold).toEqual(fitted.threshold);
    loaded.dispose();
    expect(await codeOf(AttentionAutoencoder.load(dir, { featureCount: 5 }))).toBe('MODEL_MISMATCH');
    const state = JSON.parse(await readFile(join(dir, 'detector.json'), 'utf8'));
    await writeFile(join(dir, 'detector.json'), JSON.stringify({ ...state, formatVersion: 2 }));
    expect(await codeOf(AttentionAutoencoder.load(dir))).toBe('MODEL_MISMATCH');
  });

  it('does not leak tensors', async () => {
    const options = { ...small, epochs: 1 };
    (await new AttentionAutoencoder(options).fit(train)).dispose();
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const detector = await new AttentionAutoencoder({ ...options, epochs: 4 }).fit(train, {
      validation,
      onEvent: (event) => {
        if (event.type === 'epoch') counts.push(tf.memory().numTensors);
      },
    });
    expect(new Set(counts.slice(1)).size).toBe(1);
    await detector.decisionFunction(validation);
    detector.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad input with typed errors', async () => {
    const bad = series(40, 6);
    bad.data[13] = Number.NaN;
    expect(await codeOf(new AttentionAutoencoder(small).fit(bad))).toBe('NON_FINITE_INPUT');
    expect(await codeOf(fitted.decisionFunction(bad))).toBe('NON_FINITE_INPUT');
    expect(await codeOf(new AttentionAutoencoder(small).fit(series(8, 1)))).toBe('TOO_FEW_ROWS');
    const short = await new AttentionAutoencoder(small).fit(series(8, 1)).catch((caught: Error) => caught);
    expect((short as Error).message).toMatch(
      /train has 8 rows.*at least 9 \(two full windows of windowSize 8/,
    );
    expect(await codeOf(fitted.decisionFunction(series(5, 1)))).toBe('TOO_FEW_ROWS');
    const wide: Matrix = { data: new Float64Array(50), rows: 10, cols: 5 };
    expect(await codeOf(fitted.decisionFunction(wide))).toBe('MODEL_MISMATCH');
    expect(await codeOf(new AttentionAutoencoder(small).decisionFunction(validation))).toBe('NOT_FITTED');
    expect(() => new AttentionAutoencoder({ modelDim: 30, heads: 4 })).toThrow(/divisible/);
    expect(() => new AttentionAutoencoder({ windowSize: 1 })).toThrow(/windowSize/);
  });

  it('refuses an option it does not know, and loads a model saved with one', async () => {
    expect(() => new AttentionAutoencoder({ windowsize: 8 } as object)).toThrow(
      /^unknown key windowsize in AttentionAutoencoder options \(the keys there are windowSize, /,
    );
    const dir = await mkdtemp(join(tmpdir(), 'attention-test-'));
    dirs.push(dir);
    await fitted.save(dir);
    const path = join(dir, 'detector.json');
    const state = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...state, options: { ...state.options, windowsize: 8 } }));
    const loaded = await AttentionAutoencoder.load(dir, { featureCount: 4 });
    expect(loaded.options).toEqual(fitted.options);
    expect(await loaded.decisionFunction(validation)).toEqual(await fitted.decisionFunction(validation));
    loaded.dispose();
  });
});
