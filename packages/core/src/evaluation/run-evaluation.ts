import { CoreError } from '../errors.js';
import { assertKnownKeys, withDefaults } from '../validate.js';
import {
  DEFAULT_EVALUATE_RUN_OPTIONS,
  DEFAULT_EXPLAINABLE_OPTIONS,
  DEFAULT_NAB_OPTIONS,
  DEFAULT_RANGE_METRIC_OPTIONS,
  type DetectionDelay,
  type DetectorEvaluation,
  EVALUATION_FORMAT,
  EVALUATION_FORMAT_VERSION,
  type EvaluateRunOptions,
  type EvaluationInput,
  type EvaluationLabels,
  type EvaluationReport,
  type EvaluationSplit,
  type EventDetection,
  type EventEvaluation,
  type LabelDetections,
  type LabelRange,
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  type NabProfileName,
  type NabProfileScore,
  type NabSeries,
} from './api.js';
import { evaluateDetection } from './evaluate.js';
import { firstIndexAfter, labelsFromEvents, mergeRanges, rowLabels } from './labels.js';
import { scoreNabCorpus } from './nab.js';
import { explainableCandles, explainableShareOf, flagSpread, judgedCandles, median } from './unlabelled.js';

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

/** Per event (as given): its labelled rows after the tolerance, and the row it begins in without it. */
interface PlacedEvent {
  range: LabelRange | null;
  /** The first row of the event itself (no tolerance); the range's first row if it has none. */
  startRow: number;
}

function placeEvents(
  times: ArrayLike<number>,
  labels: EvaluationLabels,
  intervalMs: number,
): { events: PlacedEvent[]; ranges: readonly LabelRange[]; outside: number } {
  const widened = labelsFromEvents(times, labels.events, {
    tolerance: labels.toleranceMs,
    candleMs: intervalMs,
  });
  const own = labelsFromEvents(times, labels.events, { tolerance: 0, candleMs: intervalMs });
  const events: PlacedEvent[] = labels.events.map(() => ({ range: null, startRow: -1 }));
  widened.ranges.forEach((range, k) => {
    const event = events[widened.rangeEvents[k]!]!;
    event.range = range;
    event.startRow = range.startIndex;
  });
  own.ranges.forEach((range, k) => {
    events[own.rangeEvents[k]!]!.startRow = range.startIndex;
  });
  return { events, ranges: widened.ranges, outside: widened.outside.length };
}

/** The share of `sorted` (ascending) below `value`, ties counting one half; NaN for a NaN value. */
function percentileIn(sorted: Float64Array, value: number): number {
  if (Number.isNaN(value) || sorted.length === 0) return Number.NaN;
  const below = firstIndexAfter(sorted, value, false);
  return (below + (firstIndexAfter(sorted, value, true) - below) / 2) / sorted.length;
}

/** One detector's first flag in each event, and the event's peak score among the unlabelled rows. */
function detectionsOf(
  times: ArrayLike<number>,
  scores: ArrayLike<number>,
  flags: ArrayLike<number>,
  events: readonly PlacedEvent[],
  labelled: Uint8Array,
): (EventDetection | null)[] {
  const unlabelled = Float64Array.from(
    Array.from(scores).filter((score, i) => labelled[i] === 0 && !Number.isNaN(score)),
  ).sort();
  return events.map(({ range, startRow }) => {
    if (range === null) return null;
    let first = -1;
    let peak = Number.NaN;
    for (let i = range.startIndex; i <= range.endIndex; i++) {
      if (first < 0 && flags[i] === 1) first = i;
      const score = scores[i]!;
      if (!Number.isNaN(score) && !(score <= peak)) peak = score;
    }
    return {
      firstFlag: first < 0 ? null : isoTime(times[first]!),
      delay: first < 0 ? null : first - startRow,
      peakPercentile: percentileIn(unlabelled, peak),
    };
  });
}

