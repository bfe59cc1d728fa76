import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isKernelError, quantile, toMatrix, winsorize, winsorizeBounds, winsorizeFit } from '../src/index.js';
import { referenceClip, referenceQuantile } from '../src/reference/winsorize.js';
import { sharedKernels, withHeap, writeFloat64 } from '../src/wasm.js';
import { winsorizeTuning } from '../src/winsorize.js';

const params = { seed: 20261124, numRuns: 200 };

/** Runs `body` with the streamed path's sizes lowered, restoring them after. */
function withTuning(settings: typeof winsorizeTuning, body: () => void): void {
  const saved = { ...winsorizeTuning };
  Object.assign(winsorizeTuning, settings);
  try {
    body();
  } finally {
    Object.assign(winsorizeTuning, saved);
  }
}

interface Trace {
  /** Chunks the bracket pass counted. */
  bracketChunks: number;
  /** What each bracket pass returned: 1 when its brackets held the ranks, 0 when it fell back. */
  finished: number[];
  /** Selections over a whole column (the copied path, or the fallback). */
  wholeColumn: number;
  /** Clipping calls (one per chunk when streamed). */
  clips: number;
}

/** The kernel calls `body` made on the shared instance. */
function trace<T>(body: () => T): Trace & { result: T } {
  const k = sharedKernels();
  const chunk = vi.spyOn(k, 'bracketChunk');
  const finish = vi.spyOn(k, 'bracketFinish');
  const whole = vi.spyOn(k, 'columnQuantiles');
  const clip = vi.spyOn(k, 'clipColumns');
  try {
    const result = body();
    return {
      result,
      bracketChunks: chunk.mock.calls.length,
      finished: finish.mock.results.map((r) => r.value as number),
      wholeColumn: whole.mock.calls.length,
      clips: clip.mock.calls.length,
    };
  } finally {
    for (const spy of [chunk, finish, whole, clip]) spy.mockRestore();
  }
}

