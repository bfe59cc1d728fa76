/**
 * Types and defaults of the evaluation library: labels, detection quality against them, the NAB
 * scorer, and the measures that need no labels. A leaf: no implementation is imported here.
 *
 * Times are milliseconds since the Unix epoch (UTC), as a kline's `openTime`; row ranges are
 * inclusive row indices into the scored series.
 */

/** A labelled span of time, both ends inclusive (an event at one instant has start === end). */
export interface TimeRange {
  readonly start: number;
  readonly end: number;
  /** What the event is (an events CSV's `label` or `kind` column, the sample market's kind). */
  readonly label?: string;
}

/** A labelled span of rows, both ends inclusive (the shape `eventRecall` takes). */
export interface LabelRange {
  readonly startIndex: number;
  readonly endIndex: number;
}

/** Labels placed on a series: one row range per event that touches it. */
export interface SeriesLabels {
  /** One range per event that covers at least one row, in the order the events were given. */
  readonly ranges: readonly LabelRange[];
  /** For each range, the index of its event among the events given. */
  readonly rangeEvents: readonly number[];
  /** Events that cover no row of the series (before, after or between its candles). */
  readonly outside: readonly TimeRange[];
}

/** How events become labelled rows. */
export interface LabelOptions {
  /**
   * Milliseconds added on each side of every event (default 0): an event at time t labels the
   * rows whose time lies in [t - tolerance, t + tolerance].
   */
  tolerance: number;
  /**
   * Length of the time a row stands for, in ms (default 0: a row is its instant). With a candle's
   * length, a row is [openTime, openTime + candleMs) and an event labels every candle it overlaps:
   * an event at 13:27 labels the 13:00 hourly candle.
   */
  candleMs: number;
}

export const DEFAULT_LABEL_OPTIONS: Readonly<LabelOptions> = Object.freeze({ tolerance: 0, candleMs: 0 });

/**
 * Positional bias of Tatbul et al. (2018): which rows of a range weigh most in its overlap reward.
 * `flat` weighs every row alike, `front` the first rows, `back` the last, `middle` the centre.
 */
export type PositionalBias = 'flat' | 'front' | 'back' | 'middle';

/**
 * Cardinality factor of Tatbul et al.: `reciprocal` divides a range's overlap reward by the
 * number of ranges of the other side it overlaps (γ = 1/x, the paper's suggestion: a fragmented
 * detection is worth less); `one` never penalises fragmentation.
 */
export type CardinalityFactor = 'reciprocal' | 'one';

/** Range-based precision and recall (Tatbul, Lee, Zdonik, Alam, Gottschlich, NeurIPS 2018). */
export interface RangeMetricOptions {
  /**
   * Weight of the existence reward in recall, α in [0, 1] (default 0: recall is the overlap
   * reward alone, so detecting one row of a long event is not full recall). Precision has no
   * existence reward (the paper's α = 0 for precision).
   */
  alpha: number;
  /** Positional bias of the overlap reward (default `flat`). */
  bias: PositionalBias;
  /** Cardinality factor (default `reciprocal`, γ = 1/x). */
  cardinality: CardinalityFactor;
}

export const DEFAULT_RANGE_METRIC_OPTIONS: Readonly<RangeMetricOptions> = Object.freeze({
  alpha: 0,
  bias: 'flat',
  cardinality: 'reciprocal',
});

/** Quality of one detector's scores and flags against labelled row ranges. */
export interface DetectionQuality {
  /** Area under the ROC curve of the scores (NaN without both labelled and unlabelled rows). */
  readonly rocAuc: number;
  /** Area under the precision-recall curve (average precision) of the scores. */
  readonly prAuc: number;
  /** Point-wise precision of the flags: flagged labelled rows / flagged rows (NaN with no flag). */
  readonly precision: number;
  /** Point-wise recall of the flags: flagged labelled rows / labelled rows. */
  readonly recall: number;
  /** Harmonic mean of the point-wise precision and recall (0 when both are 0). */
  readonly f1: number;
  /** Share of events with at least one flagged row (after the row tolerance). */
  readonly eventRecall: number;
  /** Range-based precision of Tatbul et al. over the flagged ranges. */
  readonly rangePrecision: number;
  /** Range-based recall of Tatbul et al. over the labelled ranges. */
  readonly rangeRecall: number;
  /** Harmonic mean of the range-based precision and recall. */
  readonly rangeF1: number;
  readonly flaggedRows: number;
  readonly labelledRows: number;
  readonly events: number;
}

