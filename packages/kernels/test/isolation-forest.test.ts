import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IsolationForest,
  type IsolationForestOptions,
  isKernelError,
  type Matrix,
  threadPoolStatus,
} from '../src/index.js';
import { buildForestReference, pathLengthSumsReference } from '../src/reference/isolation-forest.js';
import { ReferenceRandom } from '../src/reference/random.js';
import { instantiateKernels } from '../src/wasm.js';

/** Deterministic uniform rows (an LCG: the tests do not depend on the PRNG under test). */
function randomMatrix(rows: number, cols: number, seed = 1): Matrix {
  const data = new Float64Array(rows * cols);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s / 2 ** 32;
  }
  return { data, rows, cols };
}

/** The first index where a and b differ (Object.is, as toEqual), or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return isKernelError(e) ? e.code : `other: ${(e as Error).message}`;
  }
  return 'none';
}

describe('PRNG twin', () => {
  it('draws the same u32 stream in WebAssembly and TypeScript', () => {
    const k = instantiateKernels();
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat({ max: 1000 }), (low, high, stream) => {
        const r = new ReferenceRandom(low >>> 0, high >>> 0, stream);
        for (let skip = 0; skip < 5; skip++) {
          expect(k.randomU32(low >>> 0, high >>> 0, stream, skip) >>> 0).toBe(r.nextU32());
        }
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});

describe('IsolationForest equals its TypeScript twin exactly', () => {
  it('same seed, same trees and the same path lengths (property: shapes, seeds, extension levels)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        (rows, cols, seed, extension, ties) => {
          const X = randomMatrix(rows, cols, seed % 1000);
          if (ties) for (let i = 0; i < X.data.length; i++) X.data[i] = Math.round((X.data[i] as number) * 3);
          const extensionLevel = Math.min(extension, cols - 1);
          const forest = new IsolationForest({ nEstimators: 7, seed, extensionLevel, threads: 1 }).fit(X);
          const psi = Math.min(256, rows);
          const ref = buildForestReference(
            X,
            psi,
            7,
            seed >>> 0,
            Math.floor(seed / 2 ** 32),
            extensionLevel ? extensionLevel + 1 : 0,
          );
          expect(forest.forest.features).toEqual(ref.features);
          expect(forest.forest.indices).toEqual(ref.indices);
          expect(forest.forest.weights).toEqual(ref.weights);
          expect(forest.forest.thresholds).toEqual(ref.thresholds);
          expect(forest.forest.leaves).toEqual(ref.leaves);
          expect(forest.pathLengthSums(X)).toEqual(pathLengthSumsReference(ref, X));
        },
      ),
      { seed: 20261124, numRuns: 40 },
    );
  });
});

describe('IsolationForest on known structure', () => {
  it('scores a planted outlier highest, in (0, 1], and flags it', () => {
    const X = randomMatrix(500, 3);
    X.data.set([4, -3, 5], 250 * 3);
    const forest = new IsolationForest({ seed: 1, threads: 1 }).fit(X);
    const scores = forest.decisionFunction(X);
    const top = scores.indexOf(Math.max(...scores));
    expect(top).toBe(250);
    for (const s of scores) expect(s > 0 && s <= 1).toBe(true);
    expect(forest.threshold).toBe(0.5);
    expect(forest.predict(X)[250]).toBe(1);
    // The raw score, as PyOD's decision_function (not score - threshold); the old name still answers.
    expect(forest.scoreSamples(X)).toEqual(scores);
    // The extended forest agrees on the planted point.
    const extended = new IsolationForest({ seed: 1, threads: 1, extensionLevel: 2 })
      .fit(X)
      .decisionFunction(X);
    expect(extended.indexOf(Math.max(...extended))).toBe(250);
  });

  it('scores every row of a constant dataset the same (at the one-leaf path length)', () => {
    const X = { data: new Float64Array(300 * 2).fill(3.25), rows: 300, cols: 2 };
    const scores = new IsolationForest({ seed: 3, threads: 1 }).fit(X).decisionFunction(X);
    expect(new Set(scores).size).toBe(1);
    // One leaf holding all 256 rows: h = c(256), so s = 2^-1.
    expect(scores[0]).toBeCloseTo(0.5, 12);
  });

  it('works with n < psi (psi = n) and with d = 1', () => {
    const small = randomMatrix(20, 2, 5);
    const f = new IsolationForest({ maxSamples: 256, seed: 2, threads: 1 }).fit(small);
    expect(f.forest.depth).toBe(5); // ceil(log2 20)
    expect(f.decisionFunction(small).length).toBe(20);
    const line = Array.from({ length: 100 }, (_, i) => [i === 50 ? 1000 : i]);
    const s = new IsolationForest({ seed: 2, threads: 1 }).fit(line).decisionFunction(line);
    expect(s.indexOf(Math.max(...s))).toBe(50);
    expect(new IsolationForest({ threads: 1 }).fit([[1], [2]]).decisionFunction([[1.5]])[0]).toBeGreaterThan(
      0,
    );
  });

  it('puts the threshold at the (1 - contamination) quantile of training scores', () => {
    const X = randomMatrix(1000, 4, 9);
    const f = new IsolationForest({ seed: 4, contamination: 0.1, threads: 1 }).fit(X);
    const flagged = f.predict(X).reduce((a, b) => a + b, 0);
    expect(flagged).toBeGreaterThanOrEqual(95);
    expect(flagged).toBeLessThanOrEqual(100);
  });

  it('gives identical forests and scores whatever the thread count (and threads really run)', () => {
    const X = randomMatrix(3000, 4, 11);
    const before = threadPoolStatus().jobsOnWorkers;
    for (const extensionLevel of [0, 3]) {
      const results = [1, 2, 3].map((threads) => {
        const f = new IsolationForest({ nEstimators: 24, seed: 99, threads, extensionLevel }).fit(X);
        return { bytes: f.toBytes(), scores: f.decisionFunction(X) };
      });
      const [one] = results;
      for (const r of results.slice(1)) {
        // Compared value by value in one assertion: toEqual walks 120-390 KB of bytes for seconds.
        expect(firstDifference(r.bytes, one?.bytes as Uint8Array)).toBe(-1);
        expect(firstDifference(r.scores, one?.scores as Float64Array)).toBe(-1);
      }
    }
    const status = threadPoolStatus();
    expect(status.usable).toBe(true);
    expect(status.jobsOnWorkers).toBeGreaterThan(before);
  });

  it('round-trips through JSON and bytes and scores identically; refuses corrupt models', () => {
    const X = randomMatrix(400, 3, 13);
    for (const extensionLevel of [0, 1]) {
      const f = new IsolationForest({ seed: 5, contamination: 0.05, threads: 1, extensionLevel }).fit(X);
      const fromJson = IsolationForest.fromJSON(JSON.parse(JSON.stringify(f.toJSON())));
      const fromText = IsolationForest.fromJSON(JSON.stringify(f));
      const fromBytes = IsolationForest.fromBytes(f.toBytes());
      const expected = f.decisionFunction(X);
      for (const g of [fromJson, fromText, fromBytes]) {
        expect(g.decisionFunction(X)).toEqual(expected);
        expect(g.threshold).toBe(f.threshold);
        expect(g.nFeatures).toBe(3);
        expect(g.predict(X)).toEqual(f.predict(X));
      }
    }
    const json = new IsolationForest({ threads: 1 }).fit(X).toJSON();
    expect(codeOf(() => IsolationForest.fromJSON({ ...json, version: 99 }))).toBe('INVALID_MODEL');
    expect(codeOf(() => IsolationForest.fromJSON({ ...json, format: 'x' as never }))).toBe('INVALID_MODEL');
    expect(codeOf(() => IsolationForest.fromJSON({ ...json, leaves: 'AAAA' }))).toBe('INVALID_MODEL');
    expect(codeOf(() => IsolationForest.fromJSON('{not json'))).toBe('INVALID_MODEL');
    expect(codeOf(() => IsolationForest.fromBytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])))).toBe(
      'INVALID_MODEL',
    );
  });
});

describe('IsolationForest bad input', () => {
  it('throws typed errors naming the argument, and stays usable after each', () => {
    const X = randomMatrix(50, 2);
    expect(codeOf(() => new IsolationForest({ nEstimators: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new IsolationForest({ maxSamples: 1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new IsolationForest({ contamination: 0.6 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new IsolationForest({ contamination: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new IsolationForest({ seed: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new IsolationForest({ threads: 0 }))).toBe('INVALID_ARGUMENT');
    const f = new IsolationForest({ seed: 1, threads: 1 });
    expect(codeOf(() => f.decisionFunction(X))).toBe('NOT_FITTED');
    expect(codeOf(() => f.threshold)).toBe('NOT_FITTED');
    expect(codeOf(() => f.fit([]))).toBe('EMPTY_INPUT');
    expect(codeOf(() => f.fit([[1, 2]]))).toBe('EMPTY_INPUT');
    expect(codeOf(() => f.fit({ data: new Float64Array(5), rows: 2, cols: 2 }))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => f.fit(new Float64Array(6), { shape: [4, 2] }))).toBe('SHAPE_MISMATCH');
    expect(
      codeOf(() =>
        f.fit([
          [1, Number.NaN],
          [2, 3],
        ]),
      ),
    ).toBe('NON_FINITE_INPUT');
    expect(
      codeOf(() =>
        f.fit([
          [1, Number.POSITIVE_INFINITY],
          [2, 3],
        ]),
      ),
    ).toBe('NON_FINITE_INPUT');
    expect(codeOf(() => new IsolationForest({ extensionLevel: 2 }).fit(X))).toBe('INVALID_ARGUMENT');
    // Strings are refused, not coerced (a Float64Array copy would turn '1' into 1).
    let strings = 'none';
    try {
      f.fit([
        ['1', '2'],
        ['3', '4'],
      ] as unknown as number[][]);
    } catch (e) {
      strings = isKernelError(e) ? `${e.code} ${e.message}` : 'other';
    }
    expect(strings).toBe('INVALID_ARGUMENT X[0][0] is "1", not a number: pass numbers.');
    expect(f.isFitted).toBe(false);
    f.fit(X);
    const scores = f.decisionFunction(X);
    expect(codeOf(() => f.decisionFunction([[1, 2, 3]]))).toBe('FEATURE_COUNT_MISMATCH');
    expect(codeOf(() => f.decisionFunction([[1, Number.NaN]]))).toBe('NON_FINITE_INPUT');
    expect(
      codeOf(() =>
        f.fit([
          [Number.NaN, 1],
          [1, 1],
        ]),
      ),
    ).toBe('NON_FINITE_INPUT');
    // A failed refit keeps the previous forest; the WASM instance keeps working.
    expect(f.decisionFunction(X)).toEqual(scores);
    try {
      new IsolationForest({ seed: 1, threads: 1 }).fit([[1, 2]]);
    } catch (e) {
      expect((e as Error).message).toMatch(/at least 2 rows/);
    }
    try {
      new IsolationForest({ contamination: 2 });
    } catch (e) {
      expect((e as Error).message).toMatch(/contamination.*\(0, 0\.5\].*2/);
    }
  });

  it('refuses an option it does not know, naming it and the known ones (closest first)', () => {
    const messageOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isKernelError(e) ? `${e.code} ${e.message}` : `other: ${(e as Error).message}`;
      }
      return 'none';
    };
    const opts = (o: object) => o as Partial<IsolationForestOptions>;
    expect(messageOf(() => new IsolationForest(opts({ nEstimator: 10 })))).toBe(
      'INVALID_ARGUMENT unknown key nEstimator in IsolationForest options (the keys there are ' +
        'nEstimators, maxSamples, contamination, extensionLevel, seed, threads).',
    );
    expect(messageOf(() => new IsolationForest(opts({ contamnation: 0.1 })))).toMatch(
      /^INVALID_ARGUMENT unknown key contamnation in IsolationForest options \(the keys there are contamination, nEstimators,/,
    );
    const X = randomMatrix(20, 2);
    const f = new IsolationForest({ nEstimators: 5, threads: 1 });
    expect(messageOf(() => f.fit(X, { onProgres: () => {} } as object))).toMatch(
      /^INVALID_ARGUMENT unknown key onProgres in fit options \(the keys there are onProgress, shape\)/,
    );
    const saved = f.fit(X).toJSON();
    expect(messageOf(() => IsolationForest.fromJSON(saved, { thread: 1 } as object))).toMatch(
      /^INVALID_ARGUMENT unknown key thread in fromJSON options/,
    );
    expect(messageOf(() => IsolationForest.fromBytes(f.toBytes(), { thread: 1 } as object))).toMatch(
      /unknown key thread in fromBytes options/,
    );
    // An option given as undefined is the default (spread settings), whatever its name.
    const spread = new IsolationForest({ seed: undefined, nEstimator: undefined } as object);
    expect(spread.options.seed).toBe(0);
    expect(Object.keys(spread.options)).not.toContain('nEstimator');
    // A forest saved with a misspelt option (kept in its options before) still loads.
    const old = { ...saved, options: { ...saved.options, nEstimator: 10 } };
    expect(IsolationForest.fromJSON(old).decisionFunction(X)).toEqual(f.decisionFunction(X));
  });

  it('reports progress from fit', () => {
    const calls: Array<[number, number]> = [];
    new IsolationForest({ nEstimators: 30, threads: 1 }).fit(randomMatrix(100, 2), {
      onProgress: (built, trees) => calls.push([built, trees]),
    });
    expect(calls.at(-1)).toEqual([30, 30]);
    expect(calls.length).toBeGreaterThan(1);
  });
});
