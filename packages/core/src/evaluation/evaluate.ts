import { CoreError } from '../errors.js';
import { assertKnownKeys, keysOf } from '../validate.js';
import {
  DEFAULT_RANGE_METRIC_OPTIONS,
  type DetectionQuality,
  type EvaluateDetectionOptions,
  type LabelRange,
} from './api.js';
import { averagePrecision, eventRecall, flagMetrics, rocAuc } from './classification.js';
import { rangesFromFlags, rowLabels } from './labels.js';
import { rangePrecision, rangeRecall } from './range-based.js';

const EVALUATE_DETECTION_KEYS = keysOf<EvaluateDetectionOptions>({ eventToleranceRows: true, range: true });

/** Harmonic mean; 0 when both are 0, NaN when either is NaN. */
function harmonicMean(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  return a + b === 0 ? 0 : (2 * a * b) / (a + b);
}

/**
 * Every labelled measure of one detector at once: the ranking measures of its raw scores, and
 * point-wise, event and range-based measures of its flags, against labelled row ranges.
 */
export function evaluateDetection(
  scores: ArrayLike<number>,
  flags: ArrayLike<number>,
  labels: readonly LabelRange[],
  options: Partial<EvaluateDetectionOptions> = {},
): DetectionQuality {
  assertKnownKeys('evaluateDetection options', options, EVALUATE_DETECTION_KEYS);
  assertKnownKeys(
    'evaluateDetection options.range',
    options.range,
    Object.keys(DEFAULT_RANGE_METRIC_OPTIONS),
  );
  if (scores.length !== flags.length) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `evaluateDetection: ${scores.length} scores but ${flags.length} flags; give one of each per row.`,
    );
  }
  const rows = rowLabels(scores.length, labels);
  const pointwise = flagMetrics(flags, rows);
  const predicted = rangesFromFlags(Array.from(flags, (flag) => (flag === 1 ? 1 : 0)));
  const rangeP = rangePrecision(labels, predicted, options.range);
  const rangeR = rangeRecall(labels, predicted, options.range);
  return {
    rocAuc: rocAuc(scores, rows),
    prAuc: averagePrecision(scores, rows),
    precision: pointwise.precision,
    recall: pointwise.recall,
    f1: pointwise.f1,
    eventRecall: eventRecall(flags, labels, options.eventToleranceRows ?? 0),
    rangePrecision: rangeP,
    rangeRecall: rangeR,
    rangeF1: harmonicMean(rangeP, rangeR),
    flaggedRows: pointwise.flagged,
    labelledRows: pointwise.labelled,
    events: labels.length,
  };
}
