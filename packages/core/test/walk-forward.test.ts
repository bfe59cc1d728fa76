import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kline, type KlineSource, sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isCoreError,
  type PipelineConfigInput,
  type PipelineEvent,
  type PipelineResult,
  runPipeline,
  TrainedPipeline,
} from '../src/index.js';
import { candlesIn, planWalkForward } from '../src/pipeline/walk-forward.js';

function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trim().split('\n');
  const names = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [names[i]!, cell])));
}

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('planWalkForward', () => {
  it('covers every row after the first window once, in order, each fold fitted on the rows just before it', () => {
    for (const [rows, window, step] of [
      [1000, 300, 100],
      [1001, 300, 100],
      [950, 500, 1000],
      [777, 128, 37],
    ] as const) {
      const plan = planWalkForward(rows, '1h', { trainWindow: window, step });
      expect(plan.folds[0]!.scoreStart).toBe(window);
      expect(plan.folds.at(-1)!.scoreEnd).toBe(rows);
      for (const [i, fold] of plan.folds.entries()) {
        expect(fold.scoreStart - fold.windowStart).toBe(window);
        expect(fold.scoreEnd - fold.scoreStart).toBe(
          i < plan.folds.length - 1 ? step : rows - fold.scoreStart,
        );
        if (i > 0) expect(fold.scoreStart).toBe(plan.folds[i - 1]!.scoreEnd);
      }
      expect(plan.folds).toHaveLength(Math.ceil((rows - window) / step));
    }
  });

  it('reads durations in candles of the interval', () => {
    expect(candlesIn('trainWindow', '2y', '1d')).toBe(730);
    expect(candlesIn('step', '3mo', '1d')).toBe(91);
    expect(candlesIn('step', '90d', '4h')).toBe(540);
    expect(candlesIn('step', '6w', '1d')).toBe(42);
    expect(candlesIn('step', '12h', '1h')).toBe(12);
    expect(candlesIn('step', '30m', '1m')).toBe(30);
    expect(candlesIn('step', 250, '1d')).toBe(250);
  });

  it('defaults to two years, at most 10,000 candles and half the history, and at most 24 folds', () => {
    const daily = planWalkForward(3150, '1d');
    expect(daily.trainWindow).toBe(730);
    expect(daily.step).toBe(Math.max(Math.round(730 / 8), Math.ceil((3150 - 730) / 24)));
    expect(daily.folds.length).toBeLessThanOrEqual(24);
    const fourHours = planWalkForward(19_000, '4h');
    expect(fourHours.trainWindow).toBe(4383);
    expect(fourHours.folds.length).toBeLessThanOrEqual(24);
    expect(planWalkForward(72_000, '1h').trainWindow).toBe(10_000);
    expect(planWalkForward(1200, '1h').trainWindow).toBe(600);
  });

  it("says when its default sizes come from the history's length, which moves the folds as it grows", () => {
    // BTCUSDT 1d cut at 2024 and whole (the quant audit): steps 91 and 100, other folds for old rows.
    const cut = planWalkForward(2300, '1d');
    const whole = planWalkForward(3150, '1d');
    expect(cut).toMatchObject({ step: 91, lengthDependent: [] });
    expect(whole.step).toBeGreaterThan(91);
    expect(whole.lengthDependent).toEqual(['the step widened from 91 candles to keep 24 folds']);
    expect(planWalkForward(1200, '1h').lengthDependent).toEqual([
      'the window cut from 10000 candles to half the history',
    ]);
    // Given sizes do not move: the same folds for the rows both histories hold.
    const given = { trainWindow: 730, step: 91 };
    const short = planWalkForward(2300, '1d', given);
    const long = planWalkForward(3150, '1d', given);
    expect(long.lengthDependent).toEqual([]);
    expect(long.folds.slice(0, short.folds.length - 1)).toEqual(short.folds.slice(0, -1));
  });

  it('refuses sizes that are not candles or durations, windows too short or too long, by name', () => {
    const bad = errorOf(() => planWalkForward(1000, '1h', { trainWindow: '2 years' }));
    expect(isCoreError(bad) && bad.code).toBe('INVALID_ARGUMENT');
    expect((bad as Error).message).toMatch(
      /walkForward.trainWindow must be a number of candles or a duration/,
    );
    expect(() => planWalkForward(1000, '1h', { step: 0 })).toThrow(/walkForward.step must be a whole number/);
    expect(() => planWalkForward(1000, '1d', { step: '3h' })).toThrow(/shorter than one 1d candle/);
    expect(() => planWalkForward(1000, '1h', { trainWindow: 50 })).toThrow(/at least 100 candles/);
    const long = errorOf(() => planWalkForward(1000, '1h', { trainWindow: 1000 }));
    expect(isCoreError(long) && long.code).toBe('TOO_FEW_ROWS');
    expect(() => planWalkForward(1000, '1h', { steps: 50 } as never)).toThrow(
      /^unknown key steps in walkForward \(the keys there are step, trainWindow\)\.$/,
    );
  });
});

