import type { Kline } from '@crypto-anomaly/data';
import { ema, rollingMeanStd, rollingStd } from '@crypto-anomaly/kernels';
import {
  FEATURE_NAMES,
  FEATURE_SETS,
  type FeatureName,
  type FeatureOptions,
  type FeatureSetName,
  type FeatureTable,
} from './api.js';
import { CoreError } from './errors.js';
import { fromColumns, sliceRows } from './matrix.js';
import { assertInteger, assertOneOf, describeValue, withDefaults } from './validate.js';

/**
 * Default set and windows: the relative features (their levels mean the same across years of a
 * growing market, see the README's quality section); one day of hourly candles for the rolling
 * features, Wilder's 14 for RSI, 50 candles for the levels the relative features compare with.
 */
export const DEFAULT_FEATURE_OPTIONS: Readonly<FeatureOptions> = Object.freeze({
  set: 'relative',
  volatilityWindow: 24,
  volumeWindow: 24,
  rsiPeriod: 14,
  levelWindow: 50,
  relativeVolatilityWindow: 8,
});

/** The columns of a feature set, in order. */
export function featureNamesOf(set: FeatureSetName): readonly FeatureName[] {
  return FEATURE_SETS[set];
}

/** The kline fields the features read. */
const REQUIRED_FIELDS = [
  'openTime',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'numberOfTrades',
  'takerBuyBaseAssetVolume',
] as const satisfies readonly (keyof Kline)[];

export function resolveFeatureOptions(options: Partial<FeatureOptions> = {}): FeatureOptions {
  const resolved = withDefaults('feature options', DEFAULT_FEATURE_OPTIONS, options);
  assertOneOf('features.set', resolved.set, Object.keys(FEATURE_SETS) as FeatureSetName[]);
  assertInteger('features.levelWindow', resolved.levelWindow, 2, 10_000);
  assertInteger('features.volatilityWindow', resolved.volatilityWindow, 2, 10_000);
  assertInteger('features.volumeWindow', resolved.volumeWindow, 2, 10_000);
  assertInteger('features.rsiPeriod', resolved.rsiPeriod, 2, 10_000);
  assertInteger('features.relativeVolatilityWindow', resolved.relativeVolatilityWindow, 2, 10_000);
  return resolved;
}

/** Candles needed before every feature of a row is defined (they are dropped and counted). */
export function warmupRowsFor(options: FeatureOptions): number {
  // Returns start at candle 1, so w returns are available from candle w; the volume z-score
  // compares candle t with the w candles before it; RSI's averages need `rsiPeriod` changes.
  const classic = Math.max(options.volatilityWindow, options.volumeWindow, options.rsiPeriod);
  if (options.set === 'classic') return classic;
  // The relative features need `levelWindow` values before t: returns (from candle 1) for the
  // return z-score, volatilities (from candle relativeVolatilityWindow) for the relative volatility.
  return Math.max(classic, options.levelWindow + 1, options.relativeVolatilityWindow + options.levelWindow);
}

/** Checks that every candle has the fields the features read, finite and in range. */
export function assertKlines(klines: readonly Kline[]): void {
  if (!Array.isArray(klines)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `klines must be an array of Kline, got ${describeValue(klines)}.`,
    );
  }
  for (let i = 0; i < klines.length; i++) {
    const kline = klines[i] as unknown as Record<string, unknown> | undefined;
    for (const field of REQUIRED_FIELDS) {
      const value = kline?.[field];
      if (value === undefined || value === null) {
        throw new CoreError(
          'MISSING_COLUMN',
          `Candle ${i} has no "${field}": the features need ${REQUIRED_FIELDS.join(', ')}. ` +
            'Load candles with all 12 Binance kline fields (a CSV export from Binance or the store).',
        );
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new CoreError(
          'NON_FINITE_INPUT',
          `Candle ${i} (openTime ${describeValue(kline?.['openTime'])}) has ${field} = ${describeValue(value)}: ` +
            'every field must be a finite number. Repair or drop that candle in the source.',
        );
      }
    }
    const k = klines[i]!;
    if (!(k.open > 0 && k.high > 0 && k.low > 0 && k.close > 0)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `Candle ${i} has a non-positive price (open ${k.open}, high ${k.high}, low ${k.low}, close ${k.close}): ` +
          'prices must be > 0 for log returns.',
      );
    }
    if (k.volume < 0 || k.numberOfTrades < 0 || k.takerBuyBaseAssetVolume < 0) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `Candle ${i} has a negative volume, trade count or taker-buy volume: they must be >= 0.`,
      );
    }
    if (i > 0 && !(k.openTime > klines[i - 1]!.openTime)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `Candles must be in strictly increasing openTime order: candle ${i} (${k.openTime}) follows ` +
          `${klines[i - 1]!.openTime}. Sort and de-duplicate them first.`,
      );
    }
  }
}

