import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, type NabSeries } from '../src/evaluation/api.js';
import { parseNabWindows } from '../src/evaluation/labels.js';
import {
  nabProbationaryLength,
  nabScaledSigmoid,
  nabScoresByThreshold,
  nabSweep,
  optimizeNabThreshold,
  runNabBenchmark,
  scoreNabCorpus,
  scoreNabSeries,
} from '../src/evaluation/nab.js';

const standard = NAB_PROFILES.standard;
const MINUTE = 60_000;
const MAX_TP = 0.9866142981514305; // 2 * sigmoid(5) - 1

/**
 * 20 one-minute rows; one window over rows 10..14 (width 5); the first floor(0.15 * 20) = 3 rows
 * are probationary. `detections` maps a row to its anomaly score (others score 0).
 */
function series(detections: Record<number, number>, name = 'toy.csv'): NabSeries {
  const timestamps = Array.from({ length: 20 }, (_, i) => i * MINUTE);
  const scores = timestamps.map((_, i) => detections[i] ?? 0);
  return { name, timestamps, scores, windows: [{ start: 10 * MINUTE, end: 14 * MINUTE }] };
}

describe('NAB scaled sigmoid and probationary period', () => {
  it('matches 2 * sigmoid(-5p) - 1 at the positions NAB documents', () => {
    expect(nabScaledSigmoid(-1)).toBeCloseTo(MAX_TP, 15);
    expect(nabScaledSigmoid(-0.5)).toBeCloseTo(0.8482836399575131, 15);
    expect(nabScaledSigmoid(0)).toBe(0);
    expect(nabScaledSigmoid(1)).toBeCloseTo(-MAX_TP, 15);
    expect(nabScaledSigmoid(3)).toBeGreaterThan(-1);
    expect(nabScaledSigmoid(3.01)).toBe(-1);
  });

  it('is 15% of the rows, at most 750', () => {
    expect(nabProbationaryLength(20)).toBe(3);
    expect(nabProbationaryLength(4032)).toBe(604);
    expect(nabProbationaryLength(10_320)).toBe(750);
  });
});

