import { quantile } from '@crypto-anomaly/kernels';
import type { FittedThreshold, ThresholdMethod } from './api.js';
import { CoreError } from './errors.js';
import { assertContamination } from './validate.js';

/** Default: 1% of training rows flagged. Markets are mostly normal; 1% of hourly bars is ~7 a month. */
export const DEFAULT_THRESHOLD: ThresholdMethod = Object.freeze({
  kind: 'contamination',
  contamination: 0.01,
});

/** Default peaks-over-threshold settings: GPD fitted above the 98th percentile, 0.5% risk. */
export const DEFAULT_POT = Object.freeze({
  kind: 'pot',
  riskQuantile: 0.005,
  initialQuantile: 0.98,
} as const);

/** Fewest exceedances over the initial threshold for a meaningful GPD fit. */
const MIN_POT_EXCEEDANCES = 10;

/**
 * Quantile with numpy's default linear interpolation, ignoring NaN (NaN when no value is left):
 * the kernels' `quantile`, so core and kernels agree to the bit (and with numpy's nanquantile).
 */
export function quantileOf(values: ArrayLike<number>, q: number): number {
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) return quantile(values, q);
  return Number.NaN;
}

function assertFraction(name: string, value: number, low: number, high: number, hint: string): void {
  if (!(Number.isFinite(value) && value > low && value < high)) {
    throw new CoreError('INVALID_ARGUMENT', `${name} must be in (${low}, ${high}), got ${value}. ${hint}`);
  }
}

/** Validates a threshold method where it enters (config, flags, options). */
export function assertThresholdMethod(method: ThresholdMethod): ThresholdMethod {
  switch (method.kind) {
    case 'contamination':
      assertContamination('contamination', method.contamination);
      break;
    case 'fixed':
      if (!Number.isFinite(method.value)) {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `A fixed threshold must be a finite number, got ${method.value}.`,
        );
      }
      break;
    case 'pot':
      assertFraction('pot.initialQuantile', method.initialQuantile, 0.5, 1, 'Use for example 0.98.');
      assertFraction(
        'pot.riskQuantile',
        method.riskQuantile,
        0,
        1 - method.initialQuantile,
        'Use for example 0.005.',
      );
      break;
    default:
      throw new CoreError(
        'INVALID_ARGUMENT',
        `Unknown threshold kind "${(method as { kind: string }).kind}": use contamination, fixed or pot.`,
      );
  }
  return method;
}

/**
 * Maximum-likelihood fit of a generalized Pareto distribution to exceedances, by Grimshaw's
 * reduction (1993): for θ = ξ/σ the likelihood is maximised in closed form over ξ, leaving a
 * one-dimensional search over θ in (-1/max(y), ∞). The exponential (ξ = 0) is a candidate too.
 */
