import { describe, expect, it } from 'vitest';
import { fitThreshold, isCoreError, resolvePipelineConfig, Spot } from '../src/index.js';
import { fitGeneralizedPareto, quantileOf, thresholdsPerRow } from '../src/thresholds.js';

/** Deterministic uniform(0,1) stream (mulberry32) for reproducible samples. */
function uniforms(seed: number, count: number): Float64Array {
  let a = seed >>> 0;
  return Float64Array.from({ length: count }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
}

describe('thresholds', () => {
  it('quantileOf matches numpy linear interpolation', () => {
    expect(quantileOf([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileOf([10, 0, 5], 0.25)).toBe(2.5);
    expect(quantileOf([3, Number.NaN, 1], 1)).toBe(3);
  });

  it('a contamination threshold flags that fraction of the training rows', () => {
    const scores = uniforms(1, 10_000);
    const fitted = fitThreshold(scores, { kind: 'contamination', contamination: 0.05 });
    const flagged = scores.filter((s) => s > fitted.value).length;
    expect(flagged).toBe(500);
    expect(fitted.description).toMatch(/95th percentile/);
  });

  it('recovers the parameters of a generalized Pareto sample', () => {
    const shape = 0.25;
    const scale = 2;
    // Inverse CDF: y = σ/ξ ((1-u)^(-ξ) - 1).
    const sample = Array.from(uniforms(7, 20_000), (u) => (scale / shape) * ((1 - u) ** -shape - 1));
    const fit = fitGeneralizedPareto(sample);
    expect(fit.shape).toBeCloseTo(shape, 1);
    expect(fit.scale / scale).toBeCloseTo(1, 1);
  });

  it('peaks over threshold lands near the true tail quantile of exponential scores', () => {
    // Exponential(1): P(X > z) = e^-z, so the 0.001 risk threshold is ln(1000) ≈ 6.91.
    const scores = Array.from(uniforms(3, 50_000), (u) => -Math.log(1 - u));
    const fitted = fitThreshold(scores, { kind: 'pot', riskQuantile: 0.001, initialQuantile: 0.95 });
    expect(fitted.value).toBeGreaterThan(6.4);
    expect(fitted.value).toBeLessThan(7.4);
  });

  it('refuses a contamination out of range and a POT fit with too few exceedances', () => {
    expect(() => fitThreshold([1, 2], { kind: 'contamination', contamination: 0.7 })).toThrow(
      /contamination must be in/,
    );
    const error = (() => {
      try {
        fitThreshold([1, 2, 3, 4, 5], { kind: 'pot', riskQuantile: 0.001, initialQuantile: 0.98 });
      } catch (caught) {
        return caught;
      }
    })();
    expect(isCoreError(error) && error.code).toBe('TOO_FEW_ROWS');
  });

  describe('adaptive thresholds (spot, dspot)', () => {
    const training = uniforms(3, 2000);
    // After training the level rises: a drift a fixed threshold would flag wholesale.
    const later = Float64Array.from(uniforms(4, 1500), (u, i) => u + (i >= 500 ? 0.5 : 0));

    it('start where SPOT calibrated on the training scores starts, and say how they move', () => {
      for (const kind of ['spot', 'dspot'] as const) {
        const fitted = fitThreshold(training, { kind, risk: 0.01 });
        const spot = Spot.calibrate(kind, training, { risk: 0.01 });
        expect(fitted.value).toBe(spot.threshold);
        expect(fitted.method).toEqual({ kind, risk: 0.01 });
        expect(fitted.description).toMatch(new RegExp(`^${kind.toUpperCase()}: .*adapts row by row`));
      }
    });

    it('judge each row against the threshold as it stood before it (the streaming Spot, row by row)', () => {
      const fitted = fitThreshold(training, { kind: 'dspot', risk: 0.01, depth: 20 });
      const rows = thresholdsPerRow(fitted, training, later);
      const spot = Spot.calibrate('dspot', training, { risk: 0.01, depth: 20 });
      for (let i = 0; i < later.length; i++) {
        expect(rows[i]).toBe(spot.threshold);
        spot.update(later[i]!);
      }
      expect(rows[0]).toBe(fitted.value);
      // No look-ahead: a change to a later row leaves the earlier rows' thresholds alone.
      const changed = Float64Array.from(later);
      changed[1000] = 50;
      const again = thresholdsPerRow(fitted, training, changed);
      expect(again.subarray(0, 1001)).toEqual(rows.subarray(0, 1001));
    });

    it('DSPOT follows a drifting level that a fixed threshold flags wholesale', () => {
      const flaggedBy = (method: Parameters<typeof fitThreshold>[1]) => {
        const fitted = fitThreshold(training, method);
        const rows = thresholdsPerRow(fitted, training, later);
        let flagged = 0;
        for (let i = 500; i < later.length; i++) if (later[i]! > rows[i]!) flagged++;
        return flagged;
      };
      const fixed = flaggedBy({ kind: 'contamination', contamination: 0.01 });
      const dspot = flaggedBy({ kind: 'dspot', risk: 0.01 });
      expect(fixed).toBeGreaterThan(400);
      expect(dspot).toBeLessThan(100);
    });

    it('a fixed method has its fitted value on every row', () => {
      const fitted = fitThreshold(training, { kind: 'contamination', contamination: 0.02 });
      expect([...new Set(thresholdsPerRow(fitted, training, later))]).toEqual([fitted.value]);
    });

    it('are refused with a named key when out of range, in a config as in a call', () => {
      expect(() => fitThreshold(training, { kind: 'spot', risk: 0.01, initialQuantile: 0.995 })).toThrow(
        /spot.initialQuantile must be in \(0.5, 1 - risk/,
      );
      expect(() => fitThreshold(training, { kind: 'dspot', depth: 0 })).toThrow(
        /spot.depth must be a positive integer/,
      );
      expect(() => resolvePipelineConfig({ threshold: { kind: 'spot', risk: 0.7 } })).toThrow(
        /config.threshold.risk: must be a number in \(0, 0.5\)/,
      );
      expect(() => resolvePipelineConfig({ threshold: { kind: 'spot', depth: 5 } as never })).toThrow(
        /unknown key config.threshold.depth/,
      );
      expect(resolvePipelineConfig({ threshold: { kind: 'dspot', depth: 30 } }).threshold).toEqual({
        kind: 'dspot',
        depth: 30,
      });
      // In a call as in the config: a key the kind does not have is refused, not ignored.
      expect(() => fitThreshold(training, { kind: 'spot', depth: 5 } as never)).toThrow(
        /^unknown key depth in a spot threshold \(the keys there are /,
      );
      expect(() =>
        fitThreshold(training, { kind: 'pot', riskQuantile: 0.005, initalQuantile: 0.9 } as never),
      ).toThrow(/unknown key initalQuantile in a pot threshold \(the keys there are initialQuantile, /);
      expect(() => fitThreshold(training, null as never)).toThrow(/threshold must be \{ kind/);
    });
  });
});
