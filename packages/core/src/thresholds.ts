import type { AdaptiveThresholdMethod, FittedThreshold, SpotOptions, ThresholdMethod } from './api.js';
import { CoreError } from './errors.js';
import { fitGeneralizedPareto, peaksOverThresholdQuantile, quantileOf } from './extreme-values.js';
import { DEFAULT_SPOT_OPTIONS, resolveSpotOptions, Spot } from './streaming/spot.js';
import { assertContamination, assertKnownKeys, describeValue } from './validate.js';

export { fitGeneralizedPareto, peaksOverThresholdQuantile, quantileOf };

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

function assertFraction(name: string, value: number, low: number, high: number, hint: string): void {
  if (!(Number.isFinite(value) && value > low && value < high)) {
    throw new CoreError('INVALID_ARGUMENT', `${name} must be in (${low}, ${high}), got ${value}. ${hint}`);
  }
}

/** The keys of each kind of threshold method (the config schema's, for options given in code). */
const METHOD_KEYS: Readonly<Record<ThresholdMethod['kind'], readonly string[]>> = Object.freeze({
  contamination: ['kind', 'contamination'],
  fixed: ['kind', 'value'],
  pot: ['kind', 'riskQuantile', 'initialQuantile'],
  spot: ['kind', 'risk', 'initialQuantile', 'maxPeaks'],
  dspot: ['kind', 'risk', 'initialQuantile', 'maxPeaks', 'depth'],
});

/** Validates a threshold method where it enters (config, flags, options). */
export function assertThresholdMethod(method: ThresholdMethod): ThresholdMethod {
  if (method === null || typeof method !== 'object') {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `threshold must be { kind: "contamination" | "fixed" | "pot" | "spot" | "dspot", … }, got ${describeValue(method)}.`,
    );
  }
  const keys = Object.hasOwn(METHOD_KEYS, method.kind) ? METHOD_KEYS[method.kind] : undefined;
  if (keys) assertKnownKeys(`a ${method.kind} threshold`, method, keys);
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
    case 'spot':
    case 'dspot':
      spotOptionsOf(method);
      break;
    default:
      throw new CoreError(
        'INVALID_ARGUMENT',
        `Unknown threshold kind "${(method as { kind: string }).kind}": use contamination, fixed, pot, spot or dspot.`,
      );
  }
  return method;
}

/** Whether a threshold moves as scored rows arrive (`spot`, `dspot`) rather than staying fixed. */
export function isAdaptiveThreshold(method: ThresholdMethod): method is AdaptiveThresholdMethod {
  return method.kind === 'spot' || method.kind === 'dspot';
}

/** An adaptive method's settings, unset ones from `DEFAULT_SPOT_OPTIONS`, checked as SPOT checks them. */
function spotOptionsOf(method: AdaptiveThresholdMethod): SpotOptions {
  const { kind: _kind, ...options } = method;
  const risk = options.risk ?? DEFAULT_SPOT_OPTIONS.risk;
  // As the stream scorer does: the initial threshold leaves at least twice the risk above it.
  const initialQuantile =
    options.initialQuantile ?? Math.max(0.6, Math.min(DEFAULT_SPOT_OPTIONS.initialQuantile, 1 - 2 * risk));
  return resolveSpotOptions({ ...options, risk, initialQuantile });
}

/**
 * The threshold each of `scores` is judged against, in order: for a fixed method (contamination,
 * fixed, pot) the fitted value on every row; for `spot` / `dspot`, SPOT calibrated on
 * `calibration` (the training scores the threshold was fitted on: its first value is the fitted
 * one) and then updated by each score after it was judged, so a row's threshold depends only on
 * the calibration and the rows before it. Flags are `score > threshold`.
 */
export function thresholdsPerRow(
  fitted: FittedThreshold,
  calibration: ArrayLike<number>,
  scores: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(scores.length);
  if (!isAdaptiveThreshold(fitted.method)) return out.fill(fitted.value);
  const spot = Spot.calibrate(fitted.method.kind, calibration, spotOptionsOf(fitted.method));
  for (let i = 0; i < scores.length; i++) {
    out[i] = spot.threshold;
    spot.update(scores[i]!);
  }
  return out;
}

/**
 * The consensus' threshold: fitted on its training scores as the detectors' are, but under an
 * adaptive method (SPOT/DSPOT) held at the value SPOT starts from rather than moved row by row, as
 * `watch` holds it (`adaptiveConsensus`). The consensus is relative already (each score a
 * percentile among its detector's training scores) and bounded by 1: DSPOT on it reached
 * thresholds above 1 (no row can be flagged) and flagged 5% of a daily run's validation rows.
 */
export function fitConsensusThreshold(
  trainingScores: ArrayLike<number>,
  method: ThresholdMethod = DEFAULT_THRESHOLD,
): FittedThreshold {
  const fitted = fitThreshold(trainingScores, method);
  if (!isAdaptiveThreshold(method)) return fitted;
  return {
    value: fitted.value,
    method: { kind: 'fixed', value: fitted.value },
    description: fitted.description.replace(
      /, then adapts row by row to the scores after training$/,
      '; held for the consensus, which is relative already (the detectors adapt)',
    ),
  };
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
  if (isAdaptiveThreshold(method)) {
    // The threshold SPOT starts from; `thresholdsPerRow` moves it along the rows scored after.
    const options = spotOptionsOf(method);
    const spot = Spot.calibrate(method.kind, finite, options);
    const level =
      method.kind === 'dspot' ? `, on scores minus the mean of the last ${options.depth} normal ones` : '';
    return {
      value: spot.threshold,
      method,
      description:
        `${method.kind.toUpperCase()}: starts at the GPD tail fit above the ${options.initialQuantile} quantile of ` +
        `training scores (risk ${options.risk}${level}), then adapts row by row to the scores after training`,
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
