import { assertKnownKeys } from '../validate.js';
import type { NabCostMatrix, NabOptions, NabSeries, NabSweepRow, NabThresholdScore } from './api.js';
import { NAB_KEYS, nabOptionsOf, nabScoresByThreshold, nabSweep } from './nab.js';

/**
 * NAB's two threshold optimisers over one corpus and profile.
 *
 * - NAB v1.1 (numenta/NAB `nab/optimizer.py` since 2019, "Sweep scoring"): every distinct score
 *   of the corpus is tried; the best total wins. That is `optimizeNabThreshold` in nab.ts, and
 *   `nabThresholdCurve` here gives the whole curve it picks from.
 * - NAB v1.0 (`twiddle` in the same file before 2019): a hill climb on the threshold from 0.5
 *   with step 0.1, doubled after a gain and halved after two losses, until the step is below
 *   1e-7; thresholds outside [0, 1] score −∞. Several published thresholds of the scoreboard
 *   (numenta's low-FP one, skyline's, random's) come from it and sit on a local maximum, so it
 *   is what reproduces those rows; `twiddleNabThreshold` runs it, rule for rule.
 *
 * Both read the same sweep (nab.ts's `nabSweep` and `nabScoresByThreshold`): the objective at a
 * threshold t is the total score of detecting every scored row whose anomaly score is >= t.
 */

/** Options of NAB v1.0's hill climb (defaults: NAB's `optimizeThreshold` call). */
export interface NabTwiddleOptions {
  /** First threshold tried (NAB: 0.5). */
  initialGuess: number;
  /** The climb stops when its step falls to this or below (NAB: 1e-7). */
  tolerance: number;
}

export const DEFAULT_NAB_TWIDDLE_OPTIONS: Readonly<NabTwiddleOptions> = Object.freeze({
  initialGuess: 0.5,
  tolerance: 1e-7,
});

/**
 * The corpus' total NAB score at every threshold worth trying, from detecting nothing
 * (threshold +Infinity) down to the lowest score: thresholds strictly decreasing.
 */
export function nabThresholdCurve(
  corpus: readonly NabSeries[],
  cost: NabCostMatrix,
  options: Partial<NabOptions> = {},
): NabThresholdScore[] {
  assertKnownKeys('nabThresholdCurve options', options, NAB_KEYS);
  const rows: NabSweepRow[] = [];
  for (const series of corpus) for (const row of nabSweep(series, cost, options)) rows.push(row);
  return nabScoresByThreshold(rows, cost);
}

/** The curve's value at any threshold t: detections are the rows scoring >= t. */
export function nabCurveAt(curve: readonly NabThresholdScore[], threshold: number): NabThresholdScore {
  // The last entry whose threshold is >= t detects exactly the rows scoring >= t.
  let lo = 0;
  let hi = curve.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (curve[mid]!.threshold >= threshold) lo = mid;
    else hi = mid - 1;
  }
  const match = curve[lo]!;
  return { ...match, threshold };
}

/**
 * NAB v1.0's optimiser (`twiddle`): the threshold it settles on and its total score. Like NAB,
 * it returns the best threshold it evaluated (the first one on a tie) and never leaves [0, 1].
 */
export function twiddleNabThreshold(
  corpus: readonly NabSeries[],
  cost: NabCostMatrix,
  options: Partial<NabOptions & NabTwiddleOptions> = {},
): NabThresholdScore {
  assertKnownKeys('twiddleNabThreshold options', options, [...NAB_KEYS, 'initialGuess', 'tolerance']);
  const initialGuess = options.initialGuess ?? DEFAULT_NAB_TWIDDLE_OPTIONS.initialGuess;
  const tolerance = options.tolerance ?? DEFAULT_NAB_TWIDDLE_OPTIONS.tolerance;
  const curve = nabThresholdCurve(corpus, cost, nabOptionsOf(options));
  const objective = (t: number) => (0 <= t && t <= 1 ? nabCurveAt(curve, t).score : Number.NEGATIVE_INFINITY);
  // NAB keeps every call in a dict (insertion order) and picks the max at the end.
  const past = new Map<number, number>();
  const call = (t: number) => {
    let score = past.get(t);
    if (score === undefined) {
      score = objective(t);
      past.set(t, score);
    }
    return score;
  };
  let x = initialGuess;
  let delta = 0.1;
  let best = call(x);
  while (delta > tolerance) {
    x += delta;
    if (call(x) > best) {
      best = call(x);
      delta *= 2;
    } else {
      x -= 2 * delta;
      if (call(x) > best) {
        best = call(x);
        delta *= 2;
      } else {
        x += delta;
        delta *= 0.5;
      }
    }
  }
  let bestThreshold = initialGuess;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const [t, score] of past) {
    if (score > bestScore) {
      bestScore = score;
      bestThreshold = t;
    }
  }
  return nabCurveAt(curve, bestThreshold);
}
