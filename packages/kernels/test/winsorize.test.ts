import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKernelError, quantile, toMatrix, winsorize, winsorizeBounds, winsorizeFit } from '../src/index.js';
import { referenceClip, referenceQuantile } from '../src/reference/quantile.js';

const params = { seed: 20261124, numRuns: 200 };

describe('quantiles by selection', () => {
  it('equal the sort-based numpy twin exactly (property, with ties and NaN)', () => {
    const values = fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
        { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
        { weight: 1, arbitrary: fc.constant(Number.NaN) },
      ),
      { minLength: 1, maxLength: 300 },
    );
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 1, noNaN: true }), (v, q) => {
        expect(
          Object.is(quantile(v, q), referenceQuantile(v, q)) || quantile(v, q) === referenceQuantile(v, q),
        ).toBe(true);
      }),
      params,
    );
  });

  it("matches numpy's values (np.quantile, default method)", () => {
    const a = [3.5, -1, 7, 2.25, 9, 0.1, 4, 4, -8, 11.5];
    expect(quantile(a, 0.01)).toBeCloseTo(-7.37, 12);
    expect(quantile(a, 0.99)).toBeCloseTo(11.275, 12);
    expect(quantile(a, 0.37)).toBeCloseTo(2.6625, 12);
    expect(quantile(a, 0.5)).toBe(3.75);
    expect(quantile([Number.NaN, Number.NaN], 0.5)).toBeNaN();
  });

  it('survives adversarial orders (sorted, reversed, all equal, organ pipe) on 20k values', () => {
    const n = 20_000;
    const inputs = [
      Float64Array.from({ length: n }, (_, i) => i),
      Float64Array.from({ length: n }, (_, i) => n - i),
      new Float64Array(n).fill(3),
      Float64Array.from({ length: n }, (_, i) => (i < n / 2 ? i : n - i)),
    ];
    for (const v of inputs) {
      for (const q of [0, 0.01, 0.5, 0.99, 1]) expect(quantile(v, q)).toBe(referenceQuantile(v, q));
    }
  });

  it('takes the sampled one-pass path on long columns and stays exact (NaN, ties, sorted, constant)', () => {
    const n = 150_000;
    let state = 3;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const inputs = [
      Float64Array.from({ length: n + 1 }, () => next() * 100), // odd: the SIMD loop's scalar tail
      Float64Array.from({ length: n }, () => (next() < 0.1 ? Number.NaN : Math.round(next() * 5))),
      Float64Array.from({ length: n }, (_, i) => i),
      new Float64Array(n).fill(-2),
      Float64Array.from({ length: n }, () => (next() < 0.001 ? next() * 1e9 : next())),
    ];
    for (const v of inputs) {
      for (const q of [0, 0.001, 0.01, 0.37, 0.99, 1]) expect(quantile(v, q)).toBe(referenceQuantile(v, q));
      const b = winsorizeBounds(v, { lower: 0.01, upper: 0.99 });
      expect(b.lower[0]).toBe(referenceQuantile(v, 0.01));
      expect(b.upper[0]).toBe(referenceQuantile(v, 0.99));
      const expected = referenceClip(v, b.lower[0] as number, b.upper[0] as number);
      expect(winsorize(v, b).data).toEqual(expected);
      const fused = winsorizeFit(v, { lower: 0.01, upper: 0.99 });
      expect(fused.bounds).toEqual(b);
      expect(fused.data.data).toEqual(expected);
    }
    // Several long columns take the copied path (strided sampled selection inside the kernel).
    const [a, c] = [inputs[2] as Float64Array, inputs[1] as Float64Array];
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      data[2 * i] = a[i] as number;
      data[2 * i + 1] = c[i] as number;
    }
    const wide = winsorizeBounds({ data, rows: n, cols: 2 }, { lower: 0.02, upper: 0.97 });
    expect(Array.from(wide.lower)).toEqual([referenceQuantile(a, 0.02), referenceQuantile(c, 0.02)]);
    expect(Array.from(wide.upper)).toEqual([referenceQuantile(a, 0.97), referenceQuantile(c, 0.97)]);
  });
});

describe('winsorize', () => {
  it('bounds per column equal the twin; clipping equals the twin; input untouched', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((cols) =>
          fc.tuple(
            fc.constant(cols),
            fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), {
              minLength: cols,
              maxLength: cols * 50,
            }),
          ),
        ),
        ([cols, flat]) => {
          const rows = Math.floor(flat.length / cols);
          const data = Float64Array.from(flat.slice(0, rows * cols));
          const copy = data.slice();
          const bounds = winsorizeBounds({ data, rows, cols }, { lower: 0.05, upper: 0.9 });
          const clipped = winsorize({ data, rows, cols }, bounds);
          expect(data).toEqual(copy);
          const fused = winsorizeFit({ data, rows, cols }, { lower: 0.05, upper: 0.9 });
          expect(fused.bounds).toEqual(bounds);
          expect(fused.data).toEqual(clipped);
          for (let c = 0; c < cols; c++) {
            const column = Array.from({ length: rows }, (_, r) => data[r * cols + c] as number);
            expect(bounds.lower[c]).toBe(referenceQuantile(column, 0.05));
            expect(bounds.upper[c]).toBe(referenceQuantile(column, 0.9));
            const expected = referenceClip(column, bounds.lower[c] as number, bounds.upper[c] as number);
            expect(
              Float64Array.from({ length: rows }, (_, r) => clipped.data[r * cols + c] as number),
            ).toEqual(expected);
          }
        },
      ),
      params,
    );
  });

  it('defaults to 1%/99%, accepts number[][], and keeps NaN as NaN', () => {
    const X = Array.from({ length: 101 }, (_, i) => [i, -i]);
    const b = winsorizeBounds(X);
    expect(Array.from(b.lower)).toEqual([1, -99]);
    expect(Array.from(b.upper)).toEqual([99, -1]);
    const out = winsorize(
      [
        [0, 0],
        [Number.NaN, -100],
        [50, -50],
      ],
      b,
    );
    expect(Array.from(out.data)).toEqual([1, -1, Number.NaN, -99, 50, -50]);
    expect(toMatrix([[1, 2]]).cols).toBe(2);
  });

  it('rejects bad input with typed errors', () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isKernelError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(codeOf(() => winsorizeBounds([]))).toBe('EMPTY_INPUT');
    expect(codeOf(() => winsorizeBounds({ data: new Float64Array(5), rows: 2, cols: 2 }))).toBe(
      'SHAPE_MISMATCH',
    );
    expect(codeOf(() => winsorizeBounds([[1], [2, 3]]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => winsorizeBounds([[1]], { lower: 0.9, upper: 0.1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => winsorizeBounds([[1]], { lower: -0.1 }))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(() => winsorize([[1, 2]], { lower: new Float64Array(1), upper: new Float64Array(1) })),
    ).toBe('FEATURE_COUNT_MISMATCH');
    expect(codeOf(() => quantile([1], 2))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => toMatrix(new Float64Array(4)))).toBe('SHAPE_MISMATCH');
    expect(quantile([1, 2, 3], 0.5)).toBe(2);
    // Plain arrays (e.g. bounds read back from JSON) are accepted.
    expect(Array.from(winsorize([[5], [-5]], { lower: [-1], upper: [1] }).data)).toEqual([1, -1]);
  });
});
