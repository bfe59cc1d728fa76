import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
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
import { rollingTuning } from '../src/rolling.js';
import { sharedKernels } from '../src/wasm.js';

/**
 * Relative tolerance of the O(n) kernels against the two-pass twins, with an absolute floor (NaN
 * where the twin is NaN). One assertion per array, naming the first value out of tolerance.
 */
function expectClose(
  actual: Float64Array,
  expected: Float64Array,
  relative = 1e-9,
  absolute = 1e-9,
  label = '',
) {
  expect(actual.length, label).toBe(expected.length);
  let first: string | undefined;
  for (let i = 0; i < actual.length && first === undefined; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= absolute + relative * Math.abs(e);
    if (!ok) first = `index ${i}: ${a} vs ${e}`;
  }
  expect(first, label).toBeUndefined();
}

/**
 * Runs `body` with the rolling chunk lowered to `chunk` values and reports the kernel calls it
 * made: the length of each chunk the scalar kernel ran, and what the SIMD one returned for each
 * (0: it ran, 1: it gave up at a NaN or an infinity).
 */
function traced<T>(chunk: number, body: () => T): { result: T; general: number[]; dense: number[] } {
  const k = sharedKernels();
  const general = vi.spyOn(k, 'rollingMoments');
  const dense = vi.spyOn(k, 'rollingMomentsDense');
  const saved = rollingTuning.chunk;
  rollingTuning.chunk = chunk;
  try {
    const result = body();
    return {
      result,
      general: general.mock.calls.map((call) => call[1]),
      dense: dense.mock.results.map((r) => r.value as number),
    };
  } finally {
    rollingTuning.chunk = saved;
    general.mockRestore();
    dense.mockRestore();
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

  it('are exact again once an infinity or a value whose square overflows has left the window (both kernels)', () => {
    const wild = fc.constantFrom(
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e200,
      -3e180,
      Number.MAX_VALUE,
    );
    const long = fc.array(
      fc.oneof(
        { weight: 30, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
        { weight: 1, arbitrary: wild },
        { weight: 1, arbitrary: fc.constant(Number.NaN) },
      ),
      { minLength: 150, maxLength: 400 },
    );
    fc.assert(
      fc.property(long, fc.integer({ min: 2, max: 12 }), (values, w) => {
        // Positions whose window holds no wild value: there the kernels must equal the twins.
        const tame = values.map((_, i) =>
          values.slice(Math.max(0, i - w + 1), i + 1).every((v) => !(Math.abs(v) > 1e150)),
        );
        const only = (xs: Float64Array) => Float64Array.from(xs.filter((_, i) => tame[i]));
        // A chunk of 64 values sends the later chunks through the two-lane SIMD kernel as well.
        const { result } = traced(64, () => ({
          sum: rollingSum(values, w),
          mean: rollingMean(values, w),
          std: rollingStd(values, w),
          both: rollingMeanStd(values, w),
        }));
        expectClose(only(result.sum), only(referenceRollingSum(values, w)), 1e-9, 1e-9, 'sum');
        expectClose(only(result.mean), only(referenceRollingMean(values, w)), 1e-9, 1e-9, 'mean');
        expectClose(only(result.std), only(referenceRollingStd(values, w)), 1e-7, 1e-7, 'std');
        expectClose(only(result.both.std), only(referenceRollingStd(values, w)), 1e-7, 1e-7, 'mean-std');
        // In a window holding one, where the twin's mean is infinite: not a finite number either
        // (infinite or NaN, as the order of the shifted sums gives; never a finite wrong value).
        const twinMean = referenceRollingMean(values, w);
        for (let i = 0; i < values.length; i++) {
          if (!tame[i] && Math.abs(twinMean[i] as number) === Number.POSITIVE_INFINITY) {
            expect(Number.isFinite(result.mean[i]), `index ${i}`).toBe(false);
          }
        }
      }),
      { seed: 20261202, numRuns: 60 },
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
    // The chunk lowered to 1,000 values (65,536 by default; bench/run.ts runs that on 10,000,000):
    // 3,500 values cross three chunk boundaries, and a window of 400 grows the chunk to 1,600 (four
    // windows). NaN everywhere, so every chunk runs the scalar kernel (the SIMD one gives up).
    const chunk = 1000;
    const n = 3500;
    let state = 99;
    const values = Float64Array.from({ length: n }, (_, i) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return i % 97 === 0 ? Number.NaN : 100 + state / 2 ** 32;
    });
    // NaN on both sides of a chunk boundary, and among the values the next chunk carries over.
    for (const i of [999, 1000, 2997]) values[i] = Number.NaN;
    for (const w of [1, 2, 5, 60, 400]) {
      const chunks = Math.ceil(n / Math.max(chunk, 4 * w));
      for (const minPeriods of [w, Math.floor(w / 2)]) {
        const o = { minPeriods };
        const { result, general } = traced(chunk, () => ({
          sum: rollingSum(values, w, o),
          mean: rollingMean(values, w, o),
          std: rollingStd(values, w, o),
          z: rollingZScore(values, w, o),
          both: rollingMeanStd(values, w, o),
        }));
        const label = `window ${w}, minPeriods ${minPeriods}`;
        expect(general.length, `${label}: chunks run`).toBe(5 * chunks);
        expect(chunks, label).toBeGreaterThan(1);
        expectClose(result.sum, referenceRollingSum(values, w, minPeriods), 1e-9, 1e-9, `${label} sum`);
        const mean = referenceRollingMean(values, w, minPeriods);
        const std = referenceRollingStd(values, w, minPeriods);
        expectClose(result.mean, mean, 1e-9, 1e-9, `${label} mean`);
        expectClose(result.std, std, 1e-9, 1e-12, `${label} std`);
        expectClose(result.both.mean, mean, 1e-9, 1e-9, `${label} both.mean`);
        expectClose(result.both.std, std, 1e-9, 1e-12, `${label} both.std`);
        expectClose(result.z, referenceRollingZScore(values, w, minPeriods), 1e-7, 1e-7, `${label} z`);
      }
    }
  });

  it('matches the twins on long series without NaN (the two-lane SIMD path), and past a NaN', () => {
    // The chunk lowered to 4,096 values (65,536 by default; bench/run.ts runs that on 10,000,000):
    // of 20,000 values, the first chunk runs the scalar kernel (it has no w - 1 values before it),
    // the four after it the SIMD one, whose two lanes run 2,048 outputs each: past a recomputation
    // (every max(window, 1024) steps).
    const chunk = 4096;
    const n = 20_000;
    let state = 4242;
    const prices = Float64Array.from({ length: n }, (_, i) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return 1e5 + i * 1e-4 + (state / 2 ** 32 - 0.5) * 1e-6;
    });
    prices[9_000] = 2e5; // a spike in the first lane of the chunk [8192, 12288)
    prices[11_500] = 3e5; // one in its second lane
    prices[14_000] = 2.5e5; // one in the second lane of the chunk [8004, 16008) of a window of 2001
    prices[16_380] = 4e5; // and one among the values the chunk [16384, 20000) carries over
    for (const w of [2, 60]) {
      const { result, general, dense } = traced(chunk, () => ({
        both: rollingMeanStd(prices, w),
        meanOnly: rollingMean(prices, w),
        stdOnly: rollingStd(prices, w),
      }));
      // Per call, the scalar kernel on the first chunk only; SIMD on the four others, never giving up.
      expect(general.length, `window ${w}`).toBe(3);
      expect(dense, `window ${w}`).toEqual(new Array(12).fill(0));
      const { mean, std } = result.both;
      const slowMean = referenceRollingMean(prices, w);
      const slowStd = referenceRollingStd(prices, w);
      let worstMean = 0;
      let worstStd = 0;
      for (let i = w - 1; i < n; i++) {
        const m = slowMean[i] as number;
        const e = slowStd[i] as number;
        worstMean = Math.max(
          worstMean,
          Math.abs((mean[i] as number) - m) / m,
          Math.abs((result.meanOnly[i] as number) - m) / m,
        );
        worstStd = Math.max(
          worstStd,
          Math.abs((std[i] as number) - e) / e,
          Math.abs((result.stdOnly[i] as number) - e) / e,
        );
      }
      expect(worstMean, `window ${w}`).toBeLessThan(1e-12);
      expect(worstStd, `window ${w}`).toBeLessThan(1e-9);
      expect(std.subarray(0, w - 1).every(Number.isNaN), `window ${w}`).toBe(true);
    }
    // A window longer than the recomputation period of 1,024: chunks grow to 8,004 values (four
    // windows), of which the second runs SIMD lanes of 4,002 outputs, recomputed every 2,001 steps.
    // Checked two-pass at every 7th position.
    const w = 2001;
    const { result, dense } = traced(chunk, () => rollingMeanStd(prices, w));
    expect(dense).toEqual([0, 0]);
    let worstMean = 0;
    let worstStd = 0;
    for (let i = w - 1; i < n; i += 7) {
      const window = prices.subarray(i - w + 1, i + 1);
      const m = window.reduce((a, b) => a + b, 0) / w;
      const s = Math.sqrt(window.reduce((a, b) => a + (b - m) ** 2, 0) / (w - 1));
      worstMean = Math.max(worstMean, Math.abs((result.mean[i] as number) - m) / m);
      worstStd = Math.max(worstStd, Math.abs((result.std[i] as number) - s) / s);
    }
    expect(worstMean).toBeLessThan(1e-12);
    expect(worstStd).toBeLessThan(1e-9);
    // Past a NaN: a chunk holding one, or carrying one over from the chunk before, runs the scalar kernel.
    const holes = prices.slice();
    holes[15_000] = Number.NaN; // in the chunk [12288, 16384)
    holes[16_350] = Number.NaN; // in its last 59 values, which the chunk [16384, 20000) carries over
    const past = traced(chunk, () => rollingMeanStd(holes, 60, { minPeriods: 30 }));
    expect(past.dense).toEqual([0, 0, 1, 1]);
    expect(past.general.length).toBe(3);
    expectClose(past.result.mean, referenceRollingMean(holes, 60, 30), 1e-12, 0, 'mean');
    expectClose(past.result.std, referenceRollingStd(holes, 60, 30), 1e-7, 0, 'std');
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

  it('refuses a plain array holding something other than numbers, instead of coercing it', () => {
    const messageOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isKernelError(e) ? `${e.code} ${e.message}` : 'other';
      }
      return 'none';
    };
    const strings = ['1', '2', '3'] as unknown as number[];
    expect(messageOf(() => rollingMean(strings, 2))).toBe(
      'INVALID_ARGUMENT values[0] is "1", not a number: pass numbers (NaN for a missing value).',
    );
    expect(messageOf(() => rollingMax([1, null, 3] as unknown as number[], 2))).toMatch(
      /values\[1\] is null/,
    );
    expect(messageOf(() => ema([1, '2'] as unknown as number[], { span: 2 }))).toMatch(/values\[1\] is "2"/);
    // NaN is a number (a missing value); typed arrays are taken as they are.
    expect(Array.from(rollingMean([1, Number.NaN, 3], 1))).toEqual([1, Number.NaN, 3]);
    expect(Array.from(rollingMean(new Float32Array([1, 2, 3]), 2))).toEqual([Number.NaN, 1.5, 2.5]);
  });

  it('refuses an option it does not know, naming it and the known ones', () => {
    const messageOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isKernelError(e) ? `${e.code} ${e.message}` : 'other';
      }
      return 'none';
    };
    const typo = { minPerods: 1 } as object;
    expect(messageOf(() => rollingMean([1, 2, 3], 2, typo))).toBe(
      'INVALID_ARGUMENT unknown key minPerods in rollingMean options (the keys there are minPeriods).',
    );
    for (const [name, f] of Object.entries({
      rollingSum,
      rollingStd,
      rollingMeanStd,
      rollingZScore,
      rollingMin,
      rollingMax,
    })) {
      expect(messageOf(() => f([1, 2, 3], 2, typo))).toContain(`unknown key minPerods in ${name} options`);
    }
    expect(messageOf(() => ema([1, 2, 3], { spn: 2 } as object))).toBe(
      'INVALID_ARGUMENT unknown key spn in ema options (the keys there are span, alpha, adjust, minPeriods).',
    );
    expect(messageOf(() => rollingMean([1, 2, 3], 2, 1 as unknown as object))).toMatch(
      /rollingMean options must be an object; got 1/,
    );
    // undefined values set nothing, whatever the key: spread settings pass.
    expect(
      Array.from(rollingMean([1, 2, 3], 2, { minPeriods: undefined, other: undefined } as object)),
    ).toEqual([Number.NaN, 1.5, 2.5]);
  });
});