/** Value of each candle's field, as a Float64Array. */
function field(klines: readonly Kline[], name: (typeof REQUIRED_FIELDS)[number]): Float64Array {
  return Float64Array.from(klines, (k) => k[name]);
}

/** Values `candleShapeInto` writes. */
export const CANDLE_SHAPE_SIZE = 7;

/**
 * The features of one candle read alone, into `out`: range, body, upper_shadow, lower_shadow,
 * log_volume, taker_buy_ratio, trades_per_volume (the batch and the streaming features share it).
 */
export function candleShapeInto(k: Kline, out: Float64Array): void {
  const spread = k.high - k.low;
  out[0] = spread / k.close;
  // Share of the candle's range covered by its body; a flat candle (high = low) has none.
  out[1] = spread > 0 ? Math.abs(k.close - k.open) / spread : 0;
  out[2] = (k.high - Math.max(k.open, k.close)) / k.close;
  out[3] = (Math.min(k.open, k.close) - k.low) / k.close;
  out[4] = Math.log1p(k.volume);
  // No volume, no aggressor: neutral 0.5 and no trades per unit.
  out[5] = k.volume > 0 ? Math.min(1, k.takerBuyBaseAssetVolume / k.volume) : 0.5;
  out[6] = k.volume > 0 ? k.numberOfTrades / k.volume : 0;
}

/** Log volume against the mean and deviation of the window before it. */
export function volumeZscoreOf(logVolume: number, meanBefore: number, stdBefore: number): number {
  // A window of identical volumes has no spread: any change is then reported as 0, not ±∞.
  return stdBefore > 0 ? (logVolume - meanBefore) / stdBefore : 0;
}

/**
 * A value against its usual level (the median of the window before it). A level of 0 (a market
 * flat or idle for the whole window) makes any positive value `RATIO_OVER_NOTHING` times it, and 0
 * the usual 1: the preprocessor's log transform and clipping bound it like any large ratio.
 */
export function ratioTo(value: number, level: number): number {
  return level > 0 ? value / level : value > 0 ? RATIO_OVER_NOTHING : 1;
}

/** What `ratioTo` gives a positive value against a level of 0. */
export const RATIO_OVER_NOTHING = 100;

/**
 * Median of the last `size` values, one value at a time: a ring keeps arrival order, a sorted copy
 * the order statistics (O(size) per value, for windows of tens of candles). The batch and the
 * streaming features both use it, so their medians are the same numbers.
 */
export class RollingMedian {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(readonly size: number) {
    this.ring = new Float64Array(size);
    this.sorted = new Float64Array(size);
  }

  get full(): boolean {
    return this.filled === this.size;
  }

  push(x: number): void {
    let n = this.filled;
    if (n === this.size) {
      // Remove the leaving value from the sorted copy (the same number, so an exact match).
      const at = this.lowerBound(this.ring[this.next]!, n);
      this.sorted.copyWithin(at, at + 1, n);
      n--;
    } else {
      this.filled++;
    }
    const at = this.lowerBound(x, n);
    this.sorted.copyWithin(at + 1, at, n);
    this.sorted[at] = x;
    this.ring[this.next] = x;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
  }

  /** Median of the values held (the mean of the two middle ones for an even count); NaN if none. */
  median(): number {
    const n = this.filled;
    if (n === 0) return Number.NaN;
    const mid = n >> 1;
    return n % 2 === 1 ? this.sorted[mid]! : (this.sorted[mid - 1]! + this.sorted[mid]!) / 2;
  }

