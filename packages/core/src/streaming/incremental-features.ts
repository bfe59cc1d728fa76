import type { Kline } from '@crypto-anomaly/data';
import type { FeatureName, FeatureOptions } from '../api.js';
import { CoreError } from '../errors.js';
import {
  assertKlines,
  CANDLE_SHAPE_SIZE,
  candleShapeInto,
  featureNamesOf,
  RollingMedian,
  ratioTo,
  resolveFeatureOptions,
  rsiOf,
  volumeZscoreOf,
  warmupRowsFor,
} from '../features.js';

/**
 * Mean and sample standard deviation (ddof 1) of the last `size` values, in O(1) per value: the
 * sums are kept shifted by a value of the window and recomputed from the ring every `size` pushes
 * and whenever cancellation would cost accuracy, as the kernels' rolling moments do, so both stay
 * within ~1e-12 relative of a two-pass computation (and of the batch features).
 */
export class RollingMoments {
  private readonly ring: Float64Array;
  private next = 0;
  private filled = 0;
  private shift = 0;
  private sum1 = 0;
  private sum2 = 0;
  private maxSquare = 0;
  private sinceRecompute = 0;

  constructor(readonly size: number) {
    this.ring = new Float64Array(size);
  }

  /** Values held (at most `size`). */
  get count(): number {
    return this.filled;
  }

  get full(): boolean {
    return this.filled === this.size;
  }

  push(x: number): void {
    const leaving = this.full ? this.ring[this.next]! : undefined;
    this.ring[this.next] = x;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    if (leaving === undefined) this.filled++;
    if (this.filled === 1 || ++this.sinceRecompute >= this.size) {
      this.recompute(x);
      return;
    }
    const d = x - this.shift;
    const e = leaving === undefined ? 0 : leaving - this.shift;
    const d2 = d * d;
    this.sum1 += d - e;
    this.sum2 += d2 - e * e;
    this.maxSquare = Math.max(this.maxSquare, d2);
    if (this.centred() < this.maxSquare * 1e-4) this.recompute(x);
  }

  mean(): number {
    return this.filled === 0 ? Number.NaN : this.shift + this.sum1 / this.filled;
  }

  std(): number {
    return this.filled < 2 ? Number.NaN : Math.sqrt(Math.max(this.centred(), 0) / (this.filled - 1));
  }

  /** The values held, oldest first (a copy). */
  values(): Float64Array {
    const out = new Float64Array(this.filled);
    const start = this.full ? this.next : 0;
    for (let i = 0; i < this.filled; i++) out[i] = this.ring[(start + i) % this.size]!;
    return out;
  }

  private centred(): number {
    return this.sum2 - (this.sum1 * this.sum1) / this.filled;
  }

  private recompute(newest: number): void {
    this.sinceRecompute = 0;
    this.shift = newest;
    this.sum1 = 0;
    this.sum2 = 0;
    this.maxSquare = 0;
    for (let i = 0; i < this.filled; i++) {
      const d = this.ring[i]! - newest;
      this.sum1 += d;
      this.sum2 += d * d;
      this.maxSquare = Math.max(this.maxSquare, d * d);
    }
  }
}

/**
 * pandas' `ewm(alpha, adjust=False).mean()` one value at a time, operation for operation as the
 * kernels' `ema` (so Wilder's averages, and the RSI, are bit-identical to the batch features).
 */
class ExponentialAverage {
  private weighted = Number.NaN;
  private readonly oldFactor: number;

  constructor(private readonly alpha: number) {
    this.oldFactor = 1 - alpha;
  }

  push(x: number): number {
    if (Number.isNaN(this.weighted)) {
      this.weighted = x;
    } else if (this.weighted !== x) {
      // The kernel's weight: 1 aged by one step, then reset to 1 after each observation.
      const oldWeight = 1 * this.oldFactor;
      this.weighted = (oldWeight * this.weighted + this.alpha * x) / (oldWeight + this.alpha);
    }
    return this.weighted;
  }
}

/**
 * The features (`computeFeatures`, the set of `options.set`) of a symbol's candles, one closed
 * candle at a time, in O(1) per candle (O(levelWindow) for the relative set's medians): fixed-size
 * rings hold the rolling windows (`config.features`), Wilder's averages are recursions. The row of
 * candle t equals `computeFeatures` over the same history at t (within ~1e-12 relative for the
 * rolling deviations, exactly for the rest).
 */
export class IncrementalFeatures {
  readonly options: FeatureOptions;
  /** The columns of each row, in order. */
  readonly names: readonly FeatureName[];
  /** Candles before the first one with a feature row (`warmupRowsFor`). */
  readonly warmupRows: number;
  private readonly returns: RollingMoments;
  private readonly logVolumes: RollingMoments;
  private readonly averageGain: ExponentialAverage;
  private readonly averageLoss: ExponentialAverage;
  // The relative features' windows: each holds the `levelWindow` values before the candle.
  private readonly returnsBefore: RollingMoments;
  /** The last `relativeVolatilityWindow` returns: relative_volatility's deviation (`volatilities` holds the levelWindow before). */
  private readonly recentReturns: RollingMoments;
  private readonly volatilities: RollingMedian;
  private readonly ranges: RollingMedian;
  private readonly volumes: RollingMedian;
  private readonly shape = new Float64Array(CANDLE_SHAPE_SIZE);
  private seen = 0;
  private previous: Kline | undefined;
  private gain = Number.NaN;
  private loss = Number.NaN;

