import { describe, expect, it } from 'vitest';
import { isCoreError } from '../src/errors.js';
import {
  UnivariateDetector,
  type UnivariateDetectorOptions,
  upperTail,
} from '../src/streaming/univariate-detector.js';
import { UnivariateFeatures, Z_LIMIT } from '../src/streaming/univariate-features.js';

/** Small and quick: 60 warmup rows, a re-fit every 25 rows on the last 120. */
const SMALL: Partial<UnivariateDetectorOptions> = {
  warmup: 60,
  refitEvery: 25,
  trainWindow: 120,
  windows: [5, 20],
  lags: 3,
  nEstimators: 25,
  maxSamples: 64,
  historyWindow: 150,
  quietRows: 10,
};

/** A daily-like wave with noise from a fixed LCG, and a spike at `spikeAt` (none when < 0). */
function wave(length: number, spikeAt = -1, seed = 7): Float64Array {
  let state = seed;
  const noise = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648 - 0.5;
  };
  return Float64Array.from(
    { length },
    (_, i) => 10 + 3 * Math.sin((2 * Math.PI * i) / 24) + noise() + (i === spikeAt ? 25 : 0),
  );
}

async function expectRefusal(run: () => unknown, code: string, pattern: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(isCoreError(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
  expect((caught as Error).message).toMatch(pattern);
}

describe('UnivariateDetector', () => {
  it('scores in [0, 1], 0 in the warmup, and alerts on a spike once', async () => {
    // The default forest size; 200 warmup rows, a re-fit every 50 on the last 400.
    const options = { warmup: 200, refitEvery: 50, trainWindow: 400, windows: [5, 20], lags: 3 };
    const values = wave(600);
    values[450] = values[450]! + 15;
    values[451] = values[451]! + 15;
    const scores = await UnivariateDetector.scoreSeries(values, {
      ...options,
      historyWindow: 400,
      quietRows: 20,
    });
    expect(scores).toHaveLength(600);
    for (const s of scores) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    expect(Array.from(scores.subarray(0, 200)).every((s) => s === 0)).toBe(true);
    // No alert (−log10 p > 3, a score above 0.75) on the plain wave, one within a few rows of
    // the spike (its lags carry it) ...
    expect(Math.max(...scores.subarray(0, 450))).toBeLessThan(0.75);
    const alert = Array.from(scores.subarray(450, 456)).findIndex((s) => s > 0.75);
    expect(alert).toBeGreaterThanOrEqual(0);
    // ... then the quiet rows score 0, and no second alert follows.
    const quiet = scores.subarray(450 + alert + 1, 450 + alert + 21);
    expect(Array.from(quiet).every((s) => s === 0)).toBe(true);
    expect(Math.max(...scores.subarray(450 + alert + 1))).toBeLessThan(0.75);
  });

  it('is online: changing a later value never changes an earlier score', async () => {
    const values = wave(200);
    const before = await UnivariateDetector.scoreSeries(values, SMALL);
    for (const changed of [60, 111, 170]) {
      const edited = Float64Array.from(values);
      edited[changed] = edited[changed]! + 40;
      const after = await UnivariateDetector.scoreSeries(edited, SMALL);
      expect(Array.from(after.subarray(0, changed))).toEqual(Array.from(before.subarray(0, changed)));
      // The change itself is seen (the test could fail the other way too).
      expect(Array.from(after.subarray(changed))).not.toEqual(Array.from(before.subarray(changed)));
    }
  });

  it('gives the same scores however the stream is split across update calls', async () => {
    const values = wave(190, 150);
    const whole = await UnivariateDetector.scoreSeries(values, SMALL);
    const detector = new UnivariateDetector(SMALL);
    const parts: number[] = [];
    for (const [start, end] of [
      [0, 1],
      [1, 59],
      [59, 85],
      [85, 86],
      [86, 190],
    ] as const) {
      parts.push(...(await detector.update(values.subarray(start, end))));
    }
    expect(parts).toEqual(Array.from(whole));
    expect(detector.count).toBe(190);
    // A fit at row 60, then every 25 rows: 60, 85, ..., 185.
    expect(detector.fitCount).toBe(6);
  });

  it('is deterministic by seed', async () => {
    const values = wave(180, 140);
    const a = await UnivariateDetector.scoreSeries(values, { ...SMALL, seed: 3 });
    const b = await UnivariateDetector.scoreSeries(values, { ...SMALL, seed: 3 });
    const c = await UnivariateDetector.scoreSeries(values, { ...SMALL, seed: 4 });
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('refuses a value that is not a number, naming its row, and bad options', async () => {
    const values = wave(80);
    values[70] = Number.NaN;
    await expectRefusal(() => UnivariateDetector.scoreSeries(values, SMALL), 'NON_FINITE_INPUT', /row 70/);
    await expectRefusal(
      () => new UnivariateDetector({ refitEvery: 0 }),
      'INVALID_ARGUMENT',
      /univariate\.refitEvery/,
    );
    await expectRefusal(() => new UnivariateDetector({ alertLevel: -1 }), 'INVALID_ARGUMENT', /alertLevel/);
    await expectRefusal(() => new UnivariateDetector({ windows: [1] }), 'INVALID_ARGUMENT', /window/);
    // A misspelt option (warmUp for warmup) is refused, not replaced by its default.
    await expectRefusal(
      () => new UnivariateDetector({ warmUp: 10 } as object),
      'INVALID_ARGUMENT',
      /^unknown key warmUp in UnivariateDetector options \(the keys there are warmup, /,
    );
    await expectRefusal(
      () => UnivariateDetector.scoreSeries(wave(10), { lag: 2 } as object),
      'INVALID_ARGUMENT',
      /unknown key lag in UnivariateDetector options \(the keys there are lags, /,
    );
  });
});

describe('UnivariateFeatures', () => {
  it('gives the value, its change, z-scores against the previous values, and lags', () => {
    const features = new UnivariateFeatures([3], 2);
    expect(features.names).toEqual(['value', 'change', 'value_z3', 'change_z3', 'value_lag1', 'value_lag2']);
    const series = [1, 4, 2, 8, 5];
    const rows = series.map((v) => {
      const row = new Float64Array(features.width);
      features.push(v, row);
      return Array.from(row);
    });
    // Row 4 (value 5): previous values 4, 2, 8 (mean 14/3, sample sd 3.0551); changes so far
    // 3, -2, 6 (mean 7/3, sd 4.0415); this change -3; lags 8, 2.
    const sd = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
    };
    const last = rows[4]!;
    expect(last[0]).toBe(5);
    expect(last[1]).toBe(-3);
    expect(last[2]).toBeCloseTo((5 - 14 / 3) / sd([4, 2, 8]), 12);
    expect(last[3]).toBeCloseTo((-3 - 7 / 3) / sd([3, -2, 6]), 12);
    expect(last.slice(4)).toEqual([8, 2]);
    // The first row has no past: z-scores 0, lags the value itself.
    expect(rows[0]).toEqual([1, 0, 0, 0, 1, 1]);
  });

  it('bounds the z-score of a step off a flat level', () => {
    const features = new UnivariateFeatures([4]);
    const row = new Float64Array(features.width);
    for (const v of [2, 2, 2, 2, 2]) features.push(v, row);
    expect(row[2]).toBe(0);
    features.push(3, row);
    expect(row[2]).toBe(Z_LIMIT);
  });
});

describe('upperTail', () => {
  it('is the standard normal upper tail, accurate far out', () => {
    expect(upperTail(0)).toBeCloseTo(0.5, 7);
    expect(upperTail(1.959963984540054)).toBeCloseTo(0.025, 7);
    expect(upperTail(-1.959963984540054)).toBeCloseTo(0.975, 7);
    // Q(5) = 2.866515718791939e-7, Q(10) = 7.619853024160527e-24: relative error < 1e-6.
    expect(Math.abs(upperTail(5) / 2.866515718791939e-7 - 1)).toBeLessThan(1e-6);
    expect(Math.abs(upperTail(10) / 7.619853024160527e-24 - 1)).toBeLessThan(1e-6);
    expect(upperTail(Number.POSITIVE_INFINITY)).toBe(0);
  });
});
