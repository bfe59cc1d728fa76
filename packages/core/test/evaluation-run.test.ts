import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLDER_MARKER_FILE } from '../src/api.js';
import { isCoreError } from '../src/errors.js';
import type { EvaluationInput, EvaluationReport } from '../src/evaluation/api.js';
import { labelsFromEvents, parseEventsCsv } from '../src/evaluation/labels.js';
import { evaluateRun } from '../src/evaluation/run-evaluation.js';
import { readAnomaliesFile, readRunScores } from '../src/evaluation/run-folder.js';
import { evaluationInputFromScores } from '../src/evaluation/stored-scores.js';
import {
  explainableCandles,
  explainableShare,
  explainableShareOf,
  judgedCandles,
} from '../src/evaluation/unlabelled.js';
import {
  evaluationTestHooks,
  prepareEvaluationTarget,
  writeEvaluation,
} from '../src/evaluation/write-evaluation.js';
import { evaluationChartSpec, renderEvaluationChart } from '../src/outputs/evaluation-chart.js';
import { prepareTarget } from '../src/outputs/owned-folder.js';
import { runPipeline } from '../src/pipeline/run-pipeline.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

/** The error a call throws (synchronously or not), without leaving a rejected promise unhandled. */
async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

/**
 * 12 hourly candles; labelled event over rows 4..5; one detector flagging rows 4 and 8 (scores
 * rank row 4 first, row 8 second, row 5 third), and a consensus flagging nothing.
 */
function smallRun(): EvaluationInput {
  const scores = [0.1, 0.2, 0.15, 0.05, 0.9, 0.7, 0.3, 0.25, 0.8, 0.12, 0.11, 0.13];
  return {
    symbol: 'TESTUSDT',
    intervalMs: HOUR,
    candles: scores.map((_, i) => ({ openTime: T0 + i * HOUR, close: 100 + i, volume: 10 })),
    splits: scores.map((_, i) => (i < 8 ? 'train' : 'test')),
    detectors: [
      { name: 'isolation-forest', scores, flags: scores.map((s) => (s > 0.75 ? 1 : 0)), threshold: 0.75 },
      { name: 'consensus', scores, flags: scores.map(() => 0), threshold: 1 },
    ],
  };
}

describe('labels on candles', () => {
  it('labels every candle an event overlaps, widened by the tolerance', () => {
    const times = Array.from({ length: 6 }, (_, i) => T0 + i * HOUR);
    // 02:27 lies in the 02:00 candle; as an instant it would fall between rows.
    const at = T0 + 2 * HOUR + 27 * 60_000;
    expect(labelsFromEvents(times, [at]).ranges).toEqual([]);
    expect(labelsFromEvents(times, [at], { candleMs: HOUR }).ranges).toEqual([
      { startIndex: 2, endIndex: 2 },
    ]);
    // ±1 h: [01:27, 03:27] overlaps the 01:00, 02:00 and 03:00 candles.
    expect(labelsFromEvents(times, [at], { candleMs: HOUR, tolerance: HOUR }).ranges).toEqual([
      { startIndex: 1, endIndex: 3 },
    ]);
    // An event on an open time labels that candle only (not the one ending there).
    expect(labelsFromEvents(times, [T0 + 3 * HOUR], { candleMs: HOUR }).ranges).toEqual([
      { startIndex: 3, endIndex: 3 },
    ]);
  });

  it('reads an events CSV, naming the line of a bad event', () => {
    expect(
      parseEventsCsv('start,end,note\n2024-01-01 02:00,2024-01-01 03:00,"crash, then rebound"\n'),
    ).toEqual([{ start: T0 + 2 * HOUR, end: T0 + 3 * HOUR }]);
    // A label (or kind) column names each event; an empty cell leaves that event unlabelled.
    expect(parseEventsCsv('time,kind\n2024-01-01 02:00,flash-crash\n2024-01-01 04:00,\n')).toEqual([
      { start: T0 + 2 * HOUR, end: T0 + 2 * HOUR, label: 'flash-crash' },
      { start: T0 + 4 * HOUR, end: T0 + 4 * HOUR },
    ]);
    expect(parseEventsCsv('label,start,end\nhalt,2024-01-01 02:00,2024-01-01 03:00\n')).toEqual([
      { start: T0 + 2 * HOUR, end: T0 + 3 * HOUR, label: 'halt' },
    ]);
    expect(parseEventsCsv('\ntime\n\n2024-01-01T05:00:00Z\n')).toEqual([
      { start: T0 + 5 * HOUR, end: T0 + 5 * HOUR },
    ]);
    // Blank lines still count: the bad time is on line 4 of the file.
    expect(() => parseEventsCsv('time\n2024-01-01\n\nyesterday\n')).toThrow(
      /line 4: time "yesterday" is not a time/,
    );
    expect(() => parseEventsCsv('start,end\n2024-01-02,2024-01-01\n')).toThrow(
      /line 2: start .* is after end/,
    );
    expect(() => parseEventsCsv('start,end\n2024-01-02\n')).toThrow(
      /line 2: the "end" cell is empty or missing/,
    );
    expect(() => parseEventsCsv('when\n2024-01-02\n')).toThrow(/line 1: the header needs a "time" column/);
    expect(() => parseEventsCsv('')).toThrow(/empty/);
  });
});