export function fitGeneralizedPareto(excesses: ArrayLike<number>): { shape: number; scale: number } {
  const n = excesses.length;
  let mean = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    mean += excesses[i]!;
    max = Math.max(max, excesses[i]!);
  }
  mean /= n;
  if (!(mean > 0)) return { shape: 0, scale: Number.MIN_VALUE };
  // ξ = 0: exponential with σ = mean.
  let best = { shape: 0, scale: mean, logLikelihood: -n * Math.log(mean) - n };
  const profile = (theta: number) => {
    let logSum = 0;
    for (let i = 0; i < n; i++) logSum += Math.log1p(theta * excesses[i]!);
    const shape = logSum / n;
    const scale = shape / theta;
    if (!(scale > 0) || !Number.isFinite(shape)) return undefined;
    return { shape, scale, logLikelihood: -n * Math.log(scale) - n * (1 + shape) };
  };
  const consider = (theta: number) => {
    const fit = profile(theta);
    if (fit && fit.logLikelihood > best.logLikelihood) best = fit;
    return fit?.logLikelihood ?? Number.NEGATIVE_INFINITY;
  };
  // Coarse log-spaced grid on both sides of 0, then golden-section refinement around the best.
  const lowest = -1 / max;
  const candidates: number[] = [];
  for (let k = 1; k <= 60; k++) candidates.push(lowest * (1 - 0.999 ** (k * k)));
  for (let k = -40; k <= 40; k++) candidates.push((10 ** (k / 8) / mean) * 1e-3);
  let bestTheta = Number.NaN;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const theta of candidates) {
    const value = consider(theta);
    if (value > bestValue) {
      bestValue = value;
      bestTheta = theta;
    }
  }
  if (Number.isFinite(bestTheta)) {
    let a = bestTheta > 0 ? bestTheta / 2 : Math.max(lowest * 0.999999, bestTheta * 1.5);
    let b = bestTheta > 0 ? bestTheta * 2 : bestTheta / 2;
    const ratio = (Math.sqrt(5) - 1) / 2;
    for (let iteration = 0; iteration < 80; iteration++) {
      const c = b - ratio * (b - a);
      const d = a + ratio * (b - a);
      if (consider(c) > consider(d)) b = d;
      else a = c;
    }
  }
  return { shape: best.shape, scale: best.scale };
}

/**
 * The score exceeded with probability `risk` when `peaks` of `observations` scores exceeded
 * `initial` and their excesses follow the generalized Pareto `fit`: P(score > z) =
 * (N_t / n) (1 + ξ (z - t) / σ)^(-1/ξ) = risk, solved for z (Siffer et al. 2017, eq. 1).
 */
export function peaksOverThresholdQuantile(
  initial: number,
  fit: { shape: number; scale: number },
  risk: number,
  observations: number,
  peaks: number,
): number {
  const { shape, scale } = fit;
  const r = (risk * observations) / peaks;
  return Math.abs(shape) < 1e-9
    ? initial - scale * Math.log(r)
    : initial + (scale / shape) * (r ** -shape - 1);
}

/** Fits a threshold on a detector's training scores (higher = more anomalous). */
export function fitThreshold(
  trainingScores: ArrayLike<number>,
  method: ThresholdMethod = DEFAULT_THRESHOLD,
): FittedThreshold {
  assertThresholdMethod(method);
  if (method.kind === 'fixed') {
    return { value: method.value, method, description: `fixed score ${method.value}` };
  }
  const finite = Array.prototype.filter.call(trainingScores, (v: number) => Number.isFinite(v)) as number[];
  if (finite.length === 0) {
    throw new CoreError('TOO_FEW_ROWS', 'Cannot fit a threshold: there are no finite training scores.');
  }
  if (method.kind === 'contamination') {
    const value = quantileOf(finite, 1 - method.contamination);
    const percentile = +(100 * (1 - method.contamination)).toFixed(4);
    return {
      value,
      method,
      description: `${percentile}th percentile of training scores (contamination ${method.contamination})`,
    };
  }
  const initial = quantileOf(finite, method.initialQuantile);
  const excesses = finite.filter((v) => v > initial).map((v) => v - initial);
  if (excesses.length < MIN_POT_EXCEEDANCES) {
    throw new CoreError(
      'TOO_FEW_ROWS',
      `Peaks-over-threshold needs at least ${MIN_POT_EXCEEDANCES} training scores above the ` +
        `${method.initialQuantile} quantile, found ${excesses.length}. Lower pot.initialQuantile, ` +
        'train on more rows, or use a contamination threshold.',
    );
  }
  const { shape, scale } = fitGeneralizedPareto(excesses);
  const value = peaksOverThresholdQuantile(
    initial,
    { shape, scale },
    method.riskQuantile,
    finite.length,
    excesses.length,
  );
  return {
    value,
    method,
    description:
      `peaks over threshold: GPD (shape ${shape.toFixed(3)}, scale ${scale.toPrecision(3)}) above the ` +
      `${method.initialQuantile} quantile, risk ${method.riskQuantile}`,
  };
}
