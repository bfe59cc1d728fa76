import { CoreError } from '../errors.js';
import { RollingMoments } from './incremental-features.js';

/**
 * Features of one value of a univariate stream (a sensor, a count, a latency), from it and the
 * values before it only, in O(windows) per value:
 *
 * - the value itself, and its change from the previous value;
 * - per window w: the value's z-score against the previous w values (mean and sample standard
 *   deviation), and the change's z-score against the previous w changes.
 *
 * `IncrementalFeatures` is the same idea for klines (price and volume); a series of plain numbers
 * needs only these. A z-score whose window has fewer than 2 values, or no spread, is 0 when the
 * value equals the window's mean and ±`Z_LIMIT` otherwise: a flat series stepping away from its
 * level is as unusual as a value can be, and the forest needs finite numbers.
 */

/** Bound of every z-score: beyond it, further distance tells the forest nothing more. */
export const Z_LIMIT = 1000;

export class UnivariateFeatures {
  readonly windows: readonly number[];
  readonly width: number;
  private readonly levels: RollingMoments[];
  private readonly changes: RollingMoments[];
  private previous = Number.NaN;
  private seen = 0;
  /** The last `lags` values, newest first. */
  private readonly lagged: Float64Array;

  /**
   * `windows`: the rolling windows of the z-scores, in rows (integers >= 2); `lags`: how many
   * previous values to add as features (the recent shape of the series).
   */
  constructor(
    windows: readonly number[],
    readonly lags = 0,
  ) {
    if (windows.length === 0) {
      throw new CoreError('INVALID_ARGUMENT', 'univariate features need at least one window, got none.');
    }
    for (const w of windows) {
      if (!(Number.isSafeInteger(w) && w >= 2)) {
        throw new CoreError('INVALID_ARGUMENT', `each feature window must be an integer >= 2, got ${w}.`);
      }
    }
    this.windows = Object.freeze([...windows]);
    this.width = 2 + 2 * windows.length + lags;
    this.lagged = new Float64Array(lags);
    this.levels = windows.map((w) => new RollingMoments(w));
    this.changes = windows.map((w) => new RollingMoments(w));
  }

  /** Names of the features, in the order `push` writes them. */
  get names(): string[] {
    return [
      'value',
      'change',
      ...this.windows.map((w) => `value_z${w}`),
      ...this.windows.map((w) => `change_z${w}`),
      ...Array.from({ length: this.lags }, (_, k) => `value_lag${k + 1}`),
    ];
  }

  /** Values pushed so far. */
  get count(): number {
    return this.seen;
  }

  /**
   * Writes the features of `value` (the next one of the stream) into `out` at `offset`, then
   * takes it into the windows. Throws on a non-finite value: the caller says which row it was.
   */
  push(value: number, out: Float64Array, offset = 0): void {
    if (!Number.isFinite(value)) {
      throw new CoreError(
        'NON_FINITE_INPUT',
        `value ${value} is not a finite number: give every row of the series a number.`,
      );
    }
    const change = this.seen === 0 ? 0 : value - this.previous;
    const n = this.windows.length;
    out[offset] = value;
    out[offset + 1] = change;
    for (let i = 0; i < n; i++) {
      out[offset + 2 + i] = zScore(value, this.levels[i]!);
      out[offset + 2 + n + i] = this.seen === 0 ? 0 : zScore(change, this.changes[i]!);
    }
    for (let k = 0; k < this.lags; k++) {
      out[offset + 2 + 2 * n + k] = k < this.seen ? this.lagged[k]! : value;
    }
    this.lagged.copyWithin(1, 0);
    if (this.lags > 0) this.lagged[0] = value;
    for (let i = 0; i < n; i++) {
      this.levels[i]!.push(value);
      if (this.seen > 0) this.changes[i]!.push(change);
    }
    this.previous = value;
    this.seen++;
  }
}

function zScore(x: number, window: RollingMoments): number {
  if (window.count === 0) return 0;
  const mean = window.mean();
  const std = window.count < 2 ? 0 : window.std();
  const distance = x - mean;
  // Spread below rounding noise of the level counts as none.
  if (!(std > 1e-12 * Math.max(Math.abs(mean), 1))) {
    return distance === 0 ? 0 : Math.sign(distance) * Z_LIMIT;
  }
  return Math.max(-Z_LIMIT, Math.min(Z_LIMIT, distance / std));
}