describe('evaluateRun', () => {
  it('measures each detector against the labels, by hand on a small case', () => {
    const report = evaluateRun(smallRun(), {
      source: 'events.csv',
      events: [{ start: T0 + 4 * HOUR, end: T0 + 5 * HOUR }],
      toleranceMs: 0,
    });
    expect(report.rows).toEqual({
      count: 12,
      from: '2024-01-01T00:00:00.000Z',
      to: '2024-01-01T11:00:00.000Z',
    });
    expect(report.labels).toMatchObject({ events: 1, eventsOutside: 0, labelledRows: 2 });
    expect(report.labels!.ranges).toEqual([
      { from: '2024-01-01T04:00:00.000Z', to: '2024-01-01T05:00:00.000Z' },
    ]);
    const forest = report.detectors[0]!;
    expect(forest.flags).toBe(2);
    // Positives score 0.9 (rank 1 of 12) and 0.7 (rank 3): 10 + 9 of the 2 x 10 pairs are ordered.
    expect(forest.labelled!.rocAuc).toBeCloseTo(19 / 20, 12);
    // Ranked: 0.9 (+), 0.8 (-), 0.7 (+): AP = 1/2 * 1 + 1/2 * 2/3.
    expect(forest.labelled!.prAuc).toBeCloseTo(0.5 + 1 / 3, 12);
    expect(forest.labelled).toMatchObject({ precision: 0.5, recall: 0.5, f1: 0.5, eventRecall: 1 });
    // Flagged ranges [4] (inside the event) and [8] (outside): range precision (1 + 0) / 2; the
    // event's flat overlap reward is 1 of its 2 rows.
    expect(forest.labelled!.rangePrecision).toBeCloseTo(0.5, 12);
    expect(forest.labelled!.rangeRecall).toBeCloseTo(0.5, 12);
    const consensus = report.detectors[1]!;
    expect(consensus.labelled).toMatchObject({ precision: Number.NaN, recall: 0, f1: 0, eventRecall: 0 });
    // NAB: the window [4, 5] is the only one; no detection is the null score (normalised 0); the
    // forest's flag on row 4 is the window's first row (full TP) and row 8 an FP 3 rows after a
    // window of width 2 (relative distance 3: 0.11 x sigmoid-scaled(3)).
    expect(consensus.nab!.standard.atThreshold).toMatchObject({ score: -1, normalizedScore: 0 });
    const fp = 0.11 * (2 / (1 + Math.exp(15)) - 1);
    expect(forest.nab!.standard.atThreshold.score).toBeCloseTo(1 + fp, 12);
    expect(forest.nab!.standard.atThreshold).toMatchObject({ tp: 1, fp: 1, fn: 1 });
    expect(forest.nab!.standard.atThreshold.normalizedScore).toBeCloseTo((100 * (1 + fp + 1)) / 2, 10);
    expect(Object.keys(forest.nab!)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
    // Label-free: one candle year, row 0 is in the first 10% (floor(1.2) = 1 row), no flag there.
    expect(forest.spread).toMatchObject({ flags: 2, earlyRows: 1, earlyShare: 0 });
  });

  it('reports every event: its rows, and per detector its first flag, delay and peak, by hand', () => {
    const events = [
      { start: T0 + 4 * HOUR, end: T0 + 5 * HOUR, label: 'crash' },
      { start: T0 + 10 * HOUR, end: T0 + 10 * HOUR, label: 'spike' },
      { start: T0 + 50 * HOUR, end: T0 + 51 * HOUR },
    ];
    const report = evaluateRun(smallRun(), { source: 'events.csv', events, toleranceMs: 0 });
    expect(report.labels).toMatchObject({ events: 3, eventsOutside: 1, labelledRows: 3 });
    const [crash, spike, outside] = report.events!;
    expect(crash).toMatchObject({
      start: '2024-01-01T04:00:00.000Z',
      end: '2024-01-01T05:00:00.000Z',
      label: 'crash',
      rows: { from: '2024-01-01T04:00:00.000Z', to: '2024-01-01T05:00:00.000Z' },
    });
    // The unlabelled rows (all but 4, 5 and 10) score 0.1 0.2 0.15 0.05 0.3 0.25 0.8 0.12 0.13: the
    // crash's peak 0.9 is above all 9, the spike's 0.11 above 0.1 and 0.05.
    expect(crash!.detections['isolation-forest']).toEqual({
      firstFlag: '2024-01-01T04:00:00.000Z',
      delay: 0,
      peakPercentile: 1,
    });
    expect(spike!.detections['isolation-forest']).toEqual({
      firstFlag: null,
      delay: null,
      peakPercentile: 2 / 9,
    });
    expect(crash!.detections['consensus']).toMatchObject({ firstFlag: null, delay: null });
    // An event on no row has no rows and no detections, and no label key when it had none.
    expect(outside).toEqual({
      start: '2024-01-03T02:00:00.000Z',
      end: '2024-01-03T03:00:00.000Z',
      rows: null,
      detections: {},
    });
    expect(report.detectors[0]!.delay).toEqual({ detected: 1, median: 0, max: 0 });
    // Per label, over the events on the rows (the unlabelled outside one is in neither).
    expect(report.eventLabels).toEqual([
      {
        label: 'crash',
        events: 1,
        detections: {
          'isolation-forest': { detected: 1, median: 0, max: 0 },
          consensus: { detected: 0, median: Number.NaN, max: Number.NaN },
        },
      },
      {
        label: 'spike',
        events: 1,
        detections: {
          'isolation-forest': { detected: 0, median: Number.NaN, max: Number.NaN },
          consensus: { detected: 0, median: Number.NaN, max: Number.NaN },
        },
      },
    ]);
    expect(report.detectors[1]!.delay).toEqual({ detected: 0, median: Number.NaN, max: Number.NaN });

    // With 1 h of tolerance the event at 09:00 labels rows 8-10; the forest's flag on row 8 comes
    // one candle before the event's own start: delay -1. The crash's flag stays at delay 0
    // although its labelled rows now start at row 3.
    const early = evaluateRun(smallRun(), {
      source: 'x',
      events: [events[0]!, { start: T0 + 9 * HOUR, end: T0 + 9 * HOUR }],
      toleranceMs: HOUR,
    });
    expect(early.events![0]!.rows).toEqual({
      from: '2024-01-01T03:00:00.000Z',
      to: '2024-01-01T06:00:00.000Z',
    });
    expect(early.events![0]!.detections['isolation-forest']!.delay).toBe(0);
    expect(early.events![1]!.detections['isolation-forest']).toMatchObject({
      firstFlag: '2024-01-01T08:00:00.000Z',
      delay: -1,
    });
    expect(early.detectors[0]!.delay).toEqual({ detected: 2, median: -0.5, max: 0 });
    // Without labels there are no events and no delays.
    const none = evaluateRun(smallRun(), null);
    expect(none.events).toBeNull();
    expect(none.eventLabels).toBeNull();
    expect(none.detectors[0]!.delay).toBeNull();
  });

  it('evaluates the scores a stream stored, each candle judged by its own threshold', () => {
    const candles = Array.from({ length: 6 }, (_, i) => ({
      openTime: T0 + i * HOUR,
      close: 100 + i,
      volume: 10,
    }));
    const row = (i: number, detector: string, score: number, threshold: number) => ({
      openTime: T0 + i * HOUR,
      detector,
      score,
      threshold,
      flagged: score > threshold,
    });
    // Candles 1-4 scored; the forest skipped candle 3; thresholds move (as DSPOT's do).
    const rows = [4, 3, 2, 1].flatMap((i) => [
      row(i, 'consensus', 0.5 + i / 10, 0.75),
      ...(i === 3 ? [] : [row(i, 'isolation-forest', i / 2, 1.2 - i / 10)]),
      row(i, 'autoencoder', i, 2.5),
    ]);
    const input = evaluationInputFromScores('TESTUSDT', HOUR, candles, rows);
    expect(input.candles.map((c) => c.openTime)).toEqual([1, 2, 3, 4].map((i) => T0 + i * HOUR));
    expect(input.detectors.map((d) => d.name)).toEqual(['isolation-forest', 'autoencoder', 'consensus']);
    const [forest, dense, consensus] = input.detectors;
    expect(Array.from(forest!.scores)).toEqual([0.5, 1, Number.NaN, 2]);
    // 0.5 > 1.1? no; 1 > 1.0? no; 2 > 0.8: yes. Each row's own threshold decided its flag.
    expect(Array.from(forest!.flags)).toEqual([0, 0, 0, 1]);
    expect(Array.from(dense!.flags)).toEqual([0, 0, 1, 1]);
    expect(Array.from(consensus!.scores)).toEqual([0.6, 0.7, 0.8, 0.9].map((v) => expect.closeTo(v, 12)));
    expect(forest!.threshold).toBeNaN();
    const report = evaluateRun(input, {
      source: 'x',
      events: [{ start: T0 + 4 * HOUR, end: T0 + 4 * HOUR }],
      toleranceMs: 0,
    });
    expect(report.detectors[0]!.labelled).toMatchObject({ precision: 1, recall: 1, eventRecall: 1 });
    expect(report.detectors[0]!.threshold).toBeNaN();
    // A score without its candle, and no score at all, are refused by name.
    expect(() => evaluationInputFromScores('TESTUSDT', HOUR, candles.slice(0, 3), rows)).toThrow(
      /stored .* score at 2024-01-01T0[34]:00:00.000Z but no candle there/,
    );
    expect(() => evaluationInputFromScores('TESTUSDT', HOUR, candles, [])).toThrow(
      /no stored scores of TESTUSDT/,
    );
  });

  it('evaluates one split, and only the label-free measures without labels', () => {
    const test = evaluateRun(
      smallRun(),
      { source: 'x', events: [{ start: T0 + 4 * HOUR, end: T0 + 5 * HOUR }], toleranceMs: 0 },
      {
        split: 'test',
      },
    );
    expect(test.rows.count).toBe(4);
    // The event lies in the train rows: outside the evaluated ones.
    expect(test.labels).toMatchObject({ eventsOutside: 1, labelledRows: 0 });
    expect(test.detectors[0]!.flags).toBe(1);
    // No window on these rows: NAB's null and perfect scores coincide, so no normalised score.
    expect(test.detectors[0]!.nab!.standard.atThreshold.normalizedScore).toBeNaN();
    expect(test.detectors[0]!.labelled!.rocAuc).toBeNaN();
    const none = evaluateRun(smallRun(), null);
    expect(none.labels).toBeNull();
    expect(none.detectors[0]!.labelled).toBeNull();
    expect(none.detectors[0]!.nab).toBeNull();
    // Twelve candles: none has the 30 before it the explainable rule needs; its flags are left out.
    expect(none.detectors[0]!.explainable).toMatchObject({ flags: 0, undetermined: 2 });
  });

  it('marks explainable candles over the whole history before taking a split', () => {
    const candles = Array.from({ length: 80 }, (_, i) => ({
      openTime: T0 + i * HOUR,
      close: 100 * Math.exp(0.001 * Math.sin(i)),
      volume: i === 60 ? 50 : 10,
    }));
    const flags = candles.map((_, i) => (i === 60 || i === 70 ? 1 : 0));
    const whole = explainableShare(candles, flags);
    expect(whole).toMatchObject({ share: 0.5, explainableFlags: 1, flags: 2 });
    expect(explainableShareOf(explainableCandles(candles), flags, judgedCandles(80, 0, 30))).toEqual(whole);
  });

  it("leaves out, as undetermined, the flags of the data's first candles, which lack their 30 before", () => {
    // As in a walk-forward folder, whose rows start after its first training window: a flag on
    // its 5th row (a +15% candle) cannot be judged, and is not counted unexplained.
    const candles = Array.from({ length: 80 }, (_, i) => ({
      openTime: T0 + i * HOUR,
      close: 100 * Math.exp(0.001 * Math.sin(i) + (i >= 5 ? 0.15 : 0)),
      volume: 10,
    }));
    const flags = candles.map((_, i) => (i === 5 || i === 70 ? 1 : 0));
    const share = explainableShare(candles, flags);
    expect(share).toMatchObject({ flags: 1, undetermined: 1, explainableFlags: 0 });
    const scores = flags.map((flag) => (flag ? 0.9 : 0.1));
    const report = evaluateRun(
      {
        symbol: 'TESTUSDT',
        intervalMs: HOUR,
        candles,
        splits: candles.map(() => 'test'),
        detectors: [{ name: 'isolation-forest', scores, flags, threshold: 0.5 }],
      },
      null,
    );
    expect(report.detectors[0]!.explainable).toEqual(share);
  });

  it('refuses scores that do not match the candles, and an empty split', async () => {
    const run = smallRun();
    const bad = { ...run, detectors: [{ ...run.detectors[0]!, flags: [1] }] };
    expect(() => evaluateRun(bad, null)).toThrow(/1 flags for 12 candles/);
    const noTest = { ...run, splits: run.candles.map(() => 'train') };
    const error = await errorOf(() => evaluateRun(noTest, null, { split: 'test' }));
    expect(isCoreError(error) && error.code).toBe('TOO_FEW_ROWS');
  });

  it('refuses an option it does not know, at the top and in each section', () => {
    const run = smallRun();
    expect(() => evaluateRun(run, null, { splits: 'test' } as never)).toThrow(
      /^unknown key splits in evaluateRun options \(the keys there are split, range, explainable, nab\)\.$/,
    );
    expect(() => evaluateRun(run, null, { explainable: { returnSigma: 2 } } as never)).toThrow(
      /^unknown key returnSigma in evaluateRun options.explainable \(the keys there are returnSigmas, /,
    );
    expect(() => evaluateRun(run, null, { nab: { probationary: 0.1 } } as never)).toThrow(
      /unknown key probationary in evaluateRun options.nab \(the keys there are probationaryPercent\)/,
    );
    expect(() => evaluateRun(run, null, { range: { bias: 'front', alpa: 0.5 } } as never)).toThrow(
      /unknown key alpa in evaluateRun options.range/,
    );
  });
});

describe('a run folder, evaluated and written back', () => {
  let dir: string;
  let outDir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'core-evaluation-'));
    outDir = join(dir, 'run');
    await runPipeline({
      source: sampleSource({ count: 700, seed: 3 }),
      symbol: 'BTCUSDT',
      interval: '1h',
      outDir,
      modelDir: false,
      charts: false,
      config: { detectors: ['isolation-forest'], isolationForest: { nEstimators: 30 } },
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives no single threshold when each row had its own (DSPOT): the flags are the measure', async () => {
    const adaptive = join(dir, 'dspot');
    await runPipeline({
      source: sampleSource({ count: 700, seed: 3 }),
      symbol: 'BTCUSDT',
      interval: '1h',
      outDir: adaptive,
      modelDir: false,
      charts: false,
      config: {
        detectors: ['isolation-forest'],
        isolationForest: { nEstimators: 30 },
        threshold: { kind: 'dspot' },
      },
    });
    const run = await readRunScores(adaptive);
    const rows = await readAnomaliesFile(join(adaptive, 'anomalies_isolation_forest.csv'));
    expect(new Set(rows.thresholds).size).toBeGreaterThan(1);
    expect(run.detectors[0]!.threshold).toBeNaN();
  });

  it("reads every detector's scores and flags, and the candles, from the files", async () => {
    const run = await readRunScores(outDir);
    const summary = JSON.parse(await readFile(join(outDir, 'summary.json'), 'utf8'));
    expect(run.runId).toBe(summary.runId);
    expect(run.detectors.map((d) => d.name)).toEqual(['isolation-forest', 'consensus']);
    expect(run.candles.length).toBe(summary.rows.scored);
    const market = sampleSource({ count: 700, seed: 3 }).market();
    const byTime = new Map(market.klines.map((k) => [k.openTime, k]));
    for (const candle of run.candles) {
      const kline = byTime.get(candle.openTime)!;
      expect(candle.close).toBe(kline.close);
      // log1p(volume) written to 8 significant digits.
      expect(Math.abs(candle.volume - kline.volume)).toBeLessThanOrEqual(1e-6 * (1 + kline.volume));
    }
    const flagged = run.detectors[0]!.flags;
    expect(Array.from(flagged).reduce((a, b) => a + b, 0)).toBe(
      summary.detectors['isolation-forest'].flagged.total,
    );
    // One threshold for every row: the one summary.json names.
    expect(run.detectors[0]!.threshold).toBe(summary.detectors['isolation-forest'].threshold.value);
  });

  it("reads an anomalies file's reasons, the top features with their shares, row by row", async () => {
    const path = join(outDir, 'anomalies_isolation_forest.csv');
    const file = await readAnomaliesFile(path);
    const [header, ...rows] = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    expect(file.times.length).toBe(rows.length);
    const first = header!.indexOf('top_feature_1');
    const flaggedRow = rows.findIndex((row) => row[header!.indexOf('is_anomaly')] === '1');
    expect(flaggedRow).toBeGreaterThanOrEqual(0);
    const row = rows[flaggedRow]!;
    const expected = `${row[first]} ${Math.round(Number(row[first + 1]) * 100)}%`;
    expect(file.reasons[flaggedRow]!.startsWith(expected)).toBe(true);
    expect(file.flags[flaggedRow]).toBe(1);
    expect(file.scores[flaggedRow]).toBe(Number(row[header!.indexOf('score')]));
  });

  it('refuses a folder whose files do not belong to one run, naming the file', async () => {
    const mixed = join(dir, 'mixed');
    await mkdir(mixed);
    for (const file of [
      'summary.json',
      'anomalies_isolation_forest.csv',
      'anomalies_consensus.csv',
      'BTCUSDT_processed_data.csv',
    ]) {
      await writeFile(join(mixed, file), await readFile(join(outDir, file)));
    }
    const consensus = (await readFile(join(outDir, 'anomalies_consensus.csv'), 'utf8')).trim().split('\n');
    await writeFile(join(mixed, 'anomalies_consensus.csv'), `${consensus.slice(0, -1).join('\n')}\n`);
    const error = await errorOf(() => readRunScores(mixed));
    expect((error as Error).message).toMatch(
      /anomalies_consensus.csv and .*anomalies_isolation_forest.csv do not cover the same rows/,
    );
    const lines = consensus.slice();
    lines[3] = lines[3]!.replace(/,\d+(\.\d+)?,(0|1),/, ',oops,$2,');
    await writeFile(join(mixed, 'anomalies_consensus.csv'), `${lines.join('\n')}\n`);
    const notNumber = await errorOf(() => readRunScores(mixed));
    expect((notNumber as Error).message).toMatch(
      /anomalies_consensus.csv line 4: "threshold" is "oops", not a number/,
    );
    // A score edited into text is not a row without a score: refused, not dropped from the ranking.
    const header = consensus[0]!.split(',');
    const cellsOf = (line: string) => line.split(',');
    const edit = (column: string, value: string) => {
      const edited = consensus.slice();
      const cells = cellsOf(edited[5]!);
      cells[header.indexOf(column)] = value;
      edited[5] = cells.join(',');
      return `${edited.join('\n')}\n`;
    };
    await writeFile(join(mixed, 'anomalies_consensus.csv'), edit('score', 'oops'));
    expect(((await errorOf(() => readRunScores(mixed))) as Error).message).toMatch(
      /anomalies_consensus.csv line 6: "score" is "oops", not a number/,
    );
    await writeFile(join(mixed, 'anomalies_consensus.csv'), edit('is_anomaly', '2'));
    expect(((await errorOf(() => readRunScores(mixed))) as Error).message).toMatch(
      /anomalies_consensus.csv line 6: "is_anomaly" is 2, not 0 or 1/,
    );
    // An empty score is a row without one (as the attention autoencoder's first rows are).
    await writeFile(join(mixed, 'anomalies_consensus.csv'), edit('score', ''));
    await writeFile(
      join(mixed, 'anomalies_isolation_forest.csv'),
      await readFile(join(outDir, 'anomalies_isolation_forest.csv')),
    );
    const withGap = await readRunScores(mixed);
    expect(Number.isNaN(withGap.detectors.find((d) => d.name === 'consensus')!.scores[4]!)).toBe(true);
    const noRun = await errorOf(() => readRunScores(join(dir, 'nowhere')));
    expect(isCoreError(noRun) && noRun.code).toBe('IO');
  });

  it('writes evaluation.json and the chart into the run folder and lists them in its marker', async () => {
    const run = await readRunScores(outDir);
    const report = evaluateRun(run, null);
    const chart = await renderEvaluationChart({
      title: 'test',
      times: run.candles.map((c) => c.openTime),
      close: run.candles.map((c) => c.close),
      detectors: run.detectors,
      labels: [{ from: run.candles[10]!.openTime, to: run.candles[12]!.openTime }],
      intervalMs: HOUR,
    });
    expect(Array.from(chart.subarray(1, 4), (c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const files = await writeEvaluation(outDir, report, chart);
    expect(files.chart).toBe(join(outDir, 'chart_evaluation.png'));
    const written = JSON.parse(await readFile(files.report, 'utf8')) as EvaluationReport;
    expect(written.detectors[0]!.flags).toBe(report.detectors[0]!.flags);
    // NaN is written as null.
    expect(written.detectors[0]!.labelled).toBeNull();
    const marker = JSON.parse(await readFile(join(outDir, FOLDER_MARKER_FILE), 'utf8'));
    expect(marker.files).toContain('evaluation.json');
    expect(marker.files).toContain('chart_evaluation.png');
    // Still one run's folder: a new run into it is not refused, nor a new evaluation.
    await expect(prepareTarget(outDir, 'outputs')).resolves.toBe(outDir);
    await expect(prepareEvaluationTarget(outDir)).resolves.toMatchObject({ dir: outDir });
    // Without a chart, the earlier one goes (it would no longer match) and leaves the marker.
    await writeEvaluation(outDir, report);
    expect(existsSync(join(outDir, 'chart_evaluation.png'))).toBe(false);
    const after = JSON.parse(await readFile(join(outDir, FOLDER_MARKER_FILE), 'utf8'));
    expect(after.files).not.toContain('chart_evaluation.png');
    expect(after.runId).toBe(marker.runId);

    // The evaluation of this run (from names it) may go into its folder again; another run's, or
    // the store's, may not: that folder's own evaluation would be replaced.
    const own = { ...report, from: { runDir: outDir, runId: marker.runId } };
    await writeEvaluation(outDir, own);
    const before = await readFile(join(outDir, 'evaluation.json'), 'utf8');
    const others: Record<string, string>[] = [
      { runDir: '/elsewhere', runId: 'another-run' },
      { store: 'w.duckdb' },
    ];
    for (const from of others) {
      const refused = await errorOf(() => writeEvaluation(outDir, { ...report, from }));
      expect(isCoreError(refused) && refused.code).toBe('TARGET_NOT_OURS');
      expect((refused as Error).message).toMatch(
        /output folder of another run .* own evaluation this would replace/,
      );
    }
    expect(await readFile(join(outDir, 'evaluation.json'), 'utf8')).toBe(before);
  });

  it('a run that replaces the folder while the evaluation is written keeps its folder: the evaluation is not listed there', async () => {
    const folder = join(dir, 'swapped');
    await cp(outDir, folder, { recursive: true });
    await rm(join(folder, 'evaluation.json'), { force: true });
    const old = JSON.parse(await readFile(join(folder, FOLDER_MARKER_FILE), 'utf8'));
    const next = {
      ...old,
      runId: 'a-newer-run',
      files: old.files.filter((f: string) => !f.startsWith('evaluation')),
    };
    // As a run swaps its new set in: the folder renamed away, the new one renamed into its place.
    evaluationTestHooks.beforeMarker = async (target) => {
      await rename(target, `${target}.old`);
      await mkdir(target);
      await writeFile(join(target, FOLDER_MARKER_FILE), JSON.stringify(next));
      await writeFile(join(target, 'evaluation.json'), '{"from the evaluation written after the swap":1}');
      await rm(`${target}.old`, { recursive: true });
    };
    try {
      const refused = await errorOf(() => writeEvaluation(folder, evaluateRun(smallRun(), null)));
      expect(isCoreError(refused) && refused.code).toBe('TARGET_NOT_OURS');
      expect((refused as Error).message).toMatch(
        /was replaced by run a-newer-run while the evaluation was written/,
      );
    } finally {
      delete evaluationTestHooks.beforeMarker;
    }
    // The new run's marker is untouched, and the evaluation it does not list is gone.
    expect(JSON.parse(await readFile(join(folder, FOLDER_MARKER_FILE), 'utf8'))).toEqual(next);
    expect(existsSync(join(folder, 'evaluation.json'))).toBe(false);
  });

  it('creates and marks a new folder, and refuses one it did not write', async () => {
    const report = evaluateRun(smallRun(), null);
    const fresh = join(dir, 'fresh', 'eval');
    await writeEvaluation(fresh, report);
    const marker = JSON.parse(await readFile(join(fresh, FOLDER_MARKER_FILE), 'utf8'));
    expect(marker).toMatchObject({ kind: 'outputs', files: ['evaluation.json'] });

    const foreign = join(dir, 'mine');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    const error = await errorOf(() => writeEvaluation(foreign, report));
    expect(isCoreError(error) && error.code).toBe('TARGET_NOT_OURS');
    expect(existsSync(join(foreign, 'evaluation.json'))).toBe(false);

    // An evaluation.json the marker does not list is not ours either.
    await writeFile(join(outDir, 'evaluation.json'), 'a file of the user');
    const marked = JSON.parse(await readFile(join(outDir, FOLDER_MARKER_FILE), 'utf8'));
    await writeFile(
      join(outDir, FOLDER_MARKER_FILE),
      JSON.stringify({ ...marked, files: marked.files.filter((f: string) => f !== 'evaluation.json') }),
    );
    const refused = await errorOf(() => writeEvaluation(outDir, report));
    expect((refused as Error).message).toMatch(/holds evaluation.json, which crypto-anomaly did not write/);
    expect(await readFile(join(outDir, 'evaluation.json'), 'utf8')).toBe('a file of the user');
  });
});

describe('evaluation chart', () => {
  it('draws each labelled span as a band to the end of its last candle, behind every panel', () => {
    const run = smallRun();
    const spec = evaluationChartSpec({
      title: 't',
      times: run.candles.map((c) => c.openTime),
      close: run.candles.map((c) => c.close),
      detectors: run.detectors,
      labels: [{ from: T0 + 4 * HOUR, to: T0 + 5 * HOUR }],
      intervalMs: HOUR,
    }) as unknown as { vconcat: { layer: { mark: { type: string }; data: { values: unknown[] } }[] }[] };
    expect(spec.vconcat).toHaveLength(3);
    for (const panel of spec.vconcat) {
      expect(panel.layer[0]!.mark.type).toBe('rect');
      expect(panel.layer[0]!.data.values).toEqual([{ time: T0 + 4 * HOUR, end: T0 + 6 * HOUR }]);
    }
    // The forest's panel: its two flags as points at their scores.
    const points = spec.vconcat[1]!.layer.at(-1)!;
    expect(points.data.values).toEqual([
      { time: T0 + 4 * HOUR, value: 0.9 },
      { time: T0 + 8 * HOUR, value: 0.8 },
    ]);
  });
});
