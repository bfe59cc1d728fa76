import { CoreError } from '../errors.js';
import {
  DEFAULT_EVALUATE_RUN_OPTIONS,
  DEFAULT_EXPLAINABLE_OPTIONS,
  DEFAULT_RANGE_METRIC_OPTIONS,
  type DetectorEvaluation,
  EVALUATION_FORMAT,
  EVALUATION_FORMAT_VERSION,
  type EvaluateRunOptions,
  type EvaluationInput,
  type EvaluationLabels,
  type EvaluationReport,
  type EvaluationSplit,
  type LabelRange,
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  type NabProfileName,
  type NabProfileScore,
  type NabSeries,
} from './api.js';
import { evaluateDetection } from './evaluate.js';
import { labelsFromEvents, mergeRanges } from './labels.js';
import { scoreNabCorpus } from './nab.js';
import { explainableCandles, explainableShareOf, flagSpread } from './unlabelled.js';

/**
 * Evaluates a run's scores: per detector and for the consensus, the measures against labels
 * (when given) and the label-free ones, on the rows of one split or all.
 *
 * Labels: an event (instant or span, widened by the tolerance on each side) labels every candle
 * whose time span [openTime, openTime + interval) it overlaps. The tolerance thus counts for every
 * labelled measure alike (point-wise, event recall, range-based, NAB), not only for event recall.
 * The NAB score treats the merged labelled spans as NAB windows on this one series, with NAB's
 * probationary first 15% of the rows unscored.
 */

const SPLITS: readonly EvaluationSplit[] = ['all', 'train', 'validation', 'test'];

const isoTime = (time: number) => new Date(time).toISOString();

/** Indices of the rows of a split (`all`: every row; rows without a split count as `test`). */
function rowsOf(input: EvaluationInput, split: EvaluationSplit): number[] {
  const indices: number[] = [];
  for (let i = 0; i < input.candles.length; i++) {
    if (split === 'all' || (input.splits?.[i] ?? 'test') === split) indices.push(i);
  }
  return indices;
}

function pick<T>(values: ArrayLike<T>, indices: readonly number[]): T[] {
  return indices.map((i) => values[i]!);
}

function nabScores(
  name: string,
  times: ArrayLike<number>,
  scores: ArrayLike<number>,
  flags: ArrayLike<number>,
  ranges: readonly LabelRange[],
  options: EvaluateRunOptions,
): Record<NabProfileName, NabProfileScore> {
  const windows = ranges.map((range) => ({ start: times[range.startIndex]!, end: times[range.endIndex]! }));
  // A row NAB's sweep cannot order (NaN: the detector could not score it) is never a detection.
  const raw: NabSeries = {
    name,
    timestamps: times,
    scores: Array.from(scores, (score) => (Number.isNaN(score) ? Number.NEGATIVE_INFINITY : score)),
    windows,
  };
  // The run's own detections: its flags, as 0/1 scores detected at threshold 1.
  const flagged: NabSeries = { ...raw, scores: flags };
  const result = {} as Record<NabProfileName, NabProfileScore>;
  for (const profile of NAB_PROFILE_NAMES) {
    const cost = NAB_PROFILES[profile];
    const at = scoreNabCorpus([flagged], cost, { ...options.nab, threshold: 1 });
    const best = scoreNabCorpus([raw], cost, options.nab);
    result[profile] = {
      atThreshold: {
        score: at.score,
        normalizedScore: at.normalizedScore,
        tp: at.tp,
        tn: at.tn,
        fp: at.fp,
        fn: at.fn,
      },
      optimized: { threshold: best.threshold, score: best.score, normalizedScore: best.normalizedScore },
    };
  }
  return result;
}

/**
 * Every measure of every detector in `input`, against `labels` (null: the label-free measures
 * only). The report is what `evaluation.json` holds.
 */
export function evaluateRun(
  input: EvaluationInput,
  labels: EvaluationLabels | null,
  options: Partial<EvaluateRunOptions> = {},
): EvaluationReport {
  const resolved: EvaluateRunOptions = { ...DEFAULT_EVALUATE_RUN_OPTIONS, ...options };
  if (!SPLITS.includes(resolved.split)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `split must be one of ${SPLITS.join(', ')}, got ${resolved.split}.`,
    );
  }
  const n = input.candles.length;
  for (const detector of input.detectors) {
    if (detector.scores.length !== n || detector.flags.length !== n) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `${detector.name} has ${detector.scores.length} scores and ${detector.flags.length} flags for ${n} candles; give one of each per candle.`,
      );
    }
  }
  const rows = rowsOf(input, resolved.split);
  if (rows.length === 0) {
    throw new CoreError(
      'TOO_FEW_ROWS',
      `the run has no ${resolved.split} rows to evaluate: choose another split (all, train, validation, test).`,
    );
  }
  const allTimes = input.candles.map((candle) => candle.openTime);
  const times = pick(allTimes, rows);
  // Marked over the whole history, so the first rows of a split have their 30 previous candles.
  const explainable = pick(explainableCandles(input.candles, resolved.explainable), rows);

  let placed: { ranges: readonly LabelRange[]; merged: LabelRange[]; outside: number } | undefined;
  if (labels !== null) {
    const { ranges, outside } = labelsFromEvents(times, labels.events, {
      tolerance: labels.toleranceMs,
      candleMs: input.intervalMs,
    });
    placed = { ranges, merged: mergeRanges(ranges), outside: outside.length };
  }

  const detectors: DetectorEvaluation[] = input.detectors.map((detector) => {
    const scores = pick(detector.scores, rows);
    const flags = pick(detector.flags, rows);
    return {
      name: detector.name,
      threshold: detector.threshold,
      flags: flags.reduce((sum, flag) => sum + (flag === 1 ? 1 : 0), 0),
      labelled: placed ? evaluateDetection(scores, flags, placed.ranges, { range: resolved.range }) : null,
      nab: placed ? nabScores(input.symbol, times, scores, flags, placed.merged, resolved) : null,
      explainable: explainableShareOf(explainable, flags),
      spread: flagSpread(times, flags),
    };
  });

  const labelledRows = placed
    ? placed.merged.reduce((sum, range) => sum + range.endIndex - range.startIndex + 1, 0)
    : 0;
  return {
    format: EVALUATION_FORMAT,
    formatVersion: EVALUATION_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    symbol: input.symbol,
    split: resolved.split,
    rows: {
      count: rows.length,
      from: isoTime(times[0]!),
      to: isoTime(times[times.length - 1]!),
    },
    labels:
      labels && placed
        ? {
            source: labels.source,
            ...(labels.series !== undefined ? { series: labels.series } : {}),
            toleranceMs: labels.toleranceMs,
            events: labels.events.length,
            eventsOutside: placed.outside,
            labelledRows,
            ranges: placed.merged.map((range) => ({
              from: isoTime(times[range.startIndex]!),
              to: isoTime(times[range.endIndex]!),
            })),
          }
        : null,
    explainableRule: { ...DEFAULT_EXPLAINABLE_OPTIONS, ...resolved.explainable },
    rangeMetric: { ...DEFAULT_RANGE_METRIC_OPTIONS, ...resolved.range },
    detectors,
  };
}