/** Options of `evaluateDetection`. */
export interface EvaluateDetectionOptions {
  /** Rows after an event's end that still count for event recall (default 0). */
  eventToleranceRows: number;
  /** Range-based metric settings (defaults: `DEFAULT_RANGE_METRIC_OPTIONS`). */
  range: Partial<RangeMetricOptions>;
}

/** What the label-free measures need of a candle. */
export interface CandleLike {
  readonly openTime: number;
  readonly close: number;
  readonly volume: number;
}

/** The rule that calls a candle explainable by its own move or volume. */
export interface ExplainableOptions {
  /** Previous candles the move and volume are compared with (default 30). */
  lookback: number;
  /** |log return| above this many standard deviations of the previous returns (default 3). */
  returnSigmas: number;
  /** Volume above this many times the previous candles' median volume (default 3). */
  volumeMultiple: number;
}

export const DEFAULT_EXPLAINABLE_OPTIONS: Readonly<ExplainableOptions> = Object.freeze({
  lookback: 30,
  returnSigmas: 3,
  volumeMultiple: 3,
});

/** How many flags a plain move or volume spike explains, beside how common such candles are. */
export interface ExplainableShare {
  /** Explainable flagged candles / flagged candles (NaN with no flag). */
  readonly share: number;
  readonly explainableFlags: number;
  readonly flags: number;
  /** Explainable candles / all candles: the share a detector flagging at random would get. */
  readonly baseRate: number;
  /**
   * Flags on candles the rule cannot judge, having fewer than `lookback` candles before them in
   * the data (the first rows of a walk-forward run's folder): left out of `share`, `flags` and
   * `baseRate`, rather than counted as unexplained.
   */
  readonly undetermined: number;
}

/** Where in time the flags fall. */
export interface FlagSpread {
  readonly flags: number;
  /** Per UTC calendar year of the candle's time: flags, candles and the year's share of all flags. */
  readonly years: readonly { year: number; flags: number; candles: number; share: number }[];
  /** Share of the flags in the first 10% of the rows (NaN with no flag). */
  readonly earlyShare: number;
  /** Rows counted as the first 10%: floor(0.1 * rows). */
  readonly earlyRows: number;
}

/** Weights of one NAB application profile (NAB's `config/profiles.json`). */
export interface NabCostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
}

export const NAB_PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;
export type NabProfileName = (typeof NAB_PROFILE_NAMES)[number];

/** NAB v1.1's three profiles, as in its `config/profiles.json`. */
export const NAB_PROFILES: Readonly<Record<NabProfileName, NabCostMatrix>> = Object.freeze({
  standard: Object.freeze({ tpWeight: 1, fpWeight: 0.11, fnWeight: 1 }),
  reward_low_FP_rate: Object.freeze({ tpWeight: 1, fpWeight: 0.22, fnWeight: 1 }),
  reward_low_FN_rate: Object.freeze({ tpWeight: 1, fpWeight: 0.11, fnWeight: 2 }),
});

export interface NabOptions {
  /**
   * Share of each file's rows, capped at `probationaryPercent * 5000` rows, that is not scored
   * (default 0.15, NAB's): a detector is learning there.
   */
  probationaryPercent: number;
}

export const DEFAULT_NAB_OPTIONS: Readonly<NabOptions> = Object.freeze({ probationaryPercent: 0.15 });

/** One series (one NAB data file) with a detector's raw anomaly scores and its label windows. */
export interface NabSeries {
  /** A unique name, e.g. `realKnownCause/nyc_taxi.csv`: windows are told apart by it. */
  readonly name: string;
  /** Row times (ms); every window's start and end must be one of them, as NAB requires. */
  readonly timestamps: ArrayLike<number>;
  /** Raw anomaly scores, higher = more anomalous (NAB's `anomaly_score`, usually in [0, 1]). */
  readonly scores: ArrayLike<number>;
  /** Label windows, in time order. */
  readonly windows: readonly TimeRange[];
}

