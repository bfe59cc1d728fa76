import type { DetectorName } from '../api.js';
import { isAdaptiveThreshold, thresholdsPerRow } from '../thresholds.js';
import type { DetectorScores, ScoredTable } from './trained-pipeline.js';

/** The threshold each row was judged against, for the detectors (and consensus) where it varies. */
export type RowThresholds = Partial<Record<DetectorName | 'consensus', Float64Array>>;

/**
 * Judges a fitted table's rows in time order: rows before `calibrationEnd` (the training rows the
 * thresholds were fitted on) against the fitted threshold, each later row against an adaptive
 * threshold (`spot`, `dspot`) as it stood before that row. Flags are recomputed for those; a
 * detector with a fixed threshold keeps its flags and gets no per-row thresholds.
 */
export function judgeInTimeOrder(
  scored: ScoredTable,
  calibrationEnd: number,
): { scored: ScoredTable; rowThresholds: RowThresholds } {
  const rowThresholds: RowThresholds = {};
  const judge = (s: DetectorScores): DetectorScores => {
    if (!isAdaptiveThreshold(s.threshold.method)) return s;
    const thresholds = new Float64Array(s.scores.length).fill(s.threshold.value);
    const calibration = s.scores.subarray(0, calibrationEnd);
    thresholds.set(
      thresholdsPerRow(s.threshold, calibration, s.scores.subarray(calibrationEnd)),
      calibrationEnd,
    );
    rowThresholds[s.name] = thresholds;
    return { ...s, flags: flagsOf(s.scores, thresholds) };
  };
  return {
    scored: { ...scored, detectors: scored.detectors.map(judge), consensus: judge(scored.consensus) },
    rowThresholds,
  };
}

/** 1 where the score is above its row's threshold. */
export function flagsOf(scores: ArrayLike<number>, thresholds: ArrayLike<number>): Uint8Array {
  return Uint8Array.from({ length: scores.length }, (_, i) => (scores[i]! > thresholds[i]! ? 1 : 0));
}
