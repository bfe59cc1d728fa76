import { generateSampleMarket, type Kline } from '@crypto-anomaly/data';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, type FeatureTable, RELATIVE_FEATURE_NAMES } from '../src/api.js';
import { computeFeatures, RATIO_OVER_NOTHING, RollingMedian, ratioTo } from '../src/features.js';
import { processedDataCsv } from '../src/outputs/csv.js';

/** Small windows so a dozen hand-made candles have feature rows. */
const SMALL = {
  set: 'relative',
  volatilityWindow: 2,
  volumeWindow: 2,
  rsiPeriod: 2,
  levelWindow: 3,
  relativeVolatilityWindow: 2,
} as const;

/** A candle from its prices, volume and trade count (taker buys: 40% of the volume). */
function candle(
  i: number,
  open: number,
  high: number,
  low: number,
  close: number,
  volume: number,
  trades: number,
): Kline {
  return {
    openTime: Date.UTC(2024, 0, 1 + i),
    open,
    high,
    low,
    close,
    volume,
    closeTime: Date.UTC(2024, 0, 2 + i) - 1,
    quoteAssetVolume: volume * close,
    numberOfTrades: trades,
    takerBuyBaseAssetVolume: 0.4 * volume,
    takerBuyQuoteAssetVolume: 0.4 * volume * close,
  } as Kline;
}

const HAND: Kline[] = [
  candle(0, 100, 102, 99, 101, 10, 100),
  candle(1, 101, 103, 100, 102, 12, 90),
  candle(2, 102, 104, 101, 101, 8, 120),
  candle(3, 101, 102, 98, 99, 20, 150),
  candle(4, 99, 101, 97, 100, 11, 100),
  candle(5, 100, 103, 99, 102, 9, 80),
  candle(6, 102, 104, 100, 103, 14, 140),
  candle(7, 103, 112, 101, 110, 60, 300),
  candle(8, 110, 111, 105, 106, 13, 130),
];

function valueAt(table: FeatureTable, candleIndex: number, name: string): number {
  const row = candleIndex - table.warmupRows;
  return table.matrix.data[row * table.matrix.cols + table.names.indexOf(name as never)]!;
}