/** One row after NAB's sweep: what a detection there would earn. */
export interface NabSweepRow {
  readonly score: number;
  /** Weighted NAB value of a detection at this row (TP inside a window, FP outside). */
  readonly sweepScore: number;
  /** `series|windowStart` inside a window, null outside, `probationary` in the probationary rows. */
  readonly window: string | null;
}

/** Counts and NAB score of detecting every row whose anomaly score is >= threshold. */
export interface NabThresholdScore {
  readonly threshold: number;
  /** Raw NAB score: best TP value per detected window, -fnWeight per missed one, plus FP values. */
  readonly score: number;
  /** Scored rows (probationary rows left out) by their outcome. */
  readonly tp: number;
  readonly tn: number;
  readonly fp: number;
  readonly fn: number;
}

export interface NabFileScore extends NabThresholdScore {
  readonly name: string;
  /** All rows of the file, probationary ones included (NAB's `Total_Count`). */
  readonly rows: number;
}

/** A detector's NAB result on a corpus under one profile. */
export interface NabCorpusScore extends NabThresholdScore {
  /** Raw scores of the null detector (no detection) and of a perfect one (every window, earliest). */
  readonly nullScore: number;
  readonly perfectScore: number;
  /** 100 * (score - nullScore) / (perfectScore - nullScore): null = 0, perfect = 100 (NaN without windows). */
  readonly normalizedScore: number;
  readonly files: readonly NabFileScore[];
}

/** The file names `evaluate` writes (beside a run's files by default). */
export const EVALUATION_FILES = Object.freeze({
  report: 'evaluation.json',
  chart: 'chart_evaluation.png',
});

export const EVALUATION_FORMAT = 'crypto-anomaly-evaluation';
export const EVALUATION_FORMAT_VERSION = 1;

/** Which rows of a run are evaluated: all of them, or one split's (`test`: never fitted on). */
export type EvaluationSplit = 'all' | 'train' | 'validation' | 'test';

/** One detector's (or the consensus') per-row scores and flags, as a run wrote them. */
export interface ScoredSeries {
  /** `isolation-forest`, `autoencoder`, `attention` or `consensus`. */
  readonly name: string;
  /** Raw scores, higher = more anomalous (NaN where the detector could not score the row). */
  readonly scores: ArrayLike<number>;
  /** 1 where the row is flagged (score > threshold), else 0. */
  readonly flags: ArrayLike<number>;
  readonly threshold: number;
}

/** What an evaluation reads: the scored rows of one series and every detector's scores. */
export interface EvaluationInput {
  readonly symbol: string;
  /** Candle length in ms: a row stands for [openTime, openTime + intervalMs). */
  readonly intervalMs: number;
  /** Rows in time order: open time, close and volume (the label-free measures need them). */
  readonly candles: readonly CandleLike[];
  /** The split of each row (`train`, `validation`, `test`); absent: all rows are `test`. */
  readonly splits?: readonly string[];
  /** Detectors, then the consensus. */
  readonly detectors: readonly ScoredSeries[];
}

/** Where labels came from and how they were placed on the rows. */
export interface EvaluationLabels {
  /** `sample`, an events CSV or a NAB windows file (its path as given). */
  readonly source: string;
  /** The NAB windows file's key that was used. */
  readonly series?: string;
  /** Events as given (ms). */
  readonly events: readonly TimeRange[];
  /** Ms added on each side of every event (see `evaluateRun`). */
  readonly toleranceMs: number;
}

/** Options of `evaluateRun`. */
export interface EvaluateRunOptions {
  /** Rows evaluated (default `all`). */
  split: EvaluationSplit;
  /** Range-based metric settings (defaults: `DEFAULT_RANGE_METRIC_OPTIONS`). */
  range: Partial<RangeMetricOptions>;
  /** The label-free rule (defaults: `DEFAULT_EXPLAINABLE_OPTIONS`). */
  explainable: Partial<ExplainableOptions>;
  /** NAB's probationary share (default NAB's 0.15). */
  nab: Partial<NabOptions>;
}

export const DEFAULT_EVALUATE_RUN_OPTIONS: Readonly<EvaluateRunOptions> = Object.freeze({
  split: 'all',
  range: {},
  explainable: {},
  nab: {},
});