function delayOf(detections: readonly (EventDetection | null)[]): DetectionDelay {
  const delays = Float64Array.from(
    detections.flatMap((detection) =>
      detection === null || detection.delay === null ? [] : [detection.delay],
    ),
  ).sort();
  return {
    detected: delays.length,
    median: delays.length === 0 ? Number.NaN : median(delays),
    max: delays.length === 0 ? Number.NaN : delays[delays.length - 1]!,
  };
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
  const resolved: EvaluateRunOptions = withDefaults(
    'evaluateRun options',
    DEFAULT_EVALUATE_RUN_OPTIONS,
    options,
  );
  assertKnownKeys('evaluateRun options.range', resolved.range, Object.keys(DEFAULT_RANGE_METRIC_OPTIONS));
  assertKnownKeys(
    'evaluateRun options.explainable',
    resolved.explainable,
    Object.keys(DEFAULT_EXPLAINABLE_OPTIONS),
  );
  assertKnownKeys('evaluateRun options.nab', resolved.nab, Object.keys(DEFAULT_NAB_OPTIONS));
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
  // Marked over the whole history, so the first rows of a split have their 30 previous candles;
  // the data's own first candles (a walk-forward folder starts after its first window) have not,
  // and their flags are left out as undetermined rather than counted unexplained.
  const explainable = pick(explainableCandles(input.candles, resolved.explainable), rows);
  const judged = pick(
    judgedCandles(
      input.candles.length,
      0,
      resolved.explainable?.lookback ?? DEFAULT_EXPLAINABLE_OPTIONS.lookback,
    ),
    rows,
  );

  let placed:
    | {
        events: PlacedEvent[];
        ranges: readonly LabelRange[];
        merged: LabelRange[];
        outside: number;
        labelled: Uint8Array;
      }
    | undefined;
  if (labels !== null) {
    const { events, ranges, outside } = placeEvents(times, labels, input.intervalMs);
    const merged = mergeRanges(ranges);
    placed = { events, ranges, merged, outside, labelled: rowLabels(times.length, merged) };
  }

  const detections: (EventDetection | null)[][] = [];
  const detectors: DetectorEvaluation[] = input.detectors.map((detector) => {
    const scores = pick(detector.scores, rows);
    const flags = pick(detector.flags, rows);
    const found = placed ? detectionsOf(times, scores, flags, placed.events, placed.labelled) : [];
    detections.push(found);
    return {
      name: detector.name,
      threshold: detector.threshold,
      flags: flags.reduce((sum, flag) => sum + (flag === 1 ? 1 : 0), 0),
      labelled: placed ? evaluateDetection(scores, flags, placed.ranges, { range: resolved.range }) : null,
      nab: placed ? nabScores(input.symbol, times, scores, flags, placed.merged, resolved) : null,
      delay: placed ? delayOf(found) : null,
      explainable: explainableShareOf(explainable, flags, judged),
      spread: flagSpread(times, flags),
    };
  });
  const events: EventEvaluation[] | null =
    labels && placed
      ? labels.events.map((event, k) => {
          const { range } = placed.events[k]!;
          const byDetector: Record<string, EventDetection> = {};
          input.detectors.forEach((detector, d) => {
            const detection = detections[d]![k];
            if (detection) byDetector[detector.name] = detection;
          });
          return {
            start: isoTime(event.start),
            end: isoTime(event.end),
            ...(event.label !== undefined ? { label: event.label } : {}),
            rows: range && { from: isoTime(times[range.startIndex]!), to: isoTime(times[range.endIndex]!) },
            detections: byDetector,
          };
        })
      : null;
  const eventLabels: LabelDetections[] | null =
    labels && placed
      ? [...new Set(labels.events.flatMap((event) => (event.label === undefined ? [] : [event.label])))].map(
          (label) => {
            const ofLabel = labels.events.flatMap((event, k) =>
              event.label === label && placed.events[k]!.range !== null ? [k] : [],
            );
            const byDetector: Record<string, DetectionDelay> = {};
            input.detectors.forEach((detector, d) => {
              byDetector[detector.name] = delayOf(ofLabel.map((k) => detections[d]![k]!));
            });
            return { label, events: ofLabel.length, detections: byDetector };
          },
        )
      : null;

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
    events,
    eventLabels,
  };
}