/** Plain sample standard deviation (ddof 1). */
function std(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

describe('relative features', () => {
  const table = computeFeatures(HAND, SMALL);

  it('names the relative columns and keeps the classic ones beside them', () => {
    expect(table.names).toEqual([...RELATIVE_FEATURE_NAMES]);
    // Warm-up: the relative volatility needs levelWindow volatilities, the first at candle 2.
    expect(table.warmupRows).toBe(2 + 3);
    expect(table.matrix.rows).toBe(HAND.length - 5);
    expect(table.classic?.cols).toBe(FEATURE_NAMES.length);
    expect(table.classic?.rows).toBe(table.matrix.rows);
    const classic = computeFeatures(HAND, { ...SMALL, set: 'classic' });
    expect(classic.classic).toBeUndefined();
    // The classic columns of the relative table are the classic table's rows, from the same candle.
    const offset = (table.warmupRows - classic.warmupRows) * classic.matrix.cols;
    expect(Array.from(table.classic!.data)).toEqual(Array.from(classic.matrix.data.subarray(offset)));
  });

  it("writes the seed's eleven columns beside the relative ones in the processed-data CSV", () => {
    const splits = Array.from({ length: table.matrix.rows }, () => 'train' as const);
    const csv = [
      ...processedDataCsv(table.times, table.close, splits, table.names, table.matrix, table.matrix, {
        names: FEATURE_NAMES,
        matrix: table.classic!,
      }),
    ].join('');
    const [header, first] = csv.split('\n').map((line) => line.split(','));
    for (const name of FEATURE_NAMES) expect(header).toContain(name);
    for (const name of RELATIVE_FEATURE_NAMES) expect(header).toContain(`scaled_${name}`);
    // body is in both sets: one column.
    expect(header!.filter((name) => name === 'body')).toHaveLength(1);
    expect(Number(first![header!.indexOf('log_volume')])).toBeCloseTo(Math.log1p(HAND[5]!.volume), 5);
    expect(Number(first![header!.indexOf('relative_volume')])).toBeCloseTo(9 / 11, 5); // median of 8, 20, 11
  });

  it('matches values worked out by hand on nine candles', () => {
    // Candle 7: a +6.6% close on 60 units, against candles 4..6.
    const k = HAND[7]!;
    expect(valueAt(table, 7, 'relative_volume')).toBeCloseTo(60 / 11, 12); // median of 11, 9, 14
    const ranges = [4, 4, 4].map((spread, i) => spread / HAND[4 + i]!.close); // (high - low) / close
    const usualRange = median(ranges);
    expect(valueAt(table, 7, 'relative_range')).toBeCloseTo(11 / 110 / usualRange, 12);
    expect(valueAt(table, 7, 'relative_upper_shadow')).toBeCloseTo(2 / 110 / usualRange, 12);
    expect(valueAt(table, 7, 'relative_lower_shadow')).toBeCloseTo(2 / 110 / usualRange, 12);
    const returns = HAND.map((c, i) => (i === 0 ? Number.NaN : Math.log(c.close / HAND[i - 1]!.close)));
    expect(valueAt(table, 7, 'return_zscore')).toBeCloseTo(returns[7]! / std(returns.slice(4, 7)), 12);
    // Volatility over 2 returns; relative to the median of the 3 volatilities before.
    const volatility = (t: number) => std([returns[t - 1]!, returns[t]!]);
    expect(valueAt(table, 7, 'relative_volatility')).toBeCloseTo(
      volatility(7) / median([volatility(4), volatility(5), volatility(6)]),
      12,
    );
    expect(valueAt(table, 7, 'body')).toBeCloseTo(7 / 11, 12);
    expect(valueAt(table, 7, 'volume_zscore')).toBeCloseTo(
      (Math.log1p(60) - (Math.log1p(9) + Math.log1p(14)) / 2) / std([Math.log1p(9), Math.log1p(14)]),
      12,
    );
    expect(k.close).toBe(110);
  });

  it('measures the relative volatility over its own window, the classic volatility over volatilityWindow', () => {
    // Three returns for relative_volatility, four for the classic volatility column.
    const wider = computeFeatures(HAND, { ...SMALL, volatilityWindow: 4, relativeVolatilityWindow: 3 });
    // Warm-up: levelWindow volatilities of 3 returns, the first at candle 3.
    expect(wider.warmupRows).toBe(3 + 3);
    const returns = HAND.map((c, i) => (i === 0 ? Number.NaN : Math.log(c.close / HAND[i - 1]!.close)));
    const over = (w: number, t: number) => std(returns.slice(t - w + 1, t + 1));
    expect(valueAt(wider, 7, 'relative_volatility')).toBeCloseTo(
      over(3, 7) / median([over(3, 4), over(3, 5), over(3, 6)]),
      12,
    );
    const row = 7 - wider.warmupRows;
    expect(wider.classic!.data[row * FEATURE_NAMES.length + FEATURE_NAMES.indexOf('volatility')]).toBeCloseTo(
      over(4, 7),
      12,
    );
  });

  it('does not move when every volume is ten times larger or every price seven times higher', () => {
    const { klines } = generateSampleMarket({ count: 300, seed: 4 });
    const base = computeFeatures(klines, { set: 'classic' });
    const relative = computeFeatures(klines, { set: 'relative' });
    const louder = klines.map((k) => ({
      ...k,
      volume: k.volume * 10,
      takerBuyBaseAssetVolume: k.takerBuyBaseAssetVolume * 10,
    }));
    const dearer = klines.map((k) => ({
      ...k,
      open: k.open * 7,
      high: k.high * 7,
      low: k.low * 7,
      close: k.close * 7,
    }));
    // volume_zscore, kept from the classic set, is of ln(1 + volume): level-free only where volume >> 1.
    const levelFree = RELATIVE_FEATURE_NAMES.filter((name) => name !== 'volume_zscore');
    expect(levelFree).toHaveLength(7);
    const cols = relative.matrix.cols;
    for (const changed of [louder, dearer]) {
      const after = computeFeatures(changed, { set: 'relative' });
      for (const name of levelFree) {
        const c = RELATIVE_FEATURE_NAMES.indexOf(name);
        for (let r = 0; r < after.matrix.rows; r++) {
          expect(after.matrix.data[r * cols + c]).toBeCloseTo(relative.matrix.data[r * cols + c]!, 9);
        }
      }
    }
    // The classic set is not level-free: ten times the volume moves log_volume by ln 10.
    const louderClassic = computeFeatures(louder, { set: 'classic' });
    const col = FEATURE_NAMES.indexOf('log_volume');
    expect(louderClassic.matrix.data[col]! - base.matrix.data[col]!).toBeCloseTo(Math.log(10), 1);
  });

  it('has no look-ahead: changing later candles never changes earlier rows', () => {
    const { klines } = generateSampleMarket({ count: 160, seed: 8 });
    const before = computeFeatures(klines, { set: 'relative' });
    fc.assert(
      fc.property(
        fc.integer({ min: before.warmupRows, max: 158 }),
        fc.double({ min: 0.2, max: 5, noNaN: true }),
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        (cut, priceFactor, volumeFactor) => {
          const changed = klines.map((k, i) =>
            i <= cut
              ? k
              : {
                  ...k,
                  high: k.high * priceFactor * 1.01,
                  low: k.low * priceFactor * 0.99,
                  open: k.open * priceFactor,
                  close: k.close * priceFactor,
                  volume: k.volume * volumeFactor,
                },
          );
          const after = computeFeatures(changed, { set: 'relative' });
          const kept = (cut - before.warmupRows + 1) * before.matrix.cols;
          expect(Array.from(after.matrix.data.subarray(0, kept))).toEqual(
            Array.from(before.matrix.data.subarray(0, kept)),
          );
          expect(after.matrix.data[kept]).not.toBe(before.matrix.data[kept]);
        },
      ),
      { seed: 5, numRuns: 30 },
    );
  });

  it('stays finite on a market that stood still for longer than the level window', () => {
    const flat = HAND.map((k, i) =>
      i >= 2 && i <= 6 ? { ...k, open: 101, high: 101, low: 101, close: 101 } : k,
    );
    const still = computeFeatures(flat, SMALL);
    expect(still.matrix.data.every(Number.isFinite)).toBe(true);
    // Candle 7 moves after three flat candles: its range is far above a usual range of 0.
    expect(valueAt(still, 7, 'relative_range')).toBe(RATIO_OVER_NOTHING);
  });
});

describe('ratioTo and RollingMedian', () => {
  it('compares with a level, and with no level', () => {
    expect(ratioTo(6, 2)).toBe(3);
    expect(ratioTo(0, 0)).toBe(1);
    expect(ratioTo(5, 0)).toBe(RATIO_OVER_NOTHING);
  });

  it('holds the median of the last values (fast-check against sorting)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }),
        (size, values) => {
          const window = new RollingMedian(size);
          values.forEach((v, i) => {
            window.push(v);
            expect(window.median()).toBe(median(values.slice(Math.max(0, i + 1 - size), i + 1)));
          });
        },
      ),
      { seed: 3, numRuns: 200 },
    );
  });
});