describe('NAB sweep and score of one file', () => {
  it('gives the full TP weight to a detection on the first row of a window', () => {
    const result = scoreNabSeries(series({ 10: 1 }), standard, 1);
    expect(result.score).toBeCloseTo(1, 12);
    expect(result).toMatchObject({ tp: 1, fn: 4, fp: 0, tn: 12, rows: 20 });
  });

  it('gives less to later detections, and counts only the best one per window', () => {
    // Last row of the window: position -(14 - 14 + 1) / 5 = -0.2.
    expect(scoreNabSeries(series({ 14: 1 }), standard, 1).score).toBeCloseTo(0.46838684390227814, 12);
    // Rows 11 (position -0.8) and 14 together: the window counts once, at its best.
    const both = scoreNabSeries(series({ 11: 1, 14: 1 }), standard, 1);
    expect(both.score).toBeCloseTo(0.9771068409226045, 12);
    expect(both.tp).toBe(2);
  });

  it('charges a missed window fnWeight, an early FP fpWeight, and a FP just after a window less', () => {
    expect(scoreNabSeries(series({}), standard, 1).score).toBe(-1);
    expect(scoreNabSeries(series({}), NAB_PROFILES.reward_low_FN_rate, 1).score).toBe(-2);
    // Row 5: before any window, the full FP cost.
    expect(scoreNabSeries(series({ 5: 1 }), standard, 1).score).toBeCloseTo(-1.11, 12);
    expect(scoreNabSeries(series({ 5: 1 }), NAB_PROFILES.reward_low_FP_rate, 1).score).toBeCloseTo(-1.22, 12);
    // Row 16: |14 - 16| / (5 - 1) = 0.5 past the window: 0.11 * (2 * sigmoid(-2.5) - 1).
    const after = scoreNabSeries(series({ 16: 1 }), standard, 1);
    expect(after.score).toBeCloseTo(-1 - 0.09331120039532642, 12);
    expect(after).toMatchObject({ tp: 0, fp: 1, fn: 5, tn: 11 });
  });

  it('ignores detections in the probationary rows', () => {
    const rows = nabSweep(series({ 2: 1 }), standard);
    expect(rows.slice(0, 3).every((row) => row.window === 'probationary')).toBe(true);
    expect(rows[3]!.window).toBeNull();
    expect(rows[10]!.window).toBe(`toy.csv|${10 * MINUTE}`);
    const result = scoreNabSeries(series({ 2: 1 }), standard, 1);
    expect(result.score).toBe(-1);
    expect(result.tp + result.tn + result.fp + result.fn).toBe(17);
  });

  it('leaves a window that lies wholly in the probationary rows out of the null score', () => {
    const early: NabSeries = { ...series({}), windows: [{ start: 0, end: 2 * MINUTE }] };
    const rows = nabSweep(early, standard);
    expect(rows.every((row) => row.window === 'probationary' || row.window === null)).toBe(true);
    const corpus = scoreNabCorpus([early], standard, { threshold: 1 });
    expect(corpus.score).toBe(0);
    expect(corpus.nullScore).toBe(-0);
    expect(corpus.perfectScore).toBe(1);
  });

  it('detects the rows scoring at or above a threshold that no row scores exactly', () => {
    const toy = series({ 5: 0.9, 11: 0.8 });
    expect(scoreNabSeries(toy, standard, 0.85).score).toBeCloseTo(-1.11, 12);
    expect(scoreNabSeries(toy, standard, 0.8).score).toBeCloseTo(0.8671068409226045, 12);
    expect(scoreNabSeries(toy, standard, 2).score).toBe(-1);
  });

  it('refuses a window whose ends are not row times', () => {
    const bad: NabSeries = { ...series({}), windows: [{ start: 10 * MINUTE + 1, end: 14 * MINUTE }] };
    expect(() => nabSweep(bad, standard)).toThrow(/not one of its row times/);
  });

  it('refuses an option it does not know, each function naming its own', () => {
    const one = series({ 10: 0.9 });
    const typo = { probationaryPercentage: 0.1 } as never;
    expect(() => nabSweep(one, standard, typo)).toThrow(
      /^unknown key probationaryPercentage in nabSweep options \(the keys there are probationaryPercent\)\.$/,
    );
    expect(() => scoreNabSeries(one, standard, 0.5, typo)).toThrow(/in scoreNabSeries options/);
    expect(() => optimizeNabThreshold([one], standard, typo)).toThrow(/in optimizeNabThreshold options/);
    expect(() => scoreNabCorpus([one], standard, { treshold: 0.5 } as never)).toThrow(
      /^unknown key treshold in scoreNabCorpus options \(the keys there are threshold, probationaryPercent\)\.$/,
    );
    expect(() => runNabBenchmark([one], { profile: {} } as never)).toThrow(
      /^unknown key profile in runNabBenchmark options \(the keys there are profiles, probationaryPercent\)\.$/,
    );
    // The keys a function adds to NabOptions are its own: passing them on is not refused.
    const at = scoreNabCorpus([one], standard, { probationaryPercent: 0.1, threshold: 0.5 });
    expect(runNabBenchmark([one], { probationaryPercent: 0.1, profiles: { standard } }).standard).toEqual(
      scoreNabCorpus([one], standard, { probationaryPercent: 0.1 }),
    );
    expect(at.threshold).toBe(0.5);
    // A setting given as undefined takes its default (0.15).
    expect(nabSweep(one, standard, { probationaryPercent: undefined })).toEqual(nabSweep(one, standard));
  });
});

