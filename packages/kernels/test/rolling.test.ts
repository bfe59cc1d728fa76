import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ema,
  isKernelError,
  rollingMax,
  rollingMean,
  rollingMeanStd,
  rollingMin,
  rollingStd,
  rollingSum,
  rollingZScore,
} from '../src/index.js';
import {
  referenceEma,
  referenceRollingMax,
  referenceRollingMean,
  referenceRollingMin,
  referenceRollingStd,
  referenceRollingSum,
  referenceRollingZScore,
} from '../src/reference/rolling.js';

/** Relative tolerance of the O(n) kernels against the two-pass twins, with an absolute floor. */
function expectClose(actual: Float64Array, expected: Float64Array, relative = 1e-9, absolute = 1e-9) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(e)) {
      expect(a, `index ${i}`).toBeNaN();
    } else {
      expect(Math.abs(a - e), `index ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(
        absolute + relative * Math.abs(e),
      );
    }
  }
}

const series = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
    { weight: 1, arbitrary: fc.constant(Number.NaN) },
    { weight: 1, arbitrary: fc.constant(5) },
  ),
  { maxLength: 120 },
);
const windowAndMin = fc
  .integer({ min: 1, max: 20 })
  .chain((w) => fc.tuple(fc.constant(w), fc.integer({ min: 0, max: w })));
const params = { seed: 20261124, numRuns: 150 };

describe('rolling statistics match their two-pass twins (property, pandas semantics)', () => {
  it('sum, mean, std, z-score, min and max', () => {
    fc.assert(
      fc.property(series, windowAndMin, (values, [w, minPeriods]) => {
        const o = { minPeriods };
        expectClose(rollingSum(values, w, o), referenceRollingSum(values, w, minPeriods), 1e-9, 1e-9);
        expectClose(rollingMean(values, w, o), referenceRollingMean(values, w, minPeriods));
        expectClose(rollingStd(values, w, o), referenceRollingStd(values, w, minPeriods), 1e-7, 1e-7);
        expectClose(rollingMin(values, w, o), referenceRollingMin(values, w, minPeriods), 0, 0);
        expectClose(rollingMax(values, w, o), referenceRollingMax(values, w, minPeriods), 0, 0);
        const both = rollingMeanStd(values, w, o);
        expectClose(both.mean, rollingMean(values, w, o), 0, 0);
        expectClose(both.std, rollingStd(values, w, o), 0, 0);
      }),
      params,
    );
  });

  it('z-score away from degenerate windows', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { maxLength: 80 }), (values) => {
        const z = rollingZScore(values, 7);
        const ref = referenceRollingZScore(values, 7);
        for (let i = 0; i < z.length; i++) {
          if (Number.isNaN(ref[i] as number)) expect(z[i]).toBeNaN();
          else expect(Math.abs((z[i] as number) - (ref[i] as number))).toBeLessThan(1e-6);
        }
      }),
      params,
    );
  });

  it('ema equals pandas ewm line for line (exact), with span or alpha, adjust or not', () => {
    fc.assert(
      fc.property(
        series,
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.boolean(),
        fc.integer({ min: 0, max: 5 }),
        (values, alpha, adjust, minPeriods) => {
          expect(ema(values, { alpha, adjust, minPeriods })).toEqual(
            referenceEma(values, alpha, adjust, minPeriods),
          );
        },
      ),
      params,
    );
    expect(ema([1, 2, 3], { span: 3 })).toEqual(referenceEma([1, 2, 3], 0.5));
  });
});

describe('rolling statistics, known values', () => {
  it('follows pandas: NaN until minPeriods observations, NaN skipped but counted in the window', () => {
    const v = [1, 2, Number.NaN, 4, 5];
    expect(Array.from(rollingMean(v, 3))).toEqual([
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
    expect(Array.from(rollingMean(v, 3, { minPeriods: 2 }))).toEqual([Number.NaN, 1.5, 1.5, 3, 4.5]);
    expect(Array.from(rollingSum(v, 2, { minPeriods: 0 }))).toEqual([1, 3, 2, 4, 9]);
    expect(Array.from(rollingMin(v, 2, { minPeriods: 1 }))).toEqual([1, 1, 2, 4, 4]);
    expect(Array.from(rollingMax(v, 2, { minPeriods: 1 }))).toEqual([1, 2, 2, 4, 5]);
    // pandas: pd.Series([1,2,3,4]).rolling(3).std() -> NaN NaN 1.0 1.0
    expect(Array.from(rollingStd([1, 2, 3, 4], 3))).toEqual([Number.NaN, Number.NaN, 1, 1]);
    expect(rollingStd([7, 7, 7, 7], 2)[3]).toBe(0);
    expect(rollingZScore([7, 7, 7], 2)[2]).toBeNaN();
  });

  it('std stays within 1e-9 relative of two-pass for prices near 1e5 with tiny variance (and after a spike)', () => {
    const n = 5000;
    const prices = new Float64Array(n);
    let state = 12345;
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      prices[i] = 1e5 + i * 1e-4 + (state / 2 ** 32 - 0.5) * 1e-6;
    }
    prices[2500] = 2e5; // a spike whose departure would wreck naive running sums
    const w = 60;
    const fast = rollingStd(prices, w);
    const slow = referenceRollingStd(prices, w);
    let worst = 0;
    for (let i = w - 1; i < n; i++) {
      worst = Math.max(worst, Math.abs((fast[i] as number) - (slow[i] as number)) / (slow[i] as number));
    }
    expect(worst).toBeLessThan(1e-9);
    // Naive running sums of x and x^2 lose every digit here: the test could fail.
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < w; i++) {
      s1 += prices[i] as number;
      s2 += (prices[i] as number) ** 2;
    }
    const naive = Math.sqrt(Math.max(0, (s2 - (s1 * s1) / w) / (w - 1)));
    expect(Math.abs(naive - (slow[w - 1] as number)) / (slow[w - 1] as number)).toBeGreaterThan(1e-3);
  });

  it('gives the same results across the chunks long series are processed in', () => {
    const n = 140_000;
    let state = 99;
    const values = Float64Array.from({ length: n }, (_, i) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return i % 9973 === 0 ? Number.NaN : 100 + state / 2 ** 32;
    });
    const w = 5;
    expectClose(rollingMean(values, w, { minPeriods: 3 }), referenceRollingMean(values, w, 3));
    expectClose(rollingStd(values, w, { minPeriods: 3 }), referenceRollingStd(values, w, 3), 1e-9, 1e-12);
    expectClose(rollingMax(values, w), referenceRollingMax(values, w), 0, 0);
    // A window longer than a chunk: check the mean against prefix sums.
    const big = 70_000;
    const mean = rollingMean(values, big, { minPeriods: 1 });
    const prefix = new Float64Array(n + 1);
    const counts = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      prefix[i + 1] = (prefix[i] as number) + (Number.isNaN(v) ? 0 : v);
      counts[i + 1] = (counts[i] as number) + (Number.isNaN(v) ? 0 : 1);
    }
    for (const i of [1, 65_535, 65_536, 69_999, 70_000, 131_071, 131_072, 139_999]) {
      const from = Math.max(0, i - big + 1);
      const expected =
        ((prefix[i + 1] as number) - (prefix[from] as number)) /
        ((counts[i + 1] as number) - (counts[from] as number));
      expect(Math.abs((mean[i] as number) - expected) / expected).toBeLessThan(1e-9);
    }
  });

  it('matches the twins on long series without NaN (the two-lane SIMD path), and past a NaN', () => {
    const n = 140_000; // chunks of 65,536 values: two chunks on the SIMD path, then a short one
    let state = 4242;
    const prices = Float64Array.from({ length: n }, (_, i) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return 1e5 + i * 1e-4 + (state / 2 ** 32 - 0.5) * 1e-6;
    });
    prices[120_000] = 2e5; // a spike in the second lane of a chunk
    prices[80_000] = 3e5; // and one in its first lane
    for (const w of [2, 60]) {
      const { mean, std } = rollingMeanStd(prices, w);
      const slowMean = referenceRollingMean(prices, w);
      const slowStd = referenceRollingStd(prices, w);
      const meanOnly = rollingMean(prices, w);
      const stdOnly = rollingStd(prices, w);
      let worstMean = 0;
      let worstStd = 0;
      for (let i = w - 1; i < n; i++) {
        const m = slowMean[i] as number;
        const e = slowStd[i] as number;
        worstMean = Math.max(
          worstMean,
          Math.abs((mean[i] as number) - m) / m,
          Math.abs((meanOnly[i] as number) - m) / m,
        );
        worstStd = Math.max(
          worstStd,
          Math.abs((std[i] as number) - e) / e,
          Math.abs((stdOnly[i] as number) - e) / e,
        );
      }
      expect(worstMean, `window ${w}`).toBeLessThan(1e-12);
      expect(worstStd, `window ${w}`).toBeLessThan(1e-9);
      for (let i = 0; i < w - 1; i++) expect(std[i]).toBeNaN();
    }
    // A window longer than the recomputation period, checked two-pass at sampled positions.
    const w = 2001;
    const { mean, std } = rollingMeanStd(prices, w);
    for (let i = w - 1; i < n; i += 97) {
      const window = prices.subarray(i - w + 1, i + 1);
      const m = window.reduce((a, b) => a + b, 0) / w;
      const s = Math.sqrt(window.reduce((a, b) => a + (b - m) ** 2, 0) / (w - 1));
      expect(Math.abs((mean[i] as number) - m) / m, `mean ${i}`).toBeLessThan(1e-12);
      expect(Math.abs((std[i] as number) - s) / s, `std ${i}`).toBeLessThan(1e-9);
    }
    const holes = prices.slice();
    holes[100_000] = Number.NaN;
    holes[135_000] = Number.NaN;
    const both = rollingMeanStd(holes, 60, { minPeriods: 30 });
    expectClose(both.mean, referenceRollingMean(holes, 60, 30), 1e-12, 0);
    expectClose(both.std, referenceRollingStd(holes, 60, 30), 1e-7, 0);
  });

  it('rejects bad windows with typed errors, then keeps working', () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isKernelError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(codeOf(() => rollingMean([1, 2], 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rollingMean([1, 2], 2, { minPeriods: 3 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rollingMean('abc' as unknown as number[], 2))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ema([1], { span: 2, alpha: 0.5 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ema([1], { alpha: 0 }))).toBe('INVALID_ARGUMENT');
    expect(Array.from(rollingSum([1, 2, 3], 2))).toEqual([Number.NaN, 3, 5]);
    expect(rollingMean([], 3).length).toBe(0);
  });
});
