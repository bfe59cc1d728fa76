import { describe, expect, it } from 'vitest';
import { fitThreshold, isCoreError } from '../src/index.js';
import { fitGeneralizedPareto, quantileOf } from '../src/thresholds.js';

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
});
