import { describe, expect, it } from 'vitest';
import { isCoreError } from '../src/errors.js';
import { Spot } from '../src/streaming/spot.js';

/** A seeded stream of exponential(1) scores (a reconstruction error's tail is about as heavy). */
function exponentialScores(seed: number) {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return -Math.log(state / 2147483647);
  };
}

function calibrationSample(count: number, seed: number): number[] {
  const next = exponentialScores(seed);
  return Array.from({ length: count }, next);
}

describe('Spot', () => {
  it('starts near the calibration quantile of the risk (exponential: ln(1 / q))', () => {
    for (const kind of ['spot', 'dspot'] as const) {
      const spot = Spot.calibrate(kind, calibrationSample(5000, 3), { risk: 0.01 });
      expect(spot.threshold).toBeGreaterThan(Math.log(100) * 0.85);
      expect(spot.threshold).toBeLessThan(Math.log(100) * 1.15);
    }
  });

  it('flags an outlier and is not moved by it', () => {
    for (const kind of ['spot', 'dspot'] as const) {
      const spot = Spot.calibrate(kind, calibrationSample(2000, 5), { risk: 0.01 });
      const next = exponentialScores(17);
      for (let i = 0; i < 200; i++) spot.update(next());
      const before = spot.threshold;
      expect(spot.update(40)).toBe('anomaly');
      expect(spot.threshold).toBe(before);
    }
  });

  it('keeps a stable threshold and about the risk in flags on a calm stream', () => {
    for (const kind of ['spot', 'dspot'] as const) {
      const spot = Spot.calibrate(kind, calibrationSample(2000, 7), { risk: 0.01 });
      const start = spot.threshold;
      const next = exponentialScores(23);
      let flagged = 0;
      let lowest = start;
      let highest = start;
      for (let i = 0; i < 4000; i++) {
        if (spot.update(next()) === 'anomaly') flagged++;
        lowest = Math.min(lowest, spot.threshold);
        highest = Math.max(highest, spot.threshold);
      }
      expect(flagged / 4000).toBeGreaterThan(0.002);
      expect(flagged / 4000).toBeLessThan(0.03);
      expect(lowest).toBeGreaterThan(start * 0.7);
      expect(highest).toBeLessThan(start * 1.3);
    }
  });

  it('DSPOT follows a drifting level, SPOT keeps flagging it', () => {
    const spot = Spot.calibrate('spot', calibrationSample(2000, 9), { risk: 0.01, depth: 30 });
    const dspot = Spot.calibrate('dspot', calibrationSample(2000, 9), { risk: 0.01, depth: 30 });
    const next = exponentialScores(29);
    const flagged = { spot: 0, dspot: 0 };
    for (let i = 0; i < 3000; i++) {
      // The level rises by 8 over 1000 scores, then stays up.
      const score = next() + Math.min(i, 1000) * 0.008;
      const afterRamp = i >= 1000;
      if (spot.update(score) === 'anomaly' && afterRamp) flagged.spot++;
      if (dspot.update(score) === 'anomaly' && afterRamp) flagged.dspot++;
    }
    expect(flagged.spot / 2000).toBeGreaterThan(0.5);
    expect(flagged.dspot / 2000).toBeLessThan(0.03);
    expect(dspot.threshold).toBeGreaterThan(8);
  });

  it('never gives a NaN or infinite threshold, whatever the stream', () => {
    const streams: number[][] = [
      Array(300).fill(1),
      Array(300).fill(0),
      [...Array(100).fill(0), ...Array(100).fill(1e300), Number.NaN, Number.POSITIVE_INFINITY, -5, 0],
      Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? 0 : 1e-300)),
    ];
    const samples: number[][] = [Array(50).fill(2), [0, 0, 0, 1], calibrationSample(500, 1), [5]];
    for (const kind of ['spot', 'dspot'] as const) {
      for (const sample of samples) {
        for (const stream of streams) {
          const spot = Spot.calibrate(kind, sample, { risk: 0.01 });
          expect(Number.isFinite(spot.threshold)).toBe(true);
          for (const score of stream) {
            spot.update(score);
            expect(Number.isFinite(spot.threshold)).toBe(true);
          }
        }
      }
    }
  });

  it('keeps at most maxPeaks peaks; a clone has its own state', () => {
    const spot = Spot.calibrate('spot', calibrationSample(1000, 11), { risk: 0.001, maxPeaks: 40 });
    const copy = spot.clone();
    const next = exponentialScores(31);
    for (let i = 0; i < 5000; i++) spot.update(next());
    expect(spot.peakCount).toBe(40);
    expect(copy.peakCount).toBeLessThan(40);
    expect(copy.threshold).not.toBe(spot.threshold);
  });

  it('refuses settings out of range, naming them', () => {
    const refusals = [{ risk: 0 }, { risk: 0.05, initialQuantile: 0.97 }, { depth: 0 }, { maxPeaks: 1.5 }];
    for (const options of refusals) {
      let error: unknown;
      try {
        Spot.calibrate('dspot', [1, 2, 3], options);
      } catch (caught) {
        error = caught;
      }
      expect(isCoreError(error) && error.code === 'INVALID_ARGUMENT').toBe(true);
      expect((error as Error).message).toMatch(/spot\./);
    }
    expect(() => Spot.calibrate('dspot', [1, 2, 3], { maxPeak: 10 } as object)).toThrow(
      /^unknown key maxPeak in spot options \(the keys there are maxPeaks, risk, initialQuantile, depth\)\.$/,
    );
  });
});
