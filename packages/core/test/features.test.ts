import { generateSampleMarket, type Kline } from '@crypto-anomaly/data';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { relativeStrengthIndex } from '../src/features.js';
import { computeFeatures, FEATURE_NAMES, isCoreError } from '../src/index.js';

const market = generateSampleMarket({ count: 400, seed: 3 });
const klines = market.klines;

function featureAt(table: ReturnType<typeof computeFeatures>, candle: number, name: string): number {
  const row = candle - table.warmupRows;
  return table.matrix.data[row * table.matrix.cols + table.names.indexOf(name as never)]!;
}

/** Plain sample standard deviation (ddof 1). */
function std(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isCoreError(error) ? error.code : `not a CoreError: ${String(error)}`;
  }
  return undefined;
}

describe('features', () => {
  const table = computeFeatures(klines, { set: 'classic' });

  it('has eleven named columns and drops the warm-up rows', () => {
    expect(FEATURE_NAMES).toHaveLength(11);
    expect(table.names).toEqual([...FEATURE_NAMES]);
    expect(table.warmupRows).toBe(24);
    expect(table.matrix.rows).toBe(klines.length - 24);
    expect(table.times[0]).toBe(klines[24]!.openTime);
    expect(table.close.at(-1)).toBe(klines.at(-1)!.close);
    expect(table.matrix.data.every(Number.isFinite)).toBe(true);
  });

  it('matches the documented formulas on a plain reference', () => {
    for (const t of [24, 100, 399]) {
      const k = klines[t]!;
      const previous = klines[t - 1]!;
      const logReturn = Math.log(k.close / previous.close);
      expect(featureAt(table, t, 'log_return')).toBeCloseTo(logReturn, 12);
      expect(featureAt(table, t, 'range')).toBeCloseTo((k.high - k.low) / k.close, 12);
      const spread = k.high - k.low;
      expect(featureAt(table, t, 'body')).toBeCloseTo(
        spread > 0 ? Math.abs(k.close - k.open) / spread : 0,
        12,
      );
      expect(featureAt(table, t, 'upper_shadow')).toBeCloseTo(
        (k.high - Math.max(k.open, k.close)) / k.close,
        12,
      );
      expect(featureAt(table, t, 'lower_shadow')).toBeCloseTo(
        (Math.min(k.open, k.close) - k.low) / k.close,
        12,
      );
      expect(featureAt(table, t, 'log_volume')).toBeCloseTo(Math.log1p(k.volume), 12);
      expect(featureAt(table, t, 'taker_buy_ratio')).toBeCloseTo(k.takerBuyBaseAssetVolume / k.volume, 12);
      expect(featureAt(table, t, 'trades_per_volume')).toBeCloseTo(k.numberOfTrades / k.volume, 9);
      const returns = klines
        .slice(t - 23, t + 1)
        .map((c, i) => Math.log(c.close / klines[t - 24 + i]!.close));
      expect(featureAt(table, t, 'volatility')).toBeCloseTo(std(returns), 12);
      const before = klines.slice(t - 24, t).map((c) => Math.log1p(c.volume));
      const mean = before.reduce((a, b) => a + b, 0) / before.length;
      expect(featureAt(table, t, 'volume_zscore')).toBeCloseTo(
        (Math.log1p(k.volume) - mean) / std(before),
        9,
      );
    }
  });

  it("RSI follows Wilder's recursion", () => {
    const close = Float64Array.from(klines, (k) => k.close);
    const rsi = relativeStrengthIndex(close, 14);
    let gain = 0;
    let loss = 0;
    for (let t = 1; t < close.length; t++) {
      const change = close[t]! - close[t - 1]!;
      const up = Math.max(change, 0);
      const down = Math.max(-change, 0);
      gain = t === 1 ? up : gain + (up - gain) / 14;
      loss = t === 1 ? down : loss + (down - loss) / 14;
      if (t >= 14) expect(rsi[t]).toBeCloseTo(100 - 100 / (1 + gain / loss), 9);
      else expect(rsi[t]).toBeNaN();
    }
    // Only rises: 100; flat: 50.
    expect(
      relativeStrengthIndex(
        Float64Array.from({ length: 20 }, (_, i) => i + 1),
        14,
      )[19],
    ).toBe(100);
    expect(relativeStrengthIndex(new Float64Array(20).fill(5), 14)[19]).toBe(50);
  });

  it('has no look-ahead: changing future candles never changes earlier feature rows', () => {
    const base = klines.slice(0, 120);
    const before = computeFeatures(base, { set: 'classic' });
    fc.assert(
      fc.property(
        fc.integer({ min: 30, max: 118 }),
        fc.double({ min: 0.2, max: 5, noNaN: true }),
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        (cut, priceFactor, volumeFactor) => {
          const changed: Kline[] = base.map((k, i) =>
            i <= cut
              ? k
              : {
                  ...k,
                  open: k.open * priceFactor,
                  high: k.high * priceFactor * 1.01,
                  low: k.low * priceFactor * 0.99,
                  close: k.close * priceFactor,
                  volume: k.volume * volumeFactor,
                  numberOfTrades: Math.round(k.numberOfTrades * volumeFactor),
                  takerBuyBaseAssetVolume: k.takerBuyBaseAssetVolume * volumeFactor * 0.5,
                },
          );
          const after = computeFeatures(changed, { set: 'classic' });
          const rowsKept = (cut - before.warmupRows + 1) * before.matrix.cols;
          expect(Array.from(after.matrix.data.subarray(0, rowsKept))).toEqual(
            Array.from(before.matrix.data.subarray(0, rowsKept)),
          );
          // And the changed candles do change the rows after the cut.
          expect(after.matrix.data[rowsKept]).not.toBe(before.matrix.data[rowsKept]);
        },
      ),
      { seed: 7, numRuns: 40 },
    );
  });

  it('refuses bad input with typed errors', () => {
    const missing = klines.map((k, i) =>
      i === 5 ? ({ ...k, takerBuyBaseAssetVolume: undefined } as unknown as Kline) : k,
    );
    expect(codeOf(() => computeFeatures(missing))).toBe('MISSING_COLUMN');
    const nan = klines.map((k, i) => (i === 9 ? { ...k, close: Number.NaN } : k));
    expect(codeOf(() => computeFeatures(nan))).toBe('NON_FINITE_INPUT');
    const infinite = klines.map((k, i) => (i === 9 ? { ...k, volume: Number.POSITIVE_INFINITY } : k));
    expect(codeOf(() => computeFeatures(infinite))).toBe('NON_FINITE_INPUT');
    expect(codeOf(() => computeFeatures(klines.slice(0, 24), { set: 'classic' }))).toBe('TOO_FEW_ROWS');
    expect(codeOf(() => computeFeatures(klines.slice(0, 54), { set: 'relative' }))).toBe('TOO_FEW_ROWS');
    expect(codeOf(() => computeFeatures(klines, { set: 'levels' as never }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => computeFeatures(klines, { levelWindow: 1 }))).toBe('INVALID_ARGUMENT');
    expect(() => computeFeatures(klines, { rsiPeriods: 10 } as never)).toThrow(
      /^unknown key rsiPeriods in feature options \(the keys there are rsiPeriod, set, /,
    );
    expect(codeOf(() => computeFeatures(klines.slice(0, 30), { volatilityWindow: 1 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => computeFeatures([klines[1]!, klines[0]!, ...klines.slice(2)]))).toBe(
      'INVALID_ARGUMENT',
    );
    try {
      computeFeatures(missing);
    } catch (error) {
      expect((error as Error).message).toMatch(/Candle 5 has no "takerBuyBaseAssetVolume"/);
    }
  });
});