/** The sample market's candles, with one candle's volume multiplied (the rest untouched). */
function sourceWith(klines: readonly Kline[], changedIndex?: number): KlineSource {
  const candles = klines.map((kline, i) =>
    i === changedIndex
      ? {
          ...kline,
          volume: kline.volume * 20,
          quoteAssetVolume: kline.quoteAssetVolume * 20,
          takerBuyBaseAssetVolume: kline.takerBuyBaseAssetVolume * 20,
          takerBuyQuoteAssetVolume: kline.takerBuyQuoteAssetVolume * 20,
        }
      : kline,
  );
  return {
    describe: () => `sample market${changedIndex === undefined ? '' : `, candle ${changedIndex} changed`}`,
    load: async () => candles,
  };
}

// Small and quick: few trees, epochs and a small attention window (its context rows matter here).
const config: PipelineConfigInput = {
  isolationForest: { nEstimators: 30 },
  autoencoder: { batchSize: 64, epochs: 2 },
  attention: {
    windowSize: 6,
    modelDim: 8,
    heads: 2,
    feedForwardDim: 8,
    latentDim: 4,
    trainingStride: 6,
    epochs: 1,
  },
  threshold: { kind: 'dspot', risk: 0.02, depth: 20 },
};

describe('runPipeline with walkForward', () => {
  const dirs: string[] = [];
  let klines: Kline[];
  let result: PipelineResult;
  const events: PipelineEvent[] = [];
  const walkForward = { trainWindow: 250, step: 100 };

  async function run(source: KlineSource, onEvent?: (event: PipelineEvent) => void) {
    const outDir = await mkdtemp(join(tmpdir(), 'core-walk-forward-'));
    dirs.push(outDir);
    return runPipeline({
      source,
      symbol: 'BTCUSDT',
      interval: '1h',
      outDir,
      seed: 3,
      backend: 'wasm',
      charts: false,
      config,
      walkForward,
      ...(onEvent ? { onEvent } : {}),
    });
  }

  beforeAll(async () => {
    klines = await sampleSource({ count: 620, seed: 11 }).load({ symbol: 'BTCUSDT', interval: '1h' });
    result = await run(sourceWith(klines), (event) => events.push(event));
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('writes the usual files over the rows after the first window, all out of sample, with each row’s threshold', async () => {
    const summary = result.summary;
    const folds = summary.walkForward!.folds;
    const scoredRows = summary.rows.scored;
    const warmup = summary.rows.warmupDropped - 250;
    expect(summary.walkForward).toMatchObject({ trainWindow: 250, step: 100, unscoredRows: 250 });
    expect(scoredRows).toBe(620 - warmup - 250);
    expect(summary.rows).toMatchObject({ candles: 620, train: 0, validation: 0, test: scoredRows });
    // Steps of 100 rows after the first window, the last one what is left (the warm-up depends on the feature set).
    const steps = Array.from({ length: Math.ceil(scoredRows / 100) }, (_, i) =>
      Math.min(100, scoredRows - 100 * i),
    );
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(folds.map((f) => f.scored.rows)).toEqual(steps);
    expect(folds.map((f) => f.window.rows)).toEqual(steps.map(() => 250));
    for (const [i, fold] of folds.entries()) {
      // Fold boundaries: each window ends right before its scored rows; folds follow each other.
      expect(Date.parse(fold.scored.from) - Date.parse(fold.window.to)).toBe(3_600_000);
      if (i > 0) expect(Date.parse(fold.scored.from) - Date.parse(folds[i - 1]!.scored.to)).toBe(3_600_000);
    }
    expect(summary.range.from).toBe(folds[0]!.scored.from);
    expect(summary.trainedOn.to).toBe(Date.parse(folds.at(-1)!.window.to));

    for (const name of ['isolation-forest', 'autoencoder', 'attention', 'consensus'] as const) {
      const rows = parseCsv(await readFile(result.files[name]!, 'utf8'));
      expect(rows).toHaveLength(scoredRows);
      expect(new Set(rows.map((r) => r['split']))).toEqual(new Set(['test']));
      expect(rows.every((r) => Number.isFinite(Number(r['score'])) && r['score'] !== '')).toBe(true);
      // The flag is the score against the row's own threshold, which moves (DSPOT, and per fold).
      for (const row of rows) {
        expect(row['is_anomaly']).toBe(Number(row['score']) > Number(row['threshold']) ? '1' : '0');
      }
      // The detectors' DSPOT thresholds move row by row; the consensus holds one per fold.
      const distinct = new Set(rows.map((r) => r['threshold'])).size;
      if (name === 'consensus') expect(distinct).toBe(folds.length);
      else expect(distinct).toBeGreaterThan(folds.length);
      const flagged = rows.filter((r) => r['is_anomaly'] === '1').length;
      expect(summary.detectors[name]!.flagged.total).toBe(flagged);
      expect(folds.reduce((sum, f) => sum + f.flagged[name]!, 0)).toBe(flagged);
      const range = summary.detectors[name]!.rowThresholds!;
      expect(range.min).toBeLessThan(range.max);
      expect(range.last).toBe(Number(rows.at(-1)!['threshold']));
    }
    const processed = parseCsv(await readFile(result.files['processedData']!, 'utf8'));
    expect(processed).toHaveLength(scoredRows);
  });

  it('says where each fold fits and scores, and runs every detector’s stage once per fold', () => {
    const n = result.summary.walkForward!.folds.length;
    const lines = events.filter((e) => e.type === 'log').map((e) => e.message);
    expect(lines[0]).toMatch(
      new RegExp(`^walk-forward: ${n} folds, each fitted on the 250 candles before it`),
    );
    expect(lines.filter((l) => new RegExp(`^walk-forward fold \\d/${n}: fitting on`).test(l))).toHaveLength(
      n,
    );
    expect(lines.filter((l) => new RegExp(`^walk-forward fold \\d/${n} done in`).test(l))).toHaveLength(n);
    const trained = events.filter(
      (e) => e.type === 'stage' && e.stage === 'attention' && e.status === 'done',
    );
    expect(trained).toHaveLength(n);
    expect(result.summary.timings['attention']).toBeGreaterThan(0);
  });

  it('has no look-ahead: a candle changed after a fold’s end changes nothing in that fold or before', async () => {
    const folds = result.summary.walkForward!.folds;
    // A candle inside fold 2's scored rows: folds 0 and 1 ended before it.
    const changedRow = 250 + 200 + 10;
    const warmup = result.summary.rows.warmupDropped - 250;
    const changed = await run(sourceWith(klines, warmup + changedRow));
    const before = 200;
    for (const name of ['isolation-forest', 'autoencoder', 'attention', 'consensus'] as const) {
      const a = parseCsv(await readFile(result.files[name]!, 'utf8'));
      const b = parseCsv(await readFile(changed.files[name]!, 'utf8'));
      expect(b.slice(0, before)).toEqual(a.slice(0, before));
      expect(changed.summary.walkForward!.folds.slice(0, 2)).toEqual(
        folds
          .slice(0, 2)
          .map((fold, i) => ({ ...fold, elapsedMs: changed.summary.walkForward!.folds[i]!.elapsedMs })),
      );
      // The changed candle itself is scored differently (the test can fail).
      expect(b[changedRow - 250]!['score']).not.toBe(a[changedRow - 250]!['score']);
    }
  });
});

describe('runPipeline with an adaptive threshold (no walk-forward)', () => {
  it('judges training rows against the fitted threshold and every later row against SPOT as it stood', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'core-spot-'));
    try {
      const result = await runPipeline({
        source: sampleSource({ count: 900, seed: 4 }),
        symbol: 'BTCUSDT',
        interval: '1h',
        outDir,
        backend: 'wasm',
        charts: false,
        config: {
          detectors: ['isolation-forest'],
          isolationForest: { nEstimators: 30 },
          threshold: { kind: 'spot' },
        },
      });
      for (const name of ['isolation-forest'] as const) {
        const rows = parseCsv(await readFile(result.files[name]!, 'utf8'));
        const fitted = result.summary.detectors[name]!.threshold;
        expect(fitted.method).toEqual({ kind: 'spot' });
        const train = rows.filter((r) => r['split'] === 'train');
        expect(new Set(train.map((r) => Number(r['threshold'])))).toEqual(new Set([fitted.value]));
        const later = rows.filter((r) => r['split'] !== 'train');
        expect(Number(later[0]!['threshold'])).toBe(fitted.value);
        expect(new Set(later.map((r) => r['threshold'])).size).toBeGreaterThan(1);
        for (const row of rows) {
          expect(row['is_anomaly']).toBe(Number(row['score']) > Number(row['threshold']) ? '1' : '0');
        }
        expect(result.summary.detectors[name]!.flagged.total).toBe(
          rows.filter((r) => r['is_anomaly'] === '1').length,
        );
        expect(result.summary.detectors[name]!.rowThresholds!.last).toBe(Number(rows.at(-1)!['threshold']));
      }
      // The consensus holds where SPOT starts on its training scores, as watch holds it: every
      // row is judged against that one value.
      const consensus = result.summary.detectors.consensus!;
      expect(consensus.threshold.method).toEqual({ kind: 'fixed', value: consensus.threshold.value });
      expect(consensus.threshold.description).toMatch(/^SPOT: starts at .*; held for the consensus/);
      expect(consensus.rowThresholds).toBeUndefined();
      const consensusRows = parseCsv(await readFile(result.files.consensus!, 'utf8'));
      expect(new Set(consensusRows.map((r) => Number(r['threshold'])))).toEqual(
        new Set([consensus.threshold.value]),
      );
      // The model keeps where the adaptive thresholds start, and loads again.
      const model = await TrainedPipeline.load(join(outDir, 'model'));
      expect(model.detectors[0]!.detector.threshold).toEqual(
        result.summary.detectors['isolation-forest']!.threshold,
      );
      expect(model.consensusThreshold).toEqual(consensus.threshold);
      model.dispose();
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
