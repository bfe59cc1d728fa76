import type { SpotOptions } from '../api.js';
import { CoreError } from '../errors.js';
import { fitGeneralizedPareto, peaksOverThresholdQuantile, quantileOf } from '../extreme-values.js';
import { assertContamination, withDefaults } from '../validate.js';

/** Defaults of `SpotOptions` (the risk is usually derived from the model: see `StreamScorer`). */
export const DEFAULT_SPOT_OPTIONS: Readonly<SpotOptions> = Object.freeze({
  risk: 0.01,
  initialQuantile: 0.98,
  depth: 50,
  maxPeaks: 250,
});

/** What one score did to the threshold. */
export type SpotOutcome = 'anomaly' | 'peak' | 'normal';

/** `options` over the defaults, checked (`INVALID_ARGUMENT` naming the key and what to use). */
export function resolveSpotOptions(options: Partial<SpotOptions>): SpotOptions {
  const resolved = withDefaults('spot options', DEFAULT_SPOT_OPTIONS, options);
  assertContamination('spot.risk', resolved.risk);
  if (!(resolved.initialQuantile > 0.5 && resolved.initialQuantile < 1 - resolved.risk)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `spot.initialQuantile must be in (0.5, 1 - risk = ${1 - resolved.risk}), got ${resolved.initialQuantile}: ` +
        'the initial threshold must leave more than the risk above it. Use for example 0.98.',
    );
  }
  for (const key of ['depth', 'maxPeaks'] as const) {
    if (!(Number.isSafeInteger(resolved[key]) && resolved[key] >= 1)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `spot.${key} must be a positive integer, got ${resolved[key]}.`,
      );
    }
  }
  return resolved;
}

/**
 * SPOT and DSPOT (Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD
 * 2017): a threshold that follows a stream of scores.
 *
 * Calibration takes an initial threshold t at a high quantile of calibration scores and fits a
 * generalized Pareto distribution (GPD) to the excesses over t (`fitGeneralizedPareto`, the one
 * used for fitted `pot` thresholds); z is the score exceeded with probability `risk`. Then, per
 * score x: x > z is an anomaly and changes nothing; t < x <= z is a peak, added to the excesses,
 * and z is re-fitted; below t, only the count of observations grows.
 *
 * DSPOT runs the same on x - M, M the mean of the last `depth` scores that were not anomalies, so
 * the threshold (M + z) follows a drifting level; SPOT's stays where the tail puts it.
 *
 * Unlike the paper, the peaks kept are the last `maxPeaks` (memory stays flat on an endless
 * stream; the peak rate N_t / n still counts all), z never goes below t, and a fit that comes out
 * non-finite keeps the previous z, so the threshold is always a finite number.
 */
export class Spot {
  readonly kind: 'spot' | 'dspot';
  readonly options: Readonly<SpotOptions>;
  /** The initial threshold, on the scale the peaks are on (residuals for DSPOT). */
  private initial = 0;
  private excesses = new Float64Array(0);
  private excessCount = 0;
  /** Where the next peak goes once `maxPeaks` are held (the oldest one). */
  private replaceAt = 0;
  private peaks = 0;
  private observations = 0;
  private z = 0;
  // DSPOT's moving window of normal scores.
  private window = new Float64Array(0);
  private windowNext = 0;
  private windowSum = 0;
  private sinceWindowSum = 0;

  private constructor(kind: 'spot' | 'dspot', options: SpotOptions) {
    this.kind = kind;
    this.options = Object.freeze(options);
  }

  /**
   * Calibrates on `sample`: scores (or evenly spaced quantiles of them, as a model keeps its
   * training scores) of the calm state the stream starts from. DSPOT's window starts full of
   * the sample's mean. Throws `TOO_FEW_ROWS` when the sample has no finite score.
   */
  static calibrate(
    kind: 'spot' | 'dspot',
    sample: ArrayLike<number>,
    options: Partial<SpotOptions> = {},
  ): Spot {
    const resolved = resolveSpotOptions(options);
    const finite = Array.prototype.filter.call(sample, (v: number) => Number.isFinite(v)) as number[];
    if (finite.length === 0) {
      throw new CoreError('TOO_FEW_ROWS', 'SPOT needs at least one finite calibration score, got none.');
    }
    const spot = new Spot(kind, resolved);
    let level = 0;
    if (kind === 'dspot') {
      for (const v of finite) level += v;
      level /= finite.length;
      spot.window = new Float64Array(resolved.depth).fill(level);
      spot.windowSum = level * resolved.depth;
    }
    const residuals = finite.map((v) => v - level);
    spot.initial = quantileOf(residuals, resolved.initialQuantile);
    const excesses = residuals.filter((v) => v > spot.initial).map((v) => v - spot.initial);
    spot.excesses = new Float64Array(Math.max(resolved.maxPeaks, excesses.length));
    spot.excesses.set(excesses);
    spot.excessCount = excesses.length;
    spot.peaks = excesses.length;
    spot.observations = finite.length;
    spot.z = spot.initial;
    spot.refit();
    return spot;
  }

  /** A copy with its own state (one calibration shared by many streams). */
  clone(): Spot {
    const copy = new Spot(this.kind, this.options);
    copy.initial = this.initial;
    copy.excesses = new Float64Array(this.excesses);
    copy.excessCount = this.excessCount;
    copy.replaceAt = this.replaceAt;
    copy.peaks = this.peaks;
    copy.observations = this.observations;
    copy.z = this.z;
    copy.window = new Float64Array(this.window);
    copy.windowNext = this.windowNext;
    copy.windowSum = this.windowSum;
    copy.sinceWindowSum = this.sinceWindowSum;
    return copy;
  }

  /** The threshold in force for the next score, in score units. */
  get threshold(): number {
    return this.z + this.level();
  }

  /** Peaks the distribution is fitted on now. */
  get peakCount(): number {
    return this.excessCount;
  }

  /** Classifies `score` against the threshold in force, then updates it (anomalies leave it as is). */
  update(score: number): SpotOutcome {
    if (!Number.isFinite(score)) return 'normal';
    const x = score - this.level();
    if (x > this.z) return 'anomaly';
    this.observations++;
    let outcome: SpotOutcome = 'normal';
    if (x > this.initial) {
      this.addExcess(x - this.initial);
      this.peaks++;
      this.refit();
      outcome = 'peak';
    }
    if (this.kind === 'dspot') this.slide(score);
    return outcome;
  }

  private level(): number {
    return this.kind === 'dspot' ? this.windowSum / this.window.length : 0;
  }

  private addExcess(excess: number): void {
    if (this.excessCount < this.excesses.length) {
      this.excesses[this.excessCount++] = excess;
      return;
    }
    this.excesses[this.replaceAt] = excess;
    this.replaceAt = (this.replaceAt + 1) % this.excesses.length;
  }

  private refit(): void {
    if (this.excessCount === 0) return;
    const fit = fitGeneralizedPareto(this.excesses.subarray(0, this.excessCount));
    const z = peaksOverThresholdQuantile(this.initial, fit, this.options.risk, this.observations, this.peaks);
    if (Number.isFinite(z)) this.z = Math.max(z, this.initial);
  }

  private slide(score: number): void {
    const depth = this.window.length;
    this.windowSum += score - this.window[this.windowNext]!;
    this.window[this.windowNext] = score;
    this.windowNext = (this.windowNext + 1) % depth;
    // A running sum drifts by rounding: recompute it once per window.
    if (++this.sinceWindowSum >= depth) {
      this.sinceWindowSum = 0;
      this.windowSum = this.window.reduce((a, b) => a + b, 0);
    }
  }
}
