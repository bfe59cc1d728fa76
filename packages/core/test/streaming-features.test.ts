import { generateSampleMarket, type Kline } from '@crypto-anomaly/data';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, type FeatureOptions, RELATIVE_FEATURE_NAMES } from '../src/api.js';
import { computeFeatures } from '../src/features.js';
import { IncrementalFeatures, RollingMoments } from '../src/streaming/incremental-features.js';

// The rolling deviations are running sums recomputed as the kernels' are: within ~1e-12 of the
// batch. Allowed: 1e-9 relative, absolute below 1 (a z-score near 0 has no useful relative error).
const TOLERANCE = 1e-9;
// Features that are exact in both (per-candle formulas, and Wilder's RSI, the same recursion).
const EXACT = new Set([
  'log_return',
  'range',
  'body',
  'upper_shadow',
  'lower_shadow',
  'log_volume',
  'taker_buy_ratio',
  'trades_per_volume',
  'rsi',
  // The relative levels: the same medians (one RollingMedian class) over the same values.
  'relative_range',
  'relative_upper_shadow',
  'relative_lower_shadow',
  'relative_volume',
]);

function streamedRows(klines: readonly Kline[], features: IncrementalFeatures): Float64Array[] {
  const rows: Float64Array[] = [];
  for (const kline of klines) {
    const row = features.push(kline);
    if (row) rows.push(row);
  }
  return rows;
}

/** Largest deviation of the streamed rows from the batch table, per feature (and exact mismatches). */
function compare(klines: readonly Kline[], options: Partial<FeatureOptions>) {
  const batch = computeFeatures(klines, options);
  const rows = streamedRows(klines, new IncrementalFeatures(options));
  expect(rows.length).toBe(batch.matrix.rows);
  const cols = batch.matrix.cols;
  let worst = 0;
  const inexact: string[] = [];
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < cols; c++) {
      const expected = batch.matrix.data[r * cols + c]!;
      const actual = rows[r]![c]!;
      const name = batch.names[c]!;
      if (EXACT.has(name)) {
        if (!Object.is(actual, expected)) inexact.push(`${name} row ${r}: ${actual} vs ${expected}`);
      } else {
        worst = Math.max(worst, Math.abs(actual - expected) / Math.max(1, Math.abs(expected)));
      }
    }
  }
  return { worst, inexact };
}

describe('IncrementalFeatures', () => {
  it('yields the rows of computeFeatures on the sample market, default windows, both sets', () => {
    const { klines } = generateSampleMarket({ count: 600, seed: 3 });
    for (const set of ['classic', 'relative'] as const) {
      const streamed = new IncrementalFeatures({ set });
      expect(streamed.names).toEqual(set === 'classic' ? [...FEATURE_NAMES] : [...RELATIVE_FEATURE_NAMES]);
      const { worst, inexact } = compare(klines, { set });
      expect(inexact).toEqual([]);
      expect(worst).toBeLessThan(TOLERANCE);
    }
  });

  it('matches for random windows, seeds and intervals (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 2, max: 30 }),
        fc.constantFrom('1m', '1h', '1d'),
        fc.constantFrom('classic', 'relative'),
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 2, max: 40 }),
        (
          seed,
          volatilityWindow,
          volumeWindow,
          rsiPeriod,
          interval,
          set,
          levelWindow,
          relativeVolatilityWindow,
        ) => {
          const { klines } = generateSampleMarket({ count: 150, seed, interval: interval as '1h' });
          const { worst, inexact } = compare(klines, {
            set: set as 'classic',
            volatilityWindow,
            volumeWindow,
            rsiPeriod,
            levelWindow,
            relativeVolatilityWindow,
          });
          expect(inexact).toEqual([]);
          expect(worst).toBeLessThan(TOLERANCE);
        },
      ),
      { seed: 11, numRuns: 60 },
    );
  });

  it('gives no row during the warm-up and refuses a candle out of order, unchanged', () => {
    const { klines } = generateSampleMarket({ count: 40, seed: 1 });
    const features = new IncrementalFeatures({ set: 'classic' });
    for (let i = 0; i < features.warmupRows; i++) expect(features.push(klines[i]!)).toBeUndefined();
    expect(features.ready).toBe(true);
    expect(() => features.push(klines[3]!)).toThrow(/must open after the last one/);
    expect(features.candles).toBe(features.warmupRows);
    expect(features.push(klines[features.warmupRows]!)).toHaveLength(FEATURE_NAMES.length);
  });
});

describe('RollingMoments', () => {
  it('stays within 1e-9 of a two-pass deviation when a calm window follows a wild one', () => {
    // Values near 1e5 spread by 1e3, then near 1 spread by 1e-3: the running sums of squares
    // cancel catastrophically unless recomputed.
    const size = 500;
    const moments = new RollingMoments(size);
    const values: number[] = [];
    let state = 7;
    let worst = 0;
    for (let i = 0; i < 1400; i++) {
      state = (state * 48271) % 2147483647;
      const noise = state / 2147483647;
      values.push(i < 600 ? 1e5 + noise * 1e3 : 1 + noise * 1e-3);
      moments.push(values[i]!);
      if (i >= size - 1) {
        const window = values.slice(i - size + 1);
        const mean = window.reduce((a, b) => a + b, 0) / size;
        const std = Math.sqrt(window.reduce((a, b) => a + (b - mean) ** 2, 0) / (size - 1));
        worst = Math.max(worst, Math.abs(moments.std() - std) / std);
      }
    }
    expect(worst).toBeLessThan(1e-9);
  });
});
