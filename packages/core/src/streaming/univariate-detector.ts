import type { Matrix } from '../api.js';
import { IsolationForestDetector } from '../detectors/isolation-forest.js';
import { CoreError } from '../errors.js';
import { quantileOf } from '../thresholds.js';
import { assertContamination, assertInteger, withDefaults } from '../validate.js';
import { RollingMoments } from './incremental-features.js';
import { UnivariateFeatures } from './univariate-features.js';

/** Options of `UnivariateDetector`; each has a default in `DEFAULT_UNIVARIATE_DETECTOR_OPTIONS`. */
export interface UnivariateDetectorOptions {
  /**
   * Rows it only learns from before its first fit; they score 0 (default 750: NAB's longest
   * probationary period). The NAB bench gives each file its own probationary length here.
   */
  warmup: number;
  /** Rows between re-fits of the forest (default 250). */
  refitEvery: number;
  /** Trailing rows a fit learns from (default 4000). */
  trainWindow: number;
  /** Rolling windows of the z-score features, in rows (default [10, 60, 300]). */
  windows: readonly number[];
  /** Previous values added as features: the recent shape of the series (default 8). */
  lags: number;
  /** Trees of each forest (default 100). */
  nEstimators: number;
  /** Rows each tree is grown on (default 256). */
  maxSamples: number;
  /** Seed of the first forest; each re-fit uses the next seed. */
  seed: number;
  /** Forest scores averaged into the short-term level that is tested (default 5). */
  averagingWindow: number;
  /** Forest scores the short-term level is compared with (default 5000). */
  historyWindow: number;
  /** Recent rows in which rare forest scores are counted (default 10). */
  countWindow: number;
  /** A forest score is rare above this share of its training rows' scores: 1 - rate (default 0.01). */
  rareRate: number;
  /** −log10 of the tail probability from which a row is an alert (default 3: p = 0.001). */
  alertLevel: number;
  /** Rows after an alert that score 0: one event, one alert (default 100). */
  quietRows: number;
}

export const DEFAULT_UNIVARIATE_DETECTOR_OPTIONS: Readonly<UnivariateDetectorOptions> = Object.freeze({
  warmup: 750,
  refitEvery: 250,
  trainWindow: 4000,
  windows: Object.freeze([10, 60, 300]),
  lags: 8,
  nEstimators: 100,
  maxSamples: 256,
  seed: 42,
  averagingWindow: 5,
  historyWindow: 5000,
  countWindow: 10,
  rareRate: 0.01,
  alertLevel: 3,
  quietRows: 100,
});

function resolveOptions(options: Partial<UnivariateDetectorOptions>): UnivariateDetectorOptions {
  const resolved = withDefaults('UnivariateDetector options', DEFAULT_UNIVARIATE_DETECTOR_OPTIONS, options);
  const anySize = Number.MAX_SAFE_INTEGER;
  assertInteger('univariate.warmup', resolved.warmup, 2, anySize);
  assertInteger('univariate.refitEvery', resolved.refitEvery, 1, anySize);
  assertInteger('univariate.trainWindow', resolved.trainWindow, 2, anySize);
  assertInteger('univariate.lags', resolved.lags, 0, 10_000);
  assertInteger('univariate.nEstimators', resolved.nEstimators, 1, 100_000);
  assertInteger('univariate.maxSamples', resolved.maxSamples, 2, 1_000_000);
  assertInteger('univariate.seed', resolved.seed, 0, anySize);
  assertInteger('univariate.averagingWindow', resolved.averagingWindow, 1, anySize);
  assertInteger('univariate.historyWindow', resolved.historyWindow, 2, anySize);
  assertInteger('univariate.countWindow', resolved.countWindow, 1, 1000);
  assertContamination('univariate.rareRate', resolved.rareRate);
  assertInteger('univariate.quietRows', resolved.quietRows, 0, anySize);
  if (!(resolved.alertLevel > 0 && Number.isFinite(resolved.alertLevel))) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `univariate.alertLevel must be a positive number (−log10 of a probability, e.g. 3 for 0.001), got ${resolved.alertLevel}.`,
    );
  }
  return resolved;
}

