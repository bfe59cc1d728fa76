import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, type NabSeries } from '../src/evaluation/api.js';
import { optimizeNabThreshold, scoreNabCorpus } from '../src/evaluation/nab.js';
import { nabCurveAt, nabThresholdCurve, twiddleNabThreshold } from '../src/evaluation/nab-optimize.js';

const MINUTE = 60_000;
/** Every detection outside a window costs 1, a window's first row earns 1, a missed window costs 1. */
const even = { tpWeight: 1, fpWeight: 1, fnWeight: 1 };

/**
 * 20 one-minute rows, one window over rows 10..14, the first 3 rows probationary; `detections`
 * maps a row to its anomaly score (others 0).
 */
function series(name: string, detections: Record<number, number>): NabSeries {
  const timestamps = Array.from({ length: 20 }, (_, i) => i * MINUTE);
  return {
    name,
    timestamps,
    scores: timestamps.map((_, i) => detections[i] ?? 0),
    windows: [{ start: 10 * MINUTE, end: 14 * MINUTE }],
  };
}

// A: its window's first row scores 0.95, three rows before it 0.7 (false positives).
// B: its window's first row scores 0.52, a row before it 0.42.
// Totals: t > 0.95: -2; (0.7, 0.95]: 0; (0.52, 0.7]: -3; (0.42, 0.52]: -1; (0, 0.42]: -2.
const trap = [series('a.csv', { 10: 0.95, 4: 0.7, 5: 0.7, 6: 0.7 }), series('b.csv', { 10: 0.52, 5: 0.42 })];

describe('NAB threshold curve', () => {
  it('gives the total of detecting the rows scoring >= t, for any t', () => {
    const curve = nabThresholdCurve(trap, even);
    expect(curve.map((row) => row.threshold)).toEqual([Number.POSITIVE_INFINITY, 0.95, 0.7, 0.52, 0.42, 0]);
    const at = (t: number) => nabCurveAt(curve, t).score;
    expect(at(2)).toBeCloseTo(-2, 12);
    expect(at(0.95)).toBeCloseTo(0, 12);
    expect(at(0.8)).toBeCloseTo(0, 12);
    expect(at(0.7)).toBeCloseTo(-3, 12);
    expect(at(0.5)).toBeCloseTo(-1, 12);
    expect(at(0.42)).toBeCloseTo(-2, 12);
    expect(nabCurveAt(curve, 0.8).threshold).toBe(0.8);
    // The same as scoring the corpus at that threshold.
    for (const t of [0.3, 0.5, 0.6, 0.9, 1]) {
      expect(at(t)).toBeCloseTo(scoreNabCorpus(trap, even, { threshold: t }).score, 12);
    }
  });
});

describe("NAB v1.0's hill climb (twiddle)", () => {
  it('stays on the local maximum around its start, where the v1.1 sweep finds the global one', () => {
    const climbed = twiddleNabThreshold(trap, even);
    expect(climbed.threshold).toBe(0.5);
    expect(climbed.score).toBeCloseTo(-1, 12);
    // Settings given as undefined (spread from optional ones) take their defaults.
    expect(twiddleNabThreshold(trap, even, { initialGuess: undefined, tolerance: undefined })).toEqual(
      climbed,
    );
    const swept = optimizeNabThreshold(trap, even);
    expect(swept.threshold).toBe(0.95);
    expect(swept.score).toBeCloseTo(0, 12);
  });

  it('climbs to the best threshold when the total rises towards it', () => {
    // Lower thresholds only add false positives: the best band is (0.2, 0.9], all the same total.
    const rising = [series('c.csv', { 10: 0.9, 4: 0.2, 5: 0.1 })];
    const climbed = twiddleNabThreshold(rising, NAB_PROFILES.standard);
    expect(climbed.threshold).toBeGreaterThan(0.2);
    expect(climbed.threshold).toBeLessThanOrEqual(0.9);
    expect(climbed.score).toBeCloseTo(optimizeNabThreshold(rising, NAB_PROFILES.standard).score, 12);
    expect(climbed.score).toBeCloseTo(1, 12);
  });

  it('refuses an option it does not know, and passes NAB options on to the curve', () => {
    expect(() => twiddleNabThreshold(trap, even, { initalGuess: 0.3 } as never)).toThrow(
      /^unknown key initalGuess in twiddleNabThreshold options \(the keys there are initialGuess, /,
    );
    expect(() => nabThresholdCurve(trap, even, { tolerance: 1 } as never)).toThrow(
      /^unknown key tolerance in nabThresholdCurve options \(the keys there are probationaryPercent\)\.$/,
    );
    expect(
      twiddleNabThreshold(trap, even, { initialGuess: 0.5, tolerance: 1e-7, probationaryPercent: 0.15 }),
    ).toEqual(twiddleNabThreshold(trap, even));
  });

  it('starts where it is told and never leaves [0, 1]', () => {
    const fromHigh = twiddleNabThreshold(trap, even, { initialGuess: 0.9 });
    expect(fromHigh.score).toBeCloseTo(0, 12);
    // Every row scores above 1: no threshold in [0, 1] can skip them, so it detects all.
    const above = [series('d.csv', { 10: 3, 4: 2 })].map((s) => ({
      ...s,
      scores: Array.from(s.scores, (v) => v + 1.5),
    }));
    const climbed = twiddleNabThreshold(above, even);
    expect(climbed.threshold).toBeGreaterThanOrEqual(0);
    expect(climbed.threshold).toBeLessThanOrEqual(1);
  });
});