  constructor(options: Partial<FeatureOptions> = {}) {
    this.options = resolveFeatureOptions(options);
    this.names = featureNamesOf(this.options.set);
    this.warmupRows = warmupRowsFor(this.options);
    this.returns = new RollingMoments(this.options.volatilityWindow);
    this.logVolumes = new RollingMoments(this.options.volumeWindow);
    this.averageGain = new ExponentialAverage(1 / this.options.rsiPeriod);
    this.averageLoss = new ExponentialAverage(1 / this.options.rsiPeriod);
    const level = this.options.levelWindow;
    this.returnsBefore = new RollingMoments(level);
    this.recentReturns = new RollingMoments(this.options.relativeVolatilityWindow);
    this.volatilities = new RollingMedian(level);
    this.ranges = new RollingMedian(level);
    this.volumes = new RollingMedian(level);
  }

  /** Candles pushed so far. */
  get candles(): number {
    return this.seen;
  }

  /** The last candle pushed. */
  get last(): Kline | undefined {
    return this.previous;
  }

  /** True once the next candle pushed gets a feature row. */
  get ready(): boolean {
    return this.seen >= this.warmupRows;
  }

  /**
   * Throws the `CoreError` that `push(kline)` would throw, without changing anything: a missing or
   * non-finite field, a non-positive price, or an open time not after the last candle's.
   */
  check(kline: Kline): void {
    assertKlines([kline]);
    if (this.previous && !(kline.openTime > this.previous.openTime)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `A streamed candle must open after the last one: openTime ${kline.openTime} follows ` +
          `${this.previous.openTime}. Pass closed candles once each, oldest first.`,
      );
    }
  }

  /**
   * Adds a closed candle (after the last one) and returns its feature row, in `names` order, or
   * undefined while the rolling windows fill (the first `warmupRows` candles).
   */
  push(kline: Kline): Float64Array | undefined {
    this.check(kline);
    const t = this.seen;
    const previous = this.previous;
    const relative = this.options.set === 'relative';
    let logReturn = Number.NaN;
    let volatility = Number.NaN;
    let recentVolatility = Number.NaN;
    let returnZscore = Number.NaN;
    if (previous) {
      logReturn = Math.log(kline.close / previous.close);
      // The return z-score compares with the returns before this one: read, then add.
      if (relative && this.returnsBefore.full) {
        returnZscore = volumeZscoreOf(logReturn, 0, this.returnsBefore.std());
      }
      this.returnsBefore.push(logReturn);
      this.returns.push(logReturn);
      if (this.returns.full) volatility = this.returns.std();
      if (relative) {
        this.recentReturns.push(logReturn);
        if (this.recentReturns.full) recentVolatility = this.recentReturns.std();
      }
      const change = kline.close - previous.close;
      this.gain = this.averageGain.push(Math.max(change, 0));
      this.loss = this.averageLoss.push(Math.max(-change, 0));
    }
    candleShapeInto(kline, this.shape);
    const [range, body, upperShadow, lowerShadow, logVolume, takerBuyRatio, tradesPerVolume] = this
      .shape as unknown as number[];
    // The z-score compares with the window before this candle: read it, then add the candle.
    const volumeZscore = this.logVolumes.full
      ? volumeZscoreOf(logVolume!, this.logVolumes.mean(), this.logVolumes.std())
      : Number.NaN;
    this.logVolumes.push(logVolume!);
    let relativeVolatility = Number.NaN;
    let usualRange = Number.NaN;
    let usualVolume = Number.NaN;
    if (relative) {
      if (this.volatilities.full) relativeVolatility = ratioTo(recentVolatility, this.volatilities.median());
      if (!Number.isNaN(recentVolatility)) this.volatilities.push(recentVolatility);
      if (this.ranges.full) {
        usualRange = this.ranges.median();
        usualVolume = this.volumes.median();
      }
      this.ranges.push(range!);
      this.volumes.push(kline.volume);
    }
    this.previous = kline;
    this.seen++;
    if (t < this.warmupRows) return undefined;
    const values: Record<FeatureName, number> = {
      log_return: logReturn,
      volatility,
      range: range!,
      body: body!,
      upper_shadow: upperShadow!,
      lower_shadow: lowerShadow!,
      log_volume: logVolume!,
      volume_zscore: volumeZscore,
      taker_buy_ratio: takerBuyRatio!,
      trades_per_volume: tradesPerVolume!,
      rsi: rsiOf(this.gain, this.loss),
      return_zscore: returnZscore,
      relative_volatility: relativeVolatility,
      relative_range: ratioTo(range!, usualRange),
      relative_upper_shadow: ratioTo(upperShadow!, usualRange),
      relative_lower_shadow: ratioTo(lowerShadow!, usualRange),
      relative_volume: ratioTo(kline.volume, usualVolume),
    };
    return Float64Array.from(this.names, (name) => values[name]);
  }
}