  private lowerBound(x: number, n: number): number {
    let low = 0;
    let high = n;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.sorted[mid]! < x) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** Per t, the median of values[t - size .. t - 1] (NaN until `size` values from `start` are held). */
function medianBefore(values: Float64Array, size: number, start = 0): Float64Array {
  const out = new Float64Array(values.length).fill(Number.NaN);
  const window = new RollingMedian(size);
  for (let t = start; t < values.length; t++) {
    if (window.full) out[t] = window.median();
    window.push(values[t]!);
  }
  return out;
}

/** Wilder's RSI from the average gain and loss. */
export function rsiOf(averageGain: number, averageLoss: number): number {
  return averageLoss > 0 ? 100 - 100 / (1 + averageGain / averageLoss) : averageGain > 0 ? 100 : 50;
}

/**
 * Every feature of both sets for every candle, before dropping the warm-up. Each row uses only its
 * own candle and earlier ones (rolling windows end at the row; nothing is centred or back-filled).
 */
export function computeFeatureColumns(
  klines: readonly Kline[],
  options: FeatureOptions,
): Record<FeatureName, Float64Array> {
  const n = klines.length;
  const close = field(klines, 'close');

  const logReturn = new Float64Array(n).fill(Number.NaN);
  for (let t = 1; t < n; t++) logReturn[t] = Math.log(close[t]! / close[t - 1]!);

  const volatility = realisedVolatility(logReturn, options.volatilityWindow);

  const range = new Float64Array(n);
  const body = new Float64Array(n);
  const upperShadow = new Float64Array(n);
  const lowerShadow = new Float64Array(n);
  const logVolume = new Float64Array(n);
  const takerBuyRatio = new Float64Array(n);
  const tradesPerVolume = new Float64Array(n);
  const shape = new Float64Array(CANDLE_SHAPE_SIZE);
  for (let t = 0; t < n; t++) {
    candleShapeInto(klines[t]!, shape);
    range[t] = shape[0]!;
    body[t] = shape[1]!;
    upperShadow[t] = shape[2]!;
    lowerShadow[t] = shape[3]!;
    logVolume[t] = shape[4]!;
    takerBuyRatio[t] = shape[5]!;
    tradesPerVolume[t] = shape[6]!;
  }

  // Volume z-score against the w candles *before* this one, so a spike is not diluted by itself.
  const w = options.volumeWindow;
  const { mean: meanBefore, std: stdBefore } = rollingMeanStd(logVolume, w, { minPeriods: w });
  const volumeZscore = new Float64Array(n).fill(Number.NaN);
  for (let t = w; t < n; t++) {
    volumeZscore[t] = volumeZscoreOf(logVolume[t]!, meanBefore[t - 1]!, stdBefore[t - 1]!);
  }

  const rsi = relativeStrengthIndex(close, options.rsiPeriod);

  // The relative features: candle t against the `levelWindow` candles before it.
  const L = options.levelWindow;
  const returnZscore = new Float64Array(n).fill(Number.NaN);
  const { std: returnStd } = rollingMeanStd(logReturn.subarray(1), L, { minPeriods: L });
  for (let t = L + 1; t < n; t++) returnZscore[t] = volumeZscoreOf(logReturn[t]!, 0, returnStd[t - 2]!);
  const v = options.relativeVolatilityWindow;
  const recentVolatility = v === options.volatilityWindow ? volatility : realisedVolatility(logReturn, v);
  const relativeVolatility = ratios(recentVolatility, medianBefore(recentVolatility, L, v));
  const usualRange = medianBefore(range, L);
  const relativeRange = ratios(range, usualRange);
  const relativeUpperShadow = ratios(upperShadow, usualRange);
  const relativeLowerShadow = ratios(lowerShadow, usualRange);
  const volume = field(klines, 'volume');
  const relativeVolume = ratios(volume, medianBefore(volume, L));

  return {
    log_return: logReturn,
    volatility,
    range,
    body,
    upper_shadow: upperShadow,
    lower_shadow: lowerShadow,
    log_volume: logVolume,
    volume_zscore: volumeZscore,
    taker_buy_ratio: takerBuyRatio,
    trades_per_volume: tradesPerVolume,
    rsi,
    return_zscore: returnZscore,
    relative_volatility: relativeVolatility,
    relative_range: relativeRange,
    relative_upper_shadow: relativeUpperShadow,
    relative_lower_shadow: relativeLowerShadow,
    relative_volume: relativeVolume,
  };
}

/** Realised volatility: the standard deviation of the last w log returns, candle t's included. */
function realisedVolatility(logReturn: Float64Array, w: number): Float64Array {
  const out = new Float64Array(logReturn.length).fill(Number.NaN);
  out.set(rollingStd(logReturn.subarray(1), w, { minPeriods: w }), 1);
  return out;
}

/** `ratioTo` per candle; NaN where the level is not yet defined. */
function ratios(values: Float64Array, levels: Float64Array): Float64Array {
  return values.map((v, t) => (Number.isNaN(levels[t]!) ? Number.NaN : ratioTo(v, levels[t]!)));
}

/**
 * Wilder's RSI: 100 - 100 / (1 + average gain / average loss), the averages being exponential with
 * α = 1 / period over the close-to-close changes (kernels' `ema`). NaN for the first `period`
 * candles, while the averages are still dominated by their start.
 */
export function relativeStrengthIndex(close: Float64Array, period: number): Float64Array {
  const n = close.length;
  const out = new Float64Array(n).fill(Number.NaN);
  if (n < 2) return out;
  const gains = new Float64Array(n - 1);
  const losses = new Float64Array(n - 1);
  for (let t = 1; t < n; t++) {
    const change = close[t]! - close[t - 1]!;
    gains[t - 1] = Math.max(change, 0);
    losses[t - 1] = Math.max(-change, 0);
  }
  // Wilder's recursive smoothing: y = (1 - α) y + α x, i.e. pandas' ewm(alpha, adjust=False).
  const averageGain = ema(gains, { alpha: 1 / period, adjust: false });
  const averageLoss = ema(losses, { alpha: 1 / period, adjust: false });
  for (let t = period; t < n; t++) {
    out[t] = rsiOf(averageGain[t - 1]!, averageLoss[t - 1]!);
  }
  return out;
}

/** Rows [start, end) of a feature table (views, no copy); the rows before count as dropped. */
export function sliceFeatureTable(table: FeatureTable, start: number, end: number): FeatureTable {
  return {
    ...table,
    matrix: sliceRows(table.matrix, start, end),
    ...(table.classic ? { classic: sliceRows(table.classic, start, end) } : {}),
    times: table.times.subarray(start, end),
    close: table.close.subarray(start, end),
    warmupRows: table.warmupRows + start,
  };
}

/**
 * Computes the features of the chosen set (`options.set`) of a kline series and drops the warm-up
 * rows (counted in `warmupRows`); for a set other than `classic` the table also carries the
 * eleven classic features of the same rows (`classic`). Throws a `CoreError` for missing fields (`MISSING_COLUMN`), NaN or Infinity
 * (`NON_FINITE_INPUT`) and series shorter than the warm-up plus one row (`TOO_FEW_ROWS`).
 */
export function computeFeatures(
  klines: readonly Kline[],
  options: Partial<FeatureOptions> = {},
): FeatureTable {
  const resolved = resolveFeatureOptions(options);
  assertKlines(klines);
  const warmupRows = warmupRowsFor(resolved);
  if (klines.length <= warmupRows) {
    throw new CoreError(
      'TOO_FEW_ROWS',
      `Features need more than ${warmupRows} candles (the longest rolling window), got ${klines.length}. ` +
        'Load a longer history or shorten features.volatilityWindow / volumeWindow / rsiPeriod / levelWindow.',
    );
  }
  const columns = computeFeatureColumns(klines, resolved);
  const names = [...featureNamesOf(resolved.set)];
  const matrixOf = (of: readonly FeatureName[]) => {
    const matrix = fromColumns(of.map((name) => columns[name].subarray(warmupRows)));
    for (let i = 0; i < matrix.data.length; i++) {
      if (!Number.isFinite(matrix.data[i]!)) {
        // Cannot happen for validated candles; a bug here must not pass silently into a model.
        throw new CoreError(
          'NON_FINITE_INPUT',
          `Feature ${of[i % of.length]} is not finite at candle ${warmupRows + Math.floor(i / of.length)}.`,
        );
      }
    }
    return matrix;
  };
  const rest = klines.slice(warmupRows);
  return {
    names,
    matrix: matrixOf(names),
    times: Float64Array.from(rest, (k) => k.openTime),
    close: Float64Array.from(rest, (k) => k.close),
    warmupRows,
    options: resolved,
    ...(resolved.set === 'classic' ? {} : { classic: matrixOf(FEATURE_NAMES) }),
  };
}