/** NAB's score of one detector under one profile. */
export interface NabProfileScore {
  /** Detecting exactly the run's flags. */
  readonly atThreshold: { readonly score: number; readonly normalizedScore: number } & Pick<
    NabThresholdScore,
    'tp' | 'tn' | 'fp' | 'fn'
  >;
  /**
   * At the threshold NAB's optimiser picks over these rows (as NAB's scoreboard does): what the
   * scores could reach at their best threshold, an upper bound, not a deployed result.
   */
  readonly optimized: {
    readonly threshold: number;
    readonly score: number;
    readonly normalizedScore: number;
  };
}

/** When a detector first flagged one event. */
export interface EventDetection {
  /** Open time (ISO, UTC) of the first flagged row of the event's labelled rows; null: no flag. */
  readonly firstFlag: string | null;
  /**
   * Candles from the event's own start (the candle it begins in, before the tolerance) to that
   * flag: 0 is the first candle; negative, a flag inside the tolerance before it. Null: no flag.
   */
  readonly delay: number | null;
  /** The event's highest score as a share of the unlabelled rows scored below it, in [0, 1]. */
  readonly peakPercentile: number;
}

/** One labelled event and what each detector made of it. */
export interface EventEvaluation {
  /** The event as given (ISO, UTC). */
  readonly start: string;
  readonly end: string;
  readonly label?: string;
  /** Its labelled rows after the tolerance (ISO open times); null when it covers none. */
  readonly rows: { readonly from: string; readonly to: string } | null;
  /** Per detector (and the consensus), by name; empty when the event covers no row. */
  readonly detections: Readonly<Record<string, EventDetection>>;
}

/** How soon a detector flags the events it catches, in candles (see `EventDetection.delay`). */
export interface DetectionDelay {
  /** Events with a flag. */
  readonly detected: number;
  /** Median and largest delay over them (NaN when none is detected). */
  readonly median: number;
  readonly max: number;
}

/** The events of one label (on the evaluated rows) and how soon each detector flagged them. */
export interface LabelDetections {
  readonly label: string;
  readonly events: number;
  /** Per detector (and the consensus), by name. */
  readonly detections: Readonly<Record<string, DetectionDelay>>;
}

/** Everything measured of one detector (or the consensus). */
export interface DetectorEvaluation {
  readonly name: string;
  readonly threshold: number;
  /** Flagged rows among the evaluated ones. */
  readonly flags: number;
  /** Measures against the labels; null without labels. */
  readonly labelled: DetectionQuality | null;
  /** NAB score per profile; null without labels. */
  readonly nab: Readonly<Record<NabProfileName, NabProfileScore>> | null;
  /** How soon its flags came after the events' starts; null without labels. */
  readonly delay: DetectionDelay | null;
  readonly explainable: ExplainableShare;
  readonly spread: FlagSpread;
}

/**
 * `evaluation.json`. Numbers that are undefined (a precision with no flag, an AUC without labelled
 * rows) are NaN in memory and `null` in the file.
 */
export interface EvaluationReport {
  readonly format: typeof EVALUATION_FORMAT;
  readonly formatVersion: typeof EVALUATION_FORMAT_VERSION;
  readonly createdAt: string;
  readonly symbol: string;
  readonly split: EvaluationSplit;
  /** Evaluated rows: how many, and the open times of the first and last (ISO, UTC). */
  readonly rows: { readonly count: number; readonly from: string | null; readonly to: string | null };
  readonly labels: {
    readonly source: string;
    readonly series?: string;
    readonly toleranceMs: number;
    readonly events: number;
    /** Events that cover no evaluated row (outside the rows' time span, or in another split). */
    readonly eventsOutside: number;
    readonly labelledRows: number;
    /** The labelled row spans after the tolerance, merged (ISO open times of the first and last row). */
    readonly ranges: readonly { readonly from: string; readonly to: string }[];
  } | null;
  /** The rule that calls a flag explainable. */
  readonly explainableRule: ExplainableOptions;
  readonly rangeMetric: RangeMetricOptions;
  /** Detectors, then the consensus. */
  readonly detectors: readonly DetectorEvaluation[];
  /** Every labelled event, in the order given, with each detector's first flag; null without labels. */
  readonly events: readonly EventEvaluation[] | null;
  /** Per label of the events that have one, in order of first appearance; null without labels. */
  readonly eventLabels: readonly LabelDetections[] | null;
  /** Where the evaluated scores came from (a run folder and its run id, or a model and a source). */
  readonly from?: Readonly<Record<string, string>>;
}
