import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IsolationForestDetector, isCoreError, type Matrix, type PipelineEvent } from '../src/index.js';

/** Gaussian rows (Box-Muller over a seeded LCG) with a few planted outliers in column 2. */
function dataset(rows: number, cols: number, seed: number): Matrix {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  return { data, rows, cols };
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isCoreError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('IsolationForestDetector', () => {
  // Outliers planted in the training rows: a forest isolates what it has seen (a value beyond the
  // training range walks the same path as the training extreme).
  const train = dataset(2000, 5, 1);
  for (const row of [3, 17, 41]) train.data[row * 5 + 2] = 9; // far out in feature 2 only
  const test: Matrix = { data: train.data.slice(0, 50 * 5), rows: 50, cols: 5 };
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('scores planted outliers highest, fits the threshold, explains by the right feature', async () => {
    const events: PipelineEvent[] = [];
    const detector = new IsolationForestDetector({
      nEstimators: 100,
      maxSamples: 2000, // every tree sees the planted rows
      seed: 3,
      threshold: { kind: 'contamination', contamination: 0.05 },
    });
    await detector.fit(train, { onEvent: (e) => events.push(e) });
    expect(detector.name).toBe('isolation-forest');
    expect(events.at(-1)).toEqual({ type: 'isolation-forest-progress', treesBuilt: 100, trees: 100 });
    const trainFlags = await detector.predict(train);
    expect(trainFlags.reduce((a, b) => a + b, 0)).toBe(100);
    expect(detector.threshold?.description).toMatch(/95th percentile/);

    const scores = await detector.decisionFunction(test);
    const top3 = Array.from(scores.keys())
      .sort((a, b) => scores[b]! - scores[a]!)
      .slice(0, 3)
      .sort((a, b) => a - b);
    expect(top3).toEqual([3, 17, 41]);
    expect(scores.every((s) => s > 0 && s <= 1)).toBe(true);

    const contributions = await detector.featureContributions(test);
    for (const row of [3, 17, 41]) {
      const values = Array.from(contributions.data.subarray(row * 5, row * 5 + 5));
      expect(values.indexOf(Math.max(...values))).toBe(2);
    }
  });

  it('is deterministic per seed and scores identically after save and load', async () => {
    const a = await new IsolationForestDetector({ nEstimators: 50, seed: 9 }).fit(train);
    const b = await new IsolationForestDetector({ nEstimators: 50, seed: 9 }).fit(train);
    const c = await new IsolationForestDetector({ nEstimators: 50, seed: 10 }).fit(train);
    const scoresA = await a.decisionFunction(test);
    expect(Array.from(await b.decisionFunction(test))).toEqual(Array.from(scoresA));
    expect(Array.from(await c.decisionFunction(test))).not.toEqual(Array.from(scoresA));

    const dir = await mkdtemp(join(tmpdir(), 'core-iforest-'));
    dirs.push(dir);
    await a.save(dir);
    const loaded = await IsolationForestDetector.load(dir, { featureCount: 5 });
    expect(Array.from(await loaded.decisionFunction(test))).toEqual(Array.from(scoresA));
    expect(loaded.threshold).toEqual(a.threshold);
    expect(Array.from((await loaded.featureContributions(test)).data)).toEqual(
      Array.from((await a.featureContributions(test)).data),
    );
    expect(await errorCode(IsolationForestDetector.load(dir, { featureCount: 11 }))).toBe('MODEL_MISMATCH');
    // Saved again over its own file; never over a detector.json it did not write.
    await a.save(dir);
    const other = await mkdtemp(join(tmpdir(), 'core-iforest-'));
    dirs.push(other);
    await writeFile(join(other, 'detector.json'), '{"notes":"mine"}');
    expect(await errorCode(a.save(other))).toBe('TARGET_NOT_OURS');
    expect(await readFile(join(other, 'detector.json'), 'utf8')).toBe('{"notes":"mine"}');
  });

  it('gives scores and contributions in one call equal to asking for each', async () => {
    const fitted = await new IsolationForestDetector({ nEstimators: 30, seed: 5 }).fit(train);
    const both = await fitted.scoresWithContributions(train);
    expect(both.scores).toEqual(await fitted.decisionFunction(train));
    // Each contribution is the score's fall when its feature is replaced: against these scores,
    // so never above them, and for the planted rows led by their far-out feature 2.
    for (let r = 0; r < train.rows; r++) {
      for (let c = 0; c < train.cols; c++) {
        expect(both.contributions.data[r * train.cols + c]).toBeLessThanOrEqual(both.scores[r]!);
      }
    }
    for (const row of [3, 17, 41]) {
      const own = both.contributions.data.subarray(row * train.cols, (row + 1) * train.cols);
      expect(own.indexOf(Math.max(...own))).toBe(2);
    }
  });

  it('refuses bad input with typed errors', async () => {
    expect(await errorCode(new IsolationForestDetector().decisionFunction(test))).toBe('NOT_FITTED');
    const fitted = await new IsolationForestDetector({ nEstimators: 10 }).fit(train);
    const narrow = { data: new Float64Array(8), rows: 2, cols: 4 };
    expect(await errorCode(fitted.decisionFunction(narrow))).toBe('MODEL_MISMATCH');
    const nan = { data: test.data.slice(), rows: test.rows, cols: test.cols };
    nan.data[7] = Number.NaN;
    expect(await errorCode(fitted.decisionFunction(nan))).toBe('NON_FINITE_INPUT');
    expect(() => new IsolationForestDetector({ nEstimators: 0 })).toThrow(/nEstimators/);
    expect(await errorCode(new IsolationForestDetector({ extensionLevel: 7 }).fit(train))).toBe(
      'INVALID_ARGUMENT',
    );
    const dir = await mkdtemp(join(tmpdir(), 'core-iforest-'));
    dirs.push(dir);
    expect(await errorCode(IsolationForestDetector.load(dir))).toBe('IO');
  });

  it('refuses an option it does not know, naming it and the known ones, as the pipeline config does', async () => {
    const messageOf = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return isCoreError(error) ? `${error.code} ${error.message}` : String(error);
      }
      return 'none';
    };
    expect(messageOf(() => new IsolationForestDetector({ nEstimator: 5 } as object))).toBe(
      'INVALID_ARGUMENT unknown key nEstimator in IsolationForestDetector options (the keys there are ' +
        'nEstimators, maxSamples, extensionLevel, threads, seed, threshold).',
    );
    // A threshold method's keys too: { contamination } under kind fixed would have been dropped.
    expect(
      messageOf(
        () =>
          new IsolationForestDetector({
            threshold: { kind: 'fixed', value: 0.6, contamination: 0.1 } as never,
          }),
      ),
    ).toMatch(/^INVALID_ARGUMENT unknown key contamination in a fixed threshold \(the keys there are/);
    // undefined sets nothing: the default is used, as when the key is left out.
    expect(
      new IsolationForestDetector({ nEstimators: undefined, nEstimator: undefined } as object).options
        .nEstimators,
    ).toBe(200);
    const fitted = new IsolationForestDetector({ nEstimators: 10, seed: 3 });
    expect(await errorCode(fitted.fit(train, { validaton: test } as object))).toBe('INVALID_ARGUMENT');
    await fitted.fit(train);
    const dir = await mkdtemp(join(tmpdir(), 'core-iforest-'));
    dirs.push(dir);
    await fitted.save(dir);
    await expect(IsolationForestDetector.load(dir, { featureCnt: 5 } as object)).rejects.toThrow(
      /unknown key featureCnt in load expected \(the keys there are featureCount\)/,
    );
    // A model saved while a misspelt option was still kept in the options loads, and scores alike.
    const path = join(dir, 'detector.json');
    const state = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...state, options: { ...state.options, nEstimator: 5 } }));
    const loaded = await IsolationForestDetector.load(dir, { featureCount: 5 });
    expect(loaded.options).toEqual(fitted.options);
    expect(Array.from(await loaded.decisionFunction(test))).toEqual(
      Array.from(await fitted.decisionFunction(test)),
    );
  });
});