/**
 * An online anomaly detector for one univariate stream (a sensor, a count, a latency): each value
 * gets a score in [0, 1] computed from it and the values before it only, so a later value never
 * changes an earlier score.
 *
 * 1. Features (`UnivariateFeatures`): the value, its change, their rolling z-scores, and the
 *    previous `lags` values (the recent shape).
 * 2. An Isolation Forest (core's `IsolationForestDetector`, on the kernels' WebAssembly forest),
 *    fitted on the first `warmup` rows, then re-fitted every `refitEvery` rows on the trailing
 *    `trainWindow` rows, scores each row; the rows between two fits are scored in one batch by
 *    the forest fitted before them. Each forest's scores are standardised by those of its own
 *    training rows, so a re-fit is not a step in the score.
 * 3. Two tail probabilities of that score, the smaller one counting (the larger −log10 p):
 *    - level: the mean of the last `averagingWindow` scores against the mean and spread of the
 *      `historyWindow` before them, p = Q(z) for the standard normal's upper tail Q (Numenta's
 *      anomaly likelihood): a sustained rise;
 *    - count: k of the last `countWindow` scores above the forest's (1 − `rareRate`) training
 *      quantile, p = P(Binomial(countWindow, rareRate) >= k): a cluster of rare rows, whatever
 *      the spread of the scores.
 * 4. A row with −log10 p > `alertLevel` is an alert; the `quietRows` rows after it score 0, so
 *    one event gives one alert rather than a run of them.
 * 5. The score is L / (1 + L) with L = −log10 p: 0.5 is p = 0.1, 0.75 is p = 0.001 (the default
 *    alert level), 0.9 is p = 1e-9. It is monotone in p, so a threshold on it is one on p.
 *
 * Rows of the warmup score 0. Deterministic: the same values, options and seed give the same
 * scores, however the values are split across `update` calls.
 */
export class UnivariateDetector {
  readonly options: Readonly<UnivariateDetectorOptions>;
  private readonly features: UnivariateFeatures;
  /** The last `trainWindow` rows of features, a ring. */
  private readonly history: Float64Array;
  private readonly width: number;
  private rows = 0;
  private forest: IsolationForestDetector | undefined;
  private fits = 0;
  private nextFitAt: number;
  /** The current forest's training scores: mean and spread, and the rare level (standardised). */
  private scale = { mean: 0, std: 1, rare: Number.POSITIVE_INFINITY };
  private readonly recent: RollingMoments;
  private readonly baseline: RollingMoments;
  /** Standardised scores waiting to enter the baseline (the averaging window's, oldest first). */
  private readonly pending: number[] = [];
  /** 1 where a recent row was rare: a ring of `countWindow`. */
  private readonly rare: Uint8Array;
  private rareNext = 0;
  private rareCount = 0;
  /** −log10 P(Binomial(countWindow, rareRate) >= k), per k. */
  private readonly countSurprise: Float64Array;
  private quietUntil = 0;

  constructor(options: Partial<UnivariateDetectorOptions> = {}) {
    this.options = Object.freeze(resolveOptions(options));
    this.features = new UnivariateFeatures(this.options.windows, this.options.lags);
    this.width = this.features.width;
    this.history = new Float64Array(this.options.trainWindow * this.width);
    this.nextFitAt = this.options.warmup;
    this.recent = new RollingMoments(this.options.averagingWindow);
    this.baseline = new RollingMoments(this.options.historyWindow);
    this.rare = new Uint8Array(this.options.countWindow);
    this.countSurprise = binomialSurprise(this.options.countWindow, this.options.rareRate);
  }

  /** Values taken so far. */
  get count(): number {
    return this.rows;
  }

  /** Forests fitted so far. */
  get fitCount(): number {
    return this.fits;
  }

  /** Scores the next values of the stream, in order; each in [0, 1], higher = more anomalous. */
  async update(values: ArrayLike<number>): Promise<Float64Array> {
    const out = new Float64Array(values.length);
    let i = 0;
    while (i < values.length) {
      if (this.rows === this.nextFitAt) await this.refit();
      // The rows up to the next fit: featured one by one, scored in one batch.
      const end = Math.min(values.length, i + (this.nextFitAt - this.rows));
      const block: Matrix = {
        data: new Float64Array((end - i) * this.width),
        rows: end - i,
        cols: this.width,
      };
      for (let r = 0; r < block.rows; r++) {
        const value = values[i + r]!;
        if (!Number.isFinite(value)) {
          throw new CoreError(
            'NON_FINITE_INPUT',
            `value ${value} at row ${this.rows + r} of the stream is not a finite number: ` +
              'fill or drop missing values before scoring.',
          );
        }
        this.features.push(value, block.data, r * this.width);
        const slot = (this.rows + r) % this.options.trainWindow;
        this.history.set(block.data.subarray(r * this.width, (r + 1) * this.width), slot * this.width);
      }
      if (this.forest !== undefined) {
        const raw = await this.forest.decisionFunction(block);
        for (let r = 0; r < block.rows; r++) out[i + r] = this.scoreOf(raw[r]!, this.rows + r);
      }
      this.rows += block.rows;
      i = end;
    }
    return out;
  }

