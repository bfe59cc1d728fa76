import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleMarket, type Kline, sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CandleScore,
  isCoreError,
  type PipelineConfigInput,
  TrainedPipeline,
  trainPipeline,
} from '../src/index.js';
import { alertsOf, StreamScorer, scoreMany } from '../src/streaming/stream-scorer.js';

// Small and quick, as in pipeline.test.ts: the wasm backend, few trees and epochs.
const config: PipelineConfigInput = {
  isolationForest: { nEstimators: 50 },
  autoencoder: { batchSize: 128 },
  attention: { windowSize: 8, modelDim: 16, heads: 2, feedForwardDim: 16, latentDim: 8, trainingStride: 4 },
};
// The autoencoders compute in float32: a row scored in a batch of another size may round differently.
const RELATIVE = 1e-6;

function close(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= RELATIVE * Math.max(Math.abs(expected), 1e-12);
}

let dir: string;
let pipeline: TrainedPipeline;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'core-stream-'));
  const trained = await trainPipeline({
    source: sampleSource({ count: 1000, seed: 5 }),
    symbol: 'BTCUSDT',
    interval: '1h',
    modelDir: join(dir, 'model'),
    seed: 3,
    epochs: 2,
    backend: 'wasm',
    config,
  });
  trained.pipeline.dispose();
  // Scorers are built from a loaded model, as the watch command builds them.
  pipeline = await TrainedPipeline.load(join(dir, 'model'));
});
afterAll(async () => {
  pipeline?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A scorer warmed up on `historyNeeded` candles before `from`, then scoring `count` candles one by one. */
async function streamed(
  klines: readonly Kline[],
  from: number,
  count: number,
  thresholds: 'fitted' | 'dspot',
) {
  const scorer = new StreamScorer(pipeline, { symbol: 'BTCUSDT', interval: '1h', thresholds });
  const start = from - scorer.historyNeeded;
  scorer.warmUp(klines.slice(start, from));
  const scores: CandleScore[] = [];
  for (let i = from; i < from + count; i++) scores.push(await scorer.score(klines[i]!));
  return { scorer, scores, start };
}

describe('StreamScorer', () => {
  it('needs the features warm-up plus the attention window, or the context window plus one', () => {
    const scorer = new StreamScorer(pipeline, { symbol: 'BTCUSDT', interval: '1h' });
    // Default features: the relative set's warm-up of 58 (50-candle levels of an 8-return
    // volatility), attention window 8 (7 earlier rows), context window 30.
    expect(scorer.historyNeeded).toBe(Math.max(58 + 7, 31));
    expect(
      new StreamScorer(pipeline, { symbol: 'X', interval: '1h', contextWindow: 100 }).historyNeeded,
    ).toBe(101);
  });

  it("refuses an unknown interval, and another than the model's unless allowOtherInterval", () => {
    const refusal = (options: object) => {
      try {
        new StreamScorer(pipeline, { symbol: 'BTCUSDT', interval: '1h', ...options });
      } catch (error) {
        return isCoreError(error) ? `${error.code} ${error.message}` : error;
      }
      return 'accepted';
    };
    for (const interval of ['7m', '1H', '', undefined]) {
      expect(refusal({ interval })).toMatch(/^INVALID_ARGUMENT interval must be one of 1s, 1m, 3m, .*, got /);
    }
    expect(refusal({ symbol: '' })).toMatch(/^INVALID_ARGUMENT symbol must be a non-empty string/);
    // The model's windows count hours: minutes would be misjudged.
    expect(refusal({ interval: '1m' })).toMatch(
      /^MODEL_MISMATCH The model was trained on BTCUSDT 1h candles, not 1m: .*allowOtherInterval: true/,
    );
    expect(refusal({ interval: '1m', allowOtherInterval: true })).toBe('accepted');
    // Another market's thresholds are the caller's call; the scorer says why in its warnings.
    expect(refusal({ symbol: 'ETHUSDT' })).toBe('accepted');
    const scorerOf = (options: object) =>
      new StreamScorer(pipeline, { symbol: 'BTCUSDT', interval: '1h', ...options });
    expect(scorerOf({}).warnings).toEqual([]);
    expect(scorerOf({ symbol: 'ETHUSDT' }).warnings).toEqual([
      expect.stringMatching(/^the model was trained on BTCUSDT, not ETHUSDT: /),
    ]);
    expect(scorerOf({ interval: '1m', allowOtherInterval: true }).warnings).toEqual([
      expect.stringMatching(/1h/),
    ]);
  });

  it('scores each candle as pipeline.scoreKlines scores it over the same history, every detector and the consensus', async () => {
    const { klines } = generateSampleMarket({ count: 400, seed: 21 });
    const from = 300;
    const count = 40;
    const { scores, start } = await streamed(klines, from, count, 'fitted');
    const batch = await pipeline.scoreKlines(klines.slice(start, from + count));
    const offset = from - start - batch.table.warmupRows;
    const mismatches: string[] = [];
    scores.forEach((score, i) => {
      expect(score.openTime).toBe(batch.table.times[offset + i]);
      const expected = [...batch.detectors, batch.consensus];
      expect(score.detectors.map((d) => d.name)).toEqual(expected.map((d) => d.name));
      score.detectors.forEach((d, k) => {
        const e = expected[k]!;
        if (!close(d.score, e.scores[offset + i]!))
          mismatches.push(`${d.name} @${i}: ${d.score} vs ${e.scores[offset + i]}`);
        expect(d.thresholdKind).toBe('fitted');
        expect(d.threshold).toBe(e.threshold.value);
        expect(d.flagged ? 1 : 0).toBe(e.flags[offset + i]);
      });
    });
    expect(mismatches).toEqual([]);
  });

  it('scoreMany over several symbols (one candle twice) equals scoring each alone', async () => {
    const markets = [3, 4, 6].map(
      (seed) => generateSampleMarket({ count: 160, seed, symbol: `S${seed}` }).klines,
    );
    const make = () =>
      markets.map((klines, i) => {
        const scorer = new StreamScorer(pipeline, { symbol: `S${i}`, interval: '1h' });
        scorer.warmUp(klines.slice(0, 100));
        return scorer;
      });
    const alone = make();
    const expected: CandleScore[][] = alone.map(() => []);
    for (let t = 100; t < 110; t++) {
      for (let s = 0; s < alone.length; s++) expected[s]!.push(await alone[s]!.score(markets[s]![t]!));
    }
    const together = make();
    const got: CandleScore[][] = together.map(() => []);
    for (let t = 100; t < 110; t += 2) {
      // A burst with two candles of the first symbol (a back-fill) and one of each other, per step.
      const items = [
        { scorer: together[0]!, kline: markets[0]![t]! },
        { scorer: together[1]!, kline: markets[1]![t]! },
        { scorer: together[0]!, kline: markets[0]![t + 1]! },
        { scorer: together[2]!, kline: markets[2]![t]! },
        { scorer: together[1]!, kline: markets[1]![t + 1]! },
        { scorer: together[2]!, kline: markets[2]![t + 1]! },
      ];
      const scores = await scoreMany(items);
      items.forEach((item, i) => {
        got[together.indexOf(item.scorer)]!.push(scores[i]!);
      });
    }
    for (let s = 0; s < alone.length; s++) {
      expect(got[s]!.map((c) => c.openTime)).toEqual(expected[s]!.map((c) => c.openTime));
      got[s]!.forEach((candle, i) => {
        const want = expected[s]![i]!;
        expect(candle.symbol).toBe(`S${s}`);
        candle.detectors.forEach((d, k) => {
          const w = want.detectors[k]!;
          expect(close(d.score, w.score), `${d.name} ${d.score} vs ${w.score}`).toBe(true);
          expect(close(d.threshold, w.threshold)).toBe(true);
          expect(d.thresholdKind).toBe(w.thresholdKind);
          expect(d.flagged).toBe(w.flagged);
        });
      });
    }
  });

  it('refuses an option it does not know, here and in the pipeline it scores with', async () => {
    expect(
      () => new StreamScorer(pipeline, { symbol: 'A', interval: '1h', threshold: 'spot' } as never),
    ).toThrow(/^unknown key threshold in StreamScorer options \(the keys there are thresholds, symbol, /);
    // With fitted thresholds nothing reads the SPOT settings: they are checked all the same.
    expect(
      () =>
        new StreamScorer(pipeline, {
          symbol: 'A',
          interval: '1h',
          thresholds: 'fitted',
          spot: { riks: 0.1 },
        } as never),
    ).toThrow(/unknown key riks in StreamScorer options.spot \(the keys there are risk, /);
    const scorer = new StreamScorer(pipeline, { symbol: 'A', interval: '1h', thresholds: undefined });
    expect(scorer.options.thresholds).toBe('dspot');
    const { klines } = generateSampleMarket({ count: 120, seed: 8 });
    await expect(pipeline.scoreKlines(klines, { contribution: false } as never)).rejects.toThrow(
      /^unknown key contribution in scoreKlines options \(the keys there are contributions, signal, stage\)\.$/,
    );
    await expect(TrainedPipeline.load(join(dir, 'model'), { backed: 'wasm' } as never)).rejects.toThrow(
      /unknown key backed in load options \(the keys there are backend\)/,
    );
  });

  it('refuses a candle out of order or before the warm-up, leaving every scorer unchanged', async () => {
    const { klines } = generateSampleMarket({ count: 120, seed: 8 });
    const ready = new StreamScorer(pipeline, { symbol: 'A', interval: '1h' });
    ready.warmUp(klines.slice(0, 100));
    const cold = new StreamScorer(pipeline, { symbol: 'B', interval: '1h' });
    cold.warmUp(klines.slice(0, 5));
    await expect(
      scoreMany([
        { scorer: ready, kline: klines[100]! },
        { scorer: cold, kline: klines[5]! },
      ]),
    ).rejects.toThrow(/B: the scorer has taken 5 candles/);
    expect(ready.lastOpenTime).toBe(klines[99]!.openTime);
    await expect(ready.score(klines[99]!)).rejects.toThrow(/must open after the last one/);
    expect((await ready.score(klines[100]!)).openTime).toBe(klines[100]!.openTime);
  });

  it('adapts the consensus threshold only when asked, after its calibration scores', async () => {
    const { klines } = generateSampleMarket({ count: 160, seed: 2 });
    const kinds = async (options: { adaptiveConsensus?: boolean }) => {
      const scorer = new StreamScorer(pipeline, {
        symbol: 'BTCUSDT',
        interval: '1h',
        consensusCalibration: 10,
        ...options,
      });
      scorer.warmUp(klines.slice(0, 100));
      const seen: string[] = [];
      for (let i = 100; i < 115; i++)
        seen.push((await scorer.score(klines[i]!)).detectors.at(-1)!.thresholdKind);
      return seen;
    };
    expect(new Set(await kinds({}))).toEqual(new Set(['fitted']));
    const adaptive = await kinds({ adaptiveConsensus: true });
    expect(adaptive.slice(0, 10)).toEqual(Array(10).fill('fitted'));
    expect(adaptive.at(-1)).toBe('dspot');
  });

  it('alerts on a shock with every field of the contract, a stable id and a one-line reason', async () => {
    const { klines } = generateSampleMarket({ count: 120, seed: 1 });
    const scorer = new StreamScorer(pipeline, { symbol: 'BTCUSDT', interval: '1h' });
    scorer.warmUp(klines.slice(0, 100));
    const last = klines[99]!;
    const shock: Kline = {
      ...klines[100]!,
      open: last.close,
      close: last.close * 0.8,
      low: last.close * 0.75,
      high: last.close * 1.01,
      volume: klines[100]!.volume * 30,
      takerBuyBaseAssetVolume: klines[100]!.volume * 3,
    };
    const score = await scorer.score(shock);
    expect(score.detectors.map((d) => d.name)).toEqual([
      'isolation-forest',
      'autoencoder',
      'attention',
      'consensus',
    ]);
    expect(score.detectors.slice(0, 3).map((d) => d.thresholdKind)).toEqual(['dspot', 'dspot', 'dspot']);
    // The consensus keeps its fitted threshold unless adaptiveConsensus is asked for.
    expect(score.detectors[3]!.thresholdKind).toBe('fitted');
    const alerts = scorer.alertsOf(score);
    expect(alerts.map((a) => a.detector)).toEqual(
      score.detectors.filter((d) => d.flagged).map((d) => d.name),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(3);
    const alert = alerts[0]!;
    expect(alert.id).toBe(`BTCUSDT:1h:${shock.openTime}:${alert.detector}`);
    expect(alert.time).toBe(new Date(shock.openTime).toISOString());
    expect(alert).toMatchObject({
      symbol: 'BTCUSDT',
      interval: '1h',
      openTime: shock.openTime,
      close: shock.close,
      volume: shock.volume,
    });
    expect(alert.logReturn).toBeCloseTo(Math.log(0.8), 12);
    expect(alert.returnVolatilityMultiple).toBeGreaterThan(5);
    expect(alert.volumeMedianMultiple).toBeGreaterThan(10);
    expect(alert.scores).toHaveLength(4);
    expect(alert.topFeatures.length).toBeGreaterThan(0);
    expect(alert.reason).toMatch(
      /^return -20\.0% = \d+\.\dx recent volatility; volume \d+\.\dx median; top: [a-z_]+(, [a-z_]+)*$/,
    );
    expect(alertsOf(score).map((a) => a.id)).toEqual(alerts.map((a) => a.id));
  });

  it('shares one model between scorers, weights not copied', () => {
    const a = new StreamScorer(pipeline, { symbol: 'A', interval: '1h' });
    const b = new StreamScorer(pipeline, { symbol: 'B', interval: '1h' });
    expect(a.pipeline).toBe(b.pipeline);
  });
});