/** The first index where a and b differ (Object.is, as toEqual: NaN equals NaN), or -1. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

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

  it("equals numpy's nanquantile bit for bit, including its _lerp from the upper side", () => {
    // Computed by numpy 1.24.2: repr(float(np.nanquantile(np.array(values, dtype=float), q))).
    // numpy's _lerp is b - (b - a)(1 - t) when t >= 0.5, else a + (b - a) t. In the first five
    // rows t >= 0.5 and a + (b - a) t differs in the last bits; in the next three t < 0.5 and
    // b - (b - a)(1 - t) differs: neither one-sided formula could pass this table.
    const table: [number[], number, number][] = [
      [[8.957, 3.0, 6.0, -3.0], 0.91, 8.158610000000001],
      [[-3.8, -7.9, -3.0, 1.3, -0.072, 5.545], 0.59, -0.21840000000000076],
      [[-7.09, 2.2], 0.95, 1.7354999999999998],
      [[10.0, 3.92, 0.4, -2.9], 0.53, 2.4768],
      [[-1.3, 6.5, -9.4], 0.29, -4.702],
      [[-0.4, 0.3, 9.02, -7.0], 0.76, 2.741600000000002],
      [[6.1, 2.231, 3.15, -6.9, -10.0], 0.53, 2.34128],
      [[-1.0, -5.0, 2.69], 0.08, -4.36],
      [[Number.NaN, -7.09, 2.2, Number.NaN], 0.95, 1.7354999999999998],
      [[3.5, -1.0, 7.0, 2.25, 9.0, 0.1, 4.0, 4.0, -8.0, 11.5], 0.37, 2.6625],
      // (b - a) * 0 is NaN when b is infinite: numpy gives NaN here, and so does the kernel.
      [[1.0, Number.POSITIVE_INFINITY], 0.0, Number.NaN],
      [[Number.NEGATIVE_INFINITY, 1.0, 2.0], 0.75, 1.5],
      [[1.0, Number.POSITIVE_INFINITY], 1.0, Number.NaN],
      [[-0.0, 0.0], 0.5, 0.0],
      [[5.0], 0.3, 5.0],
      [[Number.NaN, Number.NaN], 0.5, Number.NaN],
    ];
    const oneSided = (values: number[], q: number, fromUpper: boolean) => {
      const sorted = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
      const h = (sorted.length - 1) * q;
      const k = Math.floor(h);
      const [a, b] = [sorted[k] as number, sorted[k + 1] as number];
      return fromUpper ? b - (b - a) * (1 - (h - k)) : a + (b - a) * (h - k);
    };
    for (const [i, [values, q, expected]] of table.entries()) {
      expect(Object.is(quantile(values, q), expected), `row ${i}: quantile(${values}, ${q})`).toBe(true);
      expect(Object.is(referenceQuantile(values, q), expected), `row ${i}: the twin`).toBe(true);
      if (i < 8) expect(oneSided(values, q, i >= 5), `row ${i}: one-sided`).not.toBe(expected);
    }
  });

  it('takes any array-like; refuses an empty series; gives NaN for an all-NaN one', () => {
    const arrayLike = { length: 3, 0: 3, 1: 1, 2: 2 };
    expect(quantile(arrayLike, 0.5)).toBe(2);
    expect(quantile(new Float32Array([3, 1, 2]), 1)).toBe(3);
    let code = 'none';
    try {
      quantile([], 0.5);
    } catch (e) {
      code = isKernelError(e) ? e.code : 'other';
    }
    expect(code).toBe('EMPTY_INPUT');
    expect(quantile([Number.NaN, Number.NaN, Number.NaN], 0.5)).toBeNaN();
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
    // Sizes lowered from 100,000 values, 65,536-value chunks and 20,000 draws (bench/run.ts runs
    // those on 10,000,000 values): 12,000 values take the streamed path in twelve chunks.
    const tuning = { streamMin: 10_000, chunk: 1024, sample: 2000 };
    const n = 12_000;
    let state = 3;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    // With whether the sampled bracket holds its ranks (undefined: not asserted). A constant
    // column overflows the buffers (every value lies in the bracket): the exact fallback runs.
    const inputs: [string, Float64Array, boolean | undefined][] = [
      // odd: the SIMD loop's scalar tail in the last chunk
      ['uniform', Float64Array.from({ length: n + 1 }, () => next() * 100), true],
      ['NaN', Float64Array.from({ length: n }, () => (next() < 0.1 ? Number.NaN : next())), true],
      [
        'ties and NaN',
        Float64Array.from({ length: n }, () => (next() < 0.1 ? Number.NaN : Math.round(next() * 5))),
        undefined,
      ],
      ['sorted', Float64Array.from({ length: n }, (_, i) => i), true],
      ['constant', new Float64Array(n).fill(-2), false],
      ['heavy tail', Float64Array.from({ length: n }, () => (next() < 0.001 ? next() * 1e9 : next())), true],
    ];
    withTuning(tuning, () => {
      for (const [name, v, sampled] of inputs) {
        const chunks = Math.ceil(v.length / tuning.chunk);
        // One streamed pass over every chunk, then the bracket's exact answer or the fallback.
        const expectStreamed = (t: Trace, label: string) => {
          expect(t.bracketChunks, label).toBe(chunks);
          expect(t.finished.length, label).toBe(1);
          if (sampled !== undefined) expect(t.finished[0] === 1, label).toBe(sampled);
          expect(t.wholeColumn, label).toBe(t.finished[0] === 1 ? 0 : 1);
        };
        for (const q of [0, 0.001, 0.01, 0.37, 0.99, 1]) {
          const t = trace(() => quantile(v, q));
          expectStreamed(t, `${name}, quantile ${q}`);
          expect(t.result, `${name}, quantile ${q}`).toBe(referenceQuantile(v, q));
        }
        const fit = trace(() => winsorizeBounds(v, { lower: 0.01, upper: 0.99 }));
        expectStreamed(fit, `${name}, winsorizeBounds`);
        const b = fit.result;
        expect(b.lower[0], name).toBe(referenceQuantile(v, 0.01));
        expect(b.upper[0], name).toBe(referenceQuantile(v, 0.99));
        const expected = referenceClip(v, b.lower[0] as number, b.upper[0] as number);
        const clipped = trace(() => winsorize(v, b));
        expect(clipped.clips, `${name}, winsorize`).toBe(chunks);
        expect(firstDifference(clipped.result.data, expected), `${name}, winsorize`).toBe(-1);
        const fused = trace(() => winsorizeFit(v, { lower: 0.01, upper: 0.99 }));
        expectStreamed(fused, `${name}, winsorizeFit`);
        expect(fused.clips, `${name}, winsorizeFit`).toBe(chunks);
        expect(fused.result.bounds, name).toEqual(b);
        expect(firstDifference(fused.result.data.data, expected), `${name}, winsorizeFit`).toBe(-1);
      }
    });
    // Several long columns are copied whole, and the kernel runs the same bracket pass over each
    // strided column once it has 100,000 rows (a constant in assembly/winsorize.ts: not lowered here).
    const rows = 100_000;
    const a = Float64Array.from({ length: rows }, (_, i) => i);
    const c = Float64Array.from({ length: rows }, () => (next() < 0.1 ? Number.NaN : Math.round(next() * 5)));
    const data = new Float64Array(2 * rows);
    for (let i = 0; i < rows; i++) {
      data[2 * i] = a[i] as number;
      data[2 * i + 1] = c[i] as number;
    }
    const wide = winsorizeBounds({ data, rows, cols: 2 }, { lower: 0.02, upper: 0.97 });
    const sortedA = a.slice().sort();
    const sortedC = c.filter((x) => !Number.isNaN(x)).sort();
    expect(Array.from(wide.lower)).toEqual([
      referenceQuantile(sortedA, 0.02),
      referenceQuantile(sortedC, 0.02),
    ]);
    expect(Array.from(wide.upper)).toEqual([
      referenceQuantile(sortedA, 0.97),
      referenceQuantile(sortedC, 0.97),
    ]);
    // That it took the bracket pass: the full selection copies all rows into the scratch, the
    // bracket pass only its sample and the values inside the brackets.
    const k = sharedKernels();
    const untouched = withHeap(k, () => {
      const x = writeFloat64(k, data);
      const scratch = k.allocate(rows * 8);
      const out = k.allocate(16);
      new Float64Array(k.memory.buffer, scratch, rows).fill(-0.5); // in neither column
      k.columnQuantiles(x, rows, 2, 0, 0.02, 0.97, scratch, out);
      const pair = Array.from(new Float64Array(k.memory.buffer, out, 2));
      expect(pair).toEqual([wide.lower[0], wide.upper[0]]);
      return new Float64Array(k.memory.buffer, scratch, rows).filter((x) => x === -0.5).length;
    });
    expect(untouched).toBeGreaterThan(rows / 2);
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
    const typo = { low: 0.1 } as object;
    for (const f of [winsorizeBounds, winsorizeFit]) {
      let message = 'none';
      try {
        f([[1], [2]], typo);
      } catch (e) {
        message = isKernelError(e) ? `${e.code} ${e.message}` : 'other';
      }
      expect(message).toBe(
        `INVALID_ARGUMENT unknown key low in ${f.name} options (the keys there are lower, upper, shape).`,
      );
    }
    // Bounds the wrong way round would clip every value to the upper bound.
    let crossed = 'none';
    try {
      winsorize(
        [
          [5, 6],
          [7, 8],
        ],
        { lower: [1, 1], upper: [2, 0] },
      );
    } catch (e) {
      crossed = isKernelError(e) ? `${e.code} ${e.message}` : 'other';
    }
    expect(crossed).toMatch(/^INVALID_ARGUMENT bounds.lower\[1\] \(1\) is above bounds.upper\[1\] \(0\)/);
    expect(codeOf(() => winsorize([[1]], { lower: ['0'], upper: [2] } as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => quantile(['1', '2'] as never, 0.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => winsorizeBounds([['1'], ['2']] as never))).toBe('INVALID_ARGUMENT');
    // NaN bounds (a column with no values) stay allowed and leave the column as it is.
    expect(Array.from(winsorize([[Number.NaN]], { lower: [Number.NaN], upper: [Number.NaN] }).data)).toEqual([
      Number.NaN,
    ]);
    // Plain arrays (e.g. bounds read back from JSON) are accepted.
    expect(Array.from(winsorize([[5], [-5]], { lower: [-1], upper: [1] }).data)).toEqual([1, -1]);
  });
});