  /** Scores a whole series with a new detector: `update` on all of it. */
  static async scoreSeries(
    values: ArrayLike<number>,
    options: Partial<UnivariateDetectorOptions> = {},
  ): Promise<Float64Array> {
    return new UnivariateDetector(options).update(values);
  }

  private async refit(): Promise<void> {
    const { trainWindow, refitEvery, nEstimators, maxSamples, seed, rareRate } = this.options;
    const rows = Math.min(this.rows, trainWindow);
    const train: Matrix = { data: new Float64Array(rows * this.width), rows, cols: this.width };
    for (let r = 0; r < rows; r++) {
      const slot = (this.rows - rows + r) % trainWindow;
      train.data.set(this.history.subarray(slot * this.width, (slot + 1) * this.width), r * this.width);
    }
    const first = this.forest === undefined;
    this.forest = await new IsolationForestDetector({
      nEstimators,
      maxSamples,
      seed: seed + this.fits,
    }).fit(train);
    this.fits++;
    this.nextFitAt = this.rows + refitEvery;
    const trainScores = await this.forest.decisionFunction(train);
    let mean = 0;
    for (const v of trainScores) mean += v;
    mean /= trainScores.length;
    let square = 0;
    for (const v of trainScores) square += (v - mean) * (v - mean);
    const std = Math.sqrt(square / trainScores.length) || 1;
    this.scale = { mean, std, rare: (quantileOf(trainScores, 1 - rareRate) - mean) / std };
    // The level's baseline starts from the warmup rows, scored by the forest they grew.
    if (first) for (const raw of trainScores) this.levelSurprise((raw - mean) / std);
  }

  /** Takes row `row`'s forest score; returns the row's score in [0, 1]. */
  private scoreOf(raw: number, row: number): number {
    const standardised = (raw - this.scale.mean) / this.scale.std;
    const level = this.levelSurprise(standardised);
    const isRare = standardised > this.scale.rare ? 1 : 0;
    this.rareCount += isRare - this.rare[this.rareNext]!;
    this.rare[this.rareNext] = isRare;
    this.rareNext = (this.rareNext + 1) % this.rare.length;
    const surprise = Math.max(level, this.countSurprise[this.rareCount]!);
    if (row < this.quietUntil) return 0;
    if (surprise > this.options.alertLevel) this.quietUntil = row + 1 + this.options.quietRows;
    return surprise === Number.POSITIVE_INFINITY ? 1 : surprise / (1 + surprise);
  }

  /** −log10 of the level's tail probability, after taking the standardised score in. */
  private levelSurprise(standardised: number): number {
    this.recent.push(standardised);
    this.pending.push(standardised);
    if (this.pending.length > this.options.averagingWindow) this.baseline.push(this.pending.shift()!);
    if (this.baseline.count < 2) return 0;
    const std = this.baseline.std();
    const distance = this.recent.mean() - this.baseline.mean();
    const z = std > 0 ? distance / std : distance > 0 ? Number.POSITIVE_INFINITY : 0;
    return -Math.log10(upperTail(z));
  }
}

/** −log10 P(X >= k) for X ~ Binomial(n, rate), k = 0..n. */
function binomialSurprise(n: number, rate: number): Float64Array {
  const pmf = new Float64Array(n + 1);
  let logChoose = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logChoose += Math.log(n - k + 1) - Math.log(k);
    pmf[k] = Math.exp(logChoose + k * Math.log(rate) + (n - k) * Math.log1p(-rate));
  }
  const out = new Float64Array(n + 1);
  let tail = 0;
  for (let k = n; k >= 0; k--) {
    tail += pmf[k]!;
    out[k] = k === 0 ? 0 : -Math.log10(tail);
  }
  return out;
}

/**
 * Q(z) = P(Z > z) for a standard normal Z, with small relative error far into the tail
 * (Numerical Recipes' erfc, fractional error below 1.2e-7); 0 at z = +Infinity.
 */
export function upperTail(z: number): number {
  if (z === Number.POSITIVE_INFINITY) return 0;
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfcAbs = t * Math.exp(-x * x + poly);
  return 0.5 * (x >= 0 ? erfcAbs : 2 - erfcAbs);
}
