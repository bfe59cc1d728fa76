import { quantile } from '@crypto-anomaly/kernels';

/**
 * The extreme-value arithmetic that fitted `pot` thresholds (thresholds.ts) and the streaming
 * SPOT / DSPOT (streaming/spot.ts) share: a leaf, so each can import it without importing the other.
 */

/**
 * Quantile with numpy's default linear interpolation, ignoring NaN (NaN when no value is left):
 * the kernels' `quantile`, so core and kernels agree to the bit (and with numpy's nanquantile).
 */
export function quantileOf(values: ArrayLike<number>, q: number): number {
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) return quantile(values, q);
  return Number.NaN;
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