describe('NAB threshold optimisation and normalisation', () => {
  it('lists every distinct score from the top, starting from detecting nothing', () => {
    const table = nabScoresByThreshold(nabSweep(series({ 5: 0.9, 11: 0.8 }), standard), standard);
    expect(table.map((row) => row.threshold)).toEqual([Number.POSITIVE_INFINITY, 0.9, 0.8, 0]);
    expect(table[0]!.score).toBe(-1);
    expect(table[1]!.score).toBeCloseTo(-1.11, 12);
    expect(table[2]!.score).toBeCloseTo(0.8671068409226045, 12);
  });

  it('picks the threshold with the best total over the corpus', () => {
    // File a: FP at 0.9, TP (row 11) at 0.8. File b: TP on its first window row at 0.7, FP at 0.6.
    const a = series({ 5: 0.9, 11: 0.8 }, 'a.csv');
    const b = series({ 10: 0.7, 4: 0.6 }, 'b.csv');
    const best = optimizeNabThreshold([a, b], standard);
    expect(best.threshold).toBe(0.7);
    expect(best.score).toBeCloseTo(0.8671068409226045 + 1, 12);
    // A costlier FP moves the best threshold above the FP at 0.9: detecting nothing in a (-1)
    // beats 0.977 - 2.5, and b's TP at 0.7 then still pays.
    const costly = optimizeNabThreshold([a, b], { tpWeight: 1, fpWeight: 2.5, fnWeight: 1 });
    expect(costly.threshold).toBe(0.7);
    expect(costly.score).toBeCloseTo(0.9771068409226045 - 2.5 + 1, 12);
  });

  it('normalises against the null and perfect detectors', () => {
    const a = series({ 5: 0.9, 11: 0.8 }, 'a.csv');
    const b = series({ 10: 0.7, 4: 0.6 }, 'b.csv');
    const result = scoreNabCorpus([a, b], standard);
    expect(result.nullScore).toBe(-2);
    expect(result.perfectScore).toBe(2);
    expect(result.files.map((file) => file.score)).toEqual([
      expect.closeTo(0.8671068409226045, 12),
      expect.closeTo(1, 12),
    ]);
    expect(result.normalizedScore).toBeCloseTo((100 * (0.8671068409226045 + 1 + 2)) / 4, 10);
    const perfect = scoreNabCorpus([series({ 10: 1 }, 'a.csv'), series({ 10: 1 }, 'b.csv')], standard);
    expect(perfect.normalizedScore).toBeCloseTo(100, 10);
    // Detecting nothing is the null detector. (A constant score is not: at threshold 0 it flags
    // every row, window starts included, and the optimiser prefers that here.)
    expect(scoreNabCorpus([series({}, 'a.csv')], standard, { threshold: 1 }).normalizedScore).toBe(0);
    expect(scoreNabCorpus([series({}, 'a.csv')], standard).threshold).toBe(0);
    const benchmark = runNabBenchmark([a, b]);
    expect(Object.keys(benchmark)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
    expect(benchmark.reward_low_FN_rate!.nullScore).toBe(-4);
  });

  it('reads NAB window files', () => {
    const windows = parseNabWindows({
      'realKnownCause/nyc_taxi.csv': [['2014-10-30 15:30:00.000000', '2014-11-03 22:30:00.000000']],
      'artificialNoAnomaly/art_flatline.csv': [],
    });
    expect(windows.get('realKnownCause/nyc_taxi.csv')).toEqual([
      { start: Date.UTC(2014, 9, 30, 15, 30), end: Date.UTC(2014, 10, 3, 22, 30) },
    ]);
    expect(windows.get('artificialNoAnomaly/art_flatline.csv')).toEqual([]);
    expect(() => parseNabWindows({ 'a.csv': [['2014-10-30']] })).toThrow(/\[start, end\] pair/);
    expect(() => parseNabWindows({ 'a.csv': [['2014-10-30', '2014-10-29']] })).toThrow(
      /NAB window 0 of "a.csv" starts \("2014-10-30"\) after it ends \("2014-10-29"\)/,
    );
  });
});
