import type { Interval, KlineSource } from '@crypto-anomaly/data';

/** The backend preferences accepted, in the order `auto` tries them after itself. */
export const BACKEND_PREFERENCES = Object.freeze(['auto', 'node', 'wasm', 'cpu'] as const);

/** Which TensorFlow.js backend to train on. `auto` takes the fastest one that loads. */
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

/**
 * A row-major matrix of float64 values: `data[row * cols + col]`. The same shape as the kernels'
 * `Matrix`, so either can be passed where the other is expected.
 */
export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** The detectors the pipeline trains, in order, by the names used in files, events and the CLI. */
export const DETECTOR_NAMES = Object.freeze(['isolation-forest', 'autoencoder', 'attention'] as const);

export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** The pipeline's stages, in order. */
export const STAGE_NAMES = Object.freeze([
  'load',
  'features',
  'preprocess',
  'isolation-forest',
  'autoencoder',
  'attention',
  'consensus',
  'outputs',
  'charts',
] as const);

export type StageName = (typeof STAGE_NAMES)[number];

/**
 * Everything the engine reports while it works, for a UI to render. The core never prints: a
 * terminal dashboard, a plain line logger or a test subscribes to these.
 */
export type PipelineEvent =
  | { type: 'backend'; name: string; description: string }
  | { type: 'source'; description: string }
  | {
      type: 'stage';
      stage: StageName;
      status: 'start' | 'done' | 'skipped' | 'failed';
      /** Wall time of the stage, on `done`/`failed`. */
      elapsedMs?: number;
      message?: string;
    }
  | {
      type: 'epoch';
      detector: Exclude<DetectorName, 'isolation-forest'>;
      epoch: number;
      epochs: number;
      loss: number;
      valLoss: number;
      bestValLoss: number;
      samplesPerSecond: number;
      /** Estimated time to the last epoch (early stopping may end sooner). */
      etaMs: number;
      /** Epochs without improvement left before early stopping. */
      patienceLeft: number;
    }
  | {
      type: 'batch';
      detector: Exclude<DetectorName, 'isolation-forest'>;
      epoch: number;
      batch: number;
      batches: number;
      loss: number;
    }
  | {
      type: 'early-stop';
      detector: Exclude<DetectorName, 'isolation-forest'>;
      epoch: number;
      bestEpoch: number;
    }
  | { type: 'isolation-forest-progress'; treesBuilt: number; trees: number }
  | {
      /**
       * A detector (or the consensus) has scored every row: sent as soon as it finished, long
       * before the outputs are written, so a UI can show its flags and top rows at once.
       */
      type: 'scored';
      detector: DetectorName | 'consensus';
      /** Rows scored (every row of the feature table). */
      rows: number;
      threshold: number;
      flagged: FlagCounts;
      /** Its most anomalous rows, most first: what `PipelineResult.topAnomalies` holds for it. */
      topAnomalies: AnomalyRow[];
    }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

export type PipelineEventListener = (event: PipelineEvent) => void;

/**
 * How a detector's threshold is set from its scores on the training rows:
 * - `contamination`: the (1 - contamination) quantile, so that fraction of training rows is flagged;
 * - `fixed`: a given score;
 * - `pot`: peaks over threshold (extreme value theory, as in SPOT, Siffer et al. 2017): a
 *   generalized Pareto distribution is fitted to the scores above the `initialQuantile`, and the
 *   threshold is the score exceeded with probability `riskQuantile`.
 */
export type ThresholdMethod =
  | { kind: 'contamination'; contamination: number }
  | { kind: 'fixed'; value: number }
  | { kind: 'pot'; riskQuantile: number; initialQuantile: number }
  | AdaptiveThresholdMethod;

/**
 * A threshold that adapts as scored rows arrive (streaming peaks over threshold, Siffer et al.,
 * KDD 2017): calibrated on the training scores like `pot`, then updated row by row in time order,
 * each row judged against the threshold as it stood before it. `spot` follows the tail of the raw
 * scores; `dspot` the scores minus the mean of the last `depth` normal ones (a drifting level).
 * Unset fields take `DEFAULT_SPOT_OPTIONS` (risk 0.01, initialQuantile 0.98, depth 50, maxPeaks
 * 250), except that an unset initialQuantile is lowered to 1 - 2·risk (at least 0.6) for risks
 * above 1%, so the initial threshold leaves enough peaks above it.
 */
export type AdaptiveThresholdMethod =
  | ({ kind: 'spot' } & Partial<Omit<SpotOptions, 'depth'>>)
  | ({ kind: 'dspot' } & Partial<SpotOptions>);

/** A threshold fitted on training scores, with the method that produced it. */
export interface FittedThreshold {
  value: number;
  method: ThresholdMethod;
  /** One line for people, e.g. "99th percentile of training scores (contamination 0.01)". */
  description: string;
}

export interface RunPipelineOptions {
  /** Where the candles come from (the bundled sample market, the local store, a CSV file). */
  source: KlineSource;
  symbol: string;
  interval: Interval;
  /** Unix ms; the first candle to load. */
  since?: number;
  /** Unix ms; load candles before this time. */
  until?: number;
  /** Folder for CSV files, summary.json and charts; created if missing. */
  outDir: string;
  seed?: number;
  backend?: BackendPreference;
  /**
   * Epochs of both autoencoders (early stopping may end sooner); a shortcut for
   * `config.autoencoder.epochs` and `config.attention.epochs`.
   */
  epochs?: number;
  /** Overrides of feature, split, preprocessing, threshold and detector settings (see `PipelineConfig`). */
  config?: PipelineConfigInput;
  /**
   * Folder to save the trained pipeline in (see `savePipeline`), so `detectWithPipeline` can score
   * new candles later. Default `<outDir>/model`; `false` saves nothing.
   */
  modelDir?: string | false;
  /** Render the PNG charts. Default true. */
  charts?: boolean;
  onEvent?: PipelineEventListener;
  /** Aborting stops at the next batch or stage boundary; no half-written file is left. */
  signal?: AbortSignal;
  /**
   * Walk-forward: instead of one split, re-fit the preprocessing, the detectors and the thresholds
   * on a trailing window and score only the next `step` candles, stepping through the history, so
   * every row in the files was judged by a model that had seen only the past (see
   * `WalkForwardOptions`). The files hold the scored rows (all `test`), summary.json the folds,
   * `model/` the last fold's model. An abort discards the run.
   */
  walkForward?: Partial<WalkForwardOptions> | boolean;
  /**
   * What an abort keeps. `discard` (default): nothing, the run throws the abort reason.
   * `keep-finished`: when at least one detector finished training, the run stops training,
   * scores with the finished detectors and writes the whole set without charts, marked
   * `partial` with the missing detectors named (`PipelineResult.partial`); before that, as
   * `discard`.
   */
  onAbort?: 'discard' | 'keep-finished';
}

/**
 * A walk-forward window or step: a number of candles, or a duration: a whole number and a unit,
 * `y` (365.25 days), `mo` (a twelfth of that), `w`, `d`, `h` or `m` (minutes), e.g. `2y`, `3mo`.
 */
export type WindowSize = number | string;

/** How a walk-forward run steps through the history (`RunPipelineOptions.walkForward`). */
export interface WalkForwardOptions {
  /**
   * The trailing candles each fold fits on (split into training and validation rows in the
   * config's train : validation ratio). Default: 2 years of candles, kept within [500, 10,000]
   * candles (every fold trains the autoencoders on it).
   */
  trainWindow: WindowSize;
  /**
   * The candles each fold scores after its window. Default: an eighth of the window (3 months
   * for 2 years), made longer when needed so that there are at most 24 folds.
   */
  step: WindowSize;
}

/** One fold of a walk-forward run, in summary.json. */
export interface WalkForwardFold {
  /** 0-based, in time order. */
  fold: number;
  /** The rows fitted on (training and validation), ISO times of the first and last. */
  window: { from: string; to: string; rows: number };
  /** The rows scored (in the files), right after the window. */
  scored: { from: string; to: string; rows: number };
  /** Each detector's and the consensus' threshold fitted on the window (adaptive ones: where they start). */
  thresholds: Partial<Record<DetectorName | 'consensus', number>>;
  /** Rows flagged in `scored`. */
  flagged: Partial<Record<DetectorName | 'consensus', number>>;
  elapsedMs: number;
}

/** summary.json's `walkForward`: the sizes used, in candles, and every fold. */
export interface WalkForwardSummary {
  trainWindow: number;
  step: number;
  /** Rows before the first fold's scored rows (its window): judged by no model, not in the files. */
  unscoredRows: number;
  folds: WalkForwardFold[];
}

/** One flagged or scored row, as the CLI's final table shows it. */
export interface AnomalyRow {
  time: number;
  close: number;
  score: number;
  threshold: number;
  isAnomaly: boolean;
  split: 'train' | 'validation' | 'test';
  /** Features that contributed most, most first. */
  topFeatures: string[];
}

export interface PipelineResult {
  outDir: string;
  /** Absolute paths of every file written, by role. */
  files: Record<string, string>;
  /** What summary.json holds. */
  summary: RunSummary;
  /** The most anomalous rows per detector (and `consensus`), most anomalous first. */
  topAnomalies: Record<DetectorName | 'consensus', AnomalyRow[]>;
  /** Id of this run, in summary.json and in the marker of every folder it wrote. */
  runId: string;
  /** Present when an abort kept what had finished (`onAbort: 'keep-finished'`). */
  partial?: PartialRun;
}

/** What a run stopped by an abort with `onAbort: 'keep-finished'` lacks. */
export interface PartialRun {
  /** Configured detectors that did not finish training (not in the files, nor in the consensus). */
  missingDetectors: DetectorName[];
  /** The charts are not rendered in a partial run, to stop promptly. */
  chartsSkipped: boolean;
}

/** The file that marks a folder crypto-anomaly wrote (see `FolderMarker`). */
export const FOLDER_MARKER_FILE = '.crypto-anomaly.json';

/** The two kinds of folders crypto-anomaly writes and replaces. */
export type FolderKind = 'outputs' | 'model';

/**
 * `.crypto-anomaly.json`: marks a run's output folder or a saved model as written by this
 * program. Only such folders (or empty ones) are ever replaced, and only whole.
 */
export interface FolderMarker {
  format: 'crypto-anomaly-folder';
  kind: FolderKind;
  /** The run that wrote the set; summary.json carries the same id. */
  runId: string;
  createdAt: string;
  /** Every file of the set, relative to the folder, '/'-separated (the marker itself excluded). */
  files: string[];
  /** Written after an abort that kept the finished detectors only. */
  partial: boolean;
  /** Who wrote it, so a later run can tell a crashed writer's leftovers from a running one's. */
  writer: { pid: number; host: string };
}

/** The eleven classic features (the seed's), in column order. Formulas and reasons are in the README. */
export const FEATURE_NAMES = Object.freeze([
  'log_return',
  'volatility',
  'range',
  'body',
  'upper_shadow',
  'lower_shadow',
  'log_volume',
  'volume_zscore',
  'taker_buy_ratio',
  'trades_per_volume',
  'rsi',
] as const);

/**
 * The relative features, in column order: every level is measured against the same quantity over
 * the `levelWindow` candles before, so a column means the same in a thin 2017 market and a deep
 * 2026 one. Formulas and reasons are in the README.
 */
export const RELATIVE_FEATURE_NAMES = Object.freeze([
  'return_zscore',
  'relative_volatility',
  'relative_range',
  'body',
  'relative_upper_shadow',
  'relative_lower_shadow',
  'relative_volume',
  'volume_zscore',
] as const);

/** The feature sets `FeatureOptions.set` chooses from, each with its columns in order. */
export const FEATURE_SETS = Object.freeze({
  classic: FEATURE_NAMES,
  relative: RELATIVE_FEATURE_NAMES,
});

export type FeatureSetName = keyof typeof FEATURE_SETS;

export type FeatureName = (typeof FEATURE_NAMES)[number] | (typeof RELATIVE_FEATURE_NAMES)[number];

/** Which features are computed, and the windows of the rolling ones, in candles. */
export interface FeatureOptions {
  /**
   * `relative` (the default): levels against their own recent past, for histories whose market
   * grew or changed (see the README); `classic`: the seed's eleven features.
   */
  set: FeatureSetName;
  /** Window of the rolling standard deviation of log returns (`volatility`). Default 24. */
  volatilityWindow: number;
  /** Window of the rolling mean and deviation of log volume (`volume_zscore`). Default 24. */
  volumeWindow: number;
  /** Wilder's RSI period (`rsi`). Default 14. */
  rsiPeriod: number;
  /** Candles before t the relative features compare candle t with (medians, deviations). Default 50. */
  levelWindow: number;
  /**
   * Window of the standard deviation of log returns that `relative_volatility` compares with its
   * usual level (relative set). Default 8: one large move then stays in it for 8 candles, not a
   * day of hourly candles, and a volatility break shows within a few candles (README, section 6).
   */
  relativeVolatilityWindow: number;
}

/**
 * The feature matrix of a kline series. Its first rows (the warm-up, while rolling windows fill)
 * have been dropped; row `r` belongs to candle `warmupRows + r`.
 */
export interface FeatureTable {
  /** The columns of `matrix`: the names of the chosen feature set. */
  names: FeatureName[];
  /** rows × features. */
  matrix: Matrix;
  /** Open time (Unix ms) of each kept row's candle. */
  times: Float64Array;
  /** Close price of each kept row's candle. */
  close: Float64Array;
  /** Candles dropped at the start because a rolling window was not yet full. */
  warmupRows: number;
  options: FeatureOptions;
  /**
   * The eleven classic features (`FEATURE_NAMES`) of the same rows when `names` is another set:
   * the processed-data CSV keeps them beside the columns the detectors use.
   */
  classic?: Matrix;
}

/** Chronological split fractions; the test part gets the rest. */
export interface SplitOptions {
  /** Fraction of rows (oldest first) the detectors and the preprocessor are fitted on. Default 0.7. */
  train: number;
  /** Fraction after the training rows, for early stopping. Default 0.15 (test: the last 0.15). */
  validation: number;
}

export type SplitName = 'train' | 'validation' | 'test';

/** Row ranges [start, end) of the three parts of a chronological split. */
export interface SplitRanges {
  train: { start: number; end: number };
  validation: { start: number; end: number };
  test: { start: number; end: number };
}

export type ScalerKind = 'standard' | 'robust';

export interface PreprocessOptions {
  /**
   * `standard`: (x - mean) / standard deviation; `robust`: (x - median) / (IQR / 1.349), which
   * training anomalies move less. Both fitted on the training rows. Default `standard`
   * (winsorizing already bounds the extremes that would inflate the standard deviation).
   */
  scaler: ScalerKind;
  /**
   * Quantiles of the training rows each feature is clipped to (kernels' `winsorizeBounds`), or
   * `false` to not clip. Default { lower: 0.001, upper: 0.999 }.
   */
  winsorize: { lower: number; upper: number } | false;
  /**
   * Non-negative, right-skewed features transformed to ln(x + c) before clipping and scaling, c
   * fitted on the training rows. Default volatility, range, upper_shadow, lower_shadow,
   * trades_per_volume.
   */
  logFeatures: FeatureName[];
}

/** Settings of the Isolation Forest detector (the kernels' forest). */
export interface IsolationForestDetectorOptions {
  /** Trees. Default 200. */
  nEstimators: number;
  /** Rows sampled per tree. Default 256 (Liu et al.'s choice). */
  maxSamples: number;
  /** 0 = axis-parallel cuts (classic forest); up to features - 1 for the extended forest. Default 0. */
  extensionLevel: number;
  /** Threads for fitting and scoring (the kernels' worker pool). Default 1. */
  threads: number;
  /** Seed of tree growth; default the pipeline's seed. */
  seed: number;
  /** How the fitted threshold is chosen. Default `DEFAULT_THRESHOLD`. */
  threshold: ThresholdMethod;
}

/** Every setting of the pipeline, with documented defaults in `DEFAULT_PIPELINE_CONFIG`. */
export interface PipelineConfig {
  features: FeatureOptions;
  split: SplitOptions;
  preprocess: PreprocessOptions;
  /** Threshold method of every detector unless one sets its own. Default 1% contamination. */
  threshold: ThresholdMethod;
  /** Which detectors to train, in order. Default all three. */
  detectors: DetectorName[];
  isolationForest: Partial<IsolationForestDetectorOptions>;
  /** Options of the dense autoencoder (its own defaults apply to what is not set). */
  autoencoder: Record<string, unknown>;
  /** Options of the attention autoencoder (its own defaults apply to what is not set). */
  attention: Record<string, unknown>;
  /** Contributing features named per row in the anomaly files. Default 3. */
  topFeatures: number;
}

/** `PipelineConfig` with every field optional, one level deep. */
export type PipelineConfigInput = {
  [K in keyof PipelineConfig]?: PipelineConfig[K] extends unknown[] | ThresholdMethod | number
    ? PipelineConfig[K]
    : Partial<PipelineConfig[K]>;
};

/** How an autoencoder's training went, epoch by epoch (in summary.json and the saved model). */
export interface TrainingHistory {
  /** Mean training loss per epoch. */
  loss: number[];
  /** Validation loss per epoch (the training loss again when no validation rows were given). */
  valLoss: number[];
  /** Which loss early stopping watched. */
  monitor: 'validation' | 'training';
  /** 1-based epoch whose weights were kept. */
  bestEpoch: number;
  bestValLoss: number;
  stoppedEarly: boolean;
  /** The most epochs allowed (`epochs`); bestEpoch equal to it means training ended on the cap, not a plateau. */
  epochCap?: number;
  /**
   * The monitored loss still fell by at least `minImprovement` (relative) in the last epoch run. With
   * the best epoch at the cap, training was cut short; without it (a learning rate annealed to the
   * cap, say), the loss had settled.
   */
  stillFalling?: boolean;
  epochsRun: number;
  elapsedMs: number;
  /** Training samples per second over the whole run. */
  samplesPerSecond: number;
}

/** What a saved pipeline was trained on (in pipeline.json and summary.json). */
export interface TrainedOn {
  symbol: string;
  interval: Interval;
  source: string;
  /** Open times of the first and last feature rows, Unix ms. */
  from: number;
  to: number;
  rows: { train: number; validation: number; test: number };
  /** Open time of the first validation row, and of the first test row (null when none). */
  validationFrom: number;
  testFrom: number | null;
}

/** Counts of flagged rows, in all and per split. */
export interface FlagCounts {
  total: number;
  train: number;
  validation: number;
  test: number;
}

/** One detector's (or the consensus') part of summary.json. */
export interface DetectorSummary {
  /** How the consensus combines the detectors (consensus only). */
  method?: string;
  threshold: FittedThreshold;
  /**
   * When the threshold varied row by row (adaptive `spot` / `dspot`, walk-forward folds): its
   * range and last value; each row's is in the anomalies CSV.
   */
  rowThresholds?: { min: number; max: number; last: number };
  flagged: FlagCounts;
  /** How training went (autoencoders, in `run` and `train`). */
  training?: Pick<
    TrainingHistory,
    'epochsRun' | 'bestEpoch' | 'bestValLoss' | 'stoppedEarly' | 'samplesPerSecond' | 'elapsedMs'
  > & {
    /** The most epochs allowed. */
    epochCap?: number;
    /** The best epoch was the last one allowed. */
    bestAtCap?: boolean;
    /**
     * The loss still fell by at least `minImprovement` in the last epoch: with `bestAtCap`, more
     * epochs would likely have helped (a warning says so).
     */
    stillFalling?: boolean;
  };
}

/** Pairwise agreement of the detectors: Jaccard of flagged rows, Spearman of scores. */
export interface DetectorAgreement {
  detectors: DetectorName[];
  /** By "a / b" for each pair. */
  pairs: Record<string, { jaccard: number; spearman: number }>;
  jaccard: number[][];
  spearman: number[][];
}

/** summary.json: what a run (`run`, `train` with outputs, `detect`) did and found. */
export interface RunSummary {
  runId: string;
  mode: 'run' | 'train' | 'detect';
  /** True when an abort kept only the detectors that finished. */
  partial: boolean;
  missingDetectors?: DetectorName[];
  symbol: string;
  interval: Interval;
  /** `describe()` of the source. */
  source: string;
  createdAt: string;
  versions: {
    core: string;
    kernels?: string;
    data?: string;
    /** tfjs-core's version. */
    tensorflow: string;
    node: string;
    formats: { pipeline: number; isolationForest: number; autoencoder: number; attention: number };
  };
  backend: { name: string; description: string } | null;
  rows: {
    candles: number;
    warmupDropped: number;
    scored: number;
    train: number;
    validation: number;
    test: number;
  };
  /** ISO times of the first and last scored rows. */
  range: { from: string; to: string };
  trainedOn: TrainedOn;
  features: string[];
  config: PipelineConfig;
  detectors: Partial<Record<DetectorName | 'consensus', DetectorSummary>>;
  agreement: DetectorAgreement;
  /** The folds of a walk-forward run (`mode` run). */
  walkForward?: WalkForwardSummary;
  /** Milliseconds per stage, and `total`. */
  timings: Record<string, number>;
  /** Absolute paths of every file of the set, by role (summary.json itself included). */
  files: Record<string, string>;
}

/**
 * Which threshold decides a streamed candle: the one fitted at training (`fitted`), or one that
 * adapts to the stream by peaks over threshold (Siffer et al., KDD 2017): `spot` on the raw
 * scores, `dspot` on the scores minus their recent moving average (follows a drifting level).
 */
export type ThresholdKind = 'fitted' | 'spot' | 'dspot';

/** One detector's (or the consensus') verdict on one streamed candle. */
export interface StreamDetectorScore {
  name: DetectorName | 'consensus';
  /** The raw score (`decisionFunction`); for the consensus, its mean percentile in [0, 1]. */
  score: number;
  /** The threshold in force for this candle (before the candle updated it). */
  threshold: number;
  thresholdKind: ThresholdKind;
  /** `score > threshold`. */
  flagged: boolean;
}

/** One closed candle of one symbol, scored by every detector of its model and the consensus. */
export interface CandleScore {
  symbol: string;
  interval: Interval;
  openTime: number;
  close: number;
  logReturn: number;
  /** |log return| / standard deviation of the previous `contextWindow` log returns. */
  returnVolatilityMultiple: number;
  volume: number;
  /** Volume / median volume of the previous `contextWindow` candles. */
  volumeMedianMultiple: number;
  /** Each detector of the model, in the model's order, then `consensus` last. */
  detectors: StreamDetectorScore[];
  /** The features that contributed most to this candle's deviation, most first. */
  topFeatures: { feature: string; share: number }[];
}

/** A flagged detector (or the consensus) on one candle: what a trader is told. */
export interface Alert {
  /** `${symbol}:${interval}:${openTime}:${detector}`: stable across restarts. */
  id: string;
  symbol: string;
  interval: Interval;
  openTime: number;
  /** ISO UTC of `openTime`. */
  time: string;
  close: number;
  logReturn: number;
  returnVolatilityMultiple: number;
  volume: number;
  volumeMedianMultiple: number;
  /** The one that fired. */
  detector: DetectorName | 'consensus';
  /** Which threshold fired. */
  thresholdKind: ThresholdKind;
  /** Every detector's score and threshold on this candle. */
  scores: StreamDetectorScore[];
  topFeatures: { feature: string; share: number }[];
  /** One line for people, e.g. "return -4.1% = 5.2x recent volatility; volume 3.4x median; top: log_return, range". */
  reason: string;
  /**
   * How its candle arrived, where a live source says (`watch` and the bus workers set it):
   * `stream` as it closed; `backfill` fetched over REST after a lost connection, so the alert comes
   * late; `replay` from stored history.
   */
  via?: 'stream' | 'backfill' | 'replay';
}

/**
 * Settings of a streaming peaks-over-threshold threshold (SPOT / DSPOT, Siffer et al., KDD 2017).
 * Scores above the initial threshold t are peaks: a generalized Pareto distribution fitted on their
 * excesses gives z, the score exceeded with probability `risk`; a score above z is an anomaly (and
 * left out of the fit), a peak below it re-fits z.
 */
export interface SpotOptions {
  /**
   * q, the probability that a normal score exceeds the threshold. Default: the share of training
   * scores above the detector's fitted threshold (its contamination), so both start alike.
   */
  risk: number;
  /** Quantile of the calibration scores taken as the initial threshold t. Default 0.98. */
  initialQuantile: number;
  /** DSPOT: the scores whose moving average is subtracted (d, the last normal ones). Default 50. */
  depth: number;
  /** Most recent peaks the distribution is fitted on (bounds memory and refit time). Default 250. */
  maxPeaks: number;
}

/** Options of a `StreamScorer` (one per symbol). */
export interface StreamScorerOptions {
  symbol: string;
  /** One of the data package's `INTERVALS`, the model's own unless `allowOtherInterval`. */
  interval: Interval;
  /**
   * Score candles of another interval than the model's `trainedOn`. Default false: refused
   * (MODEL_MISMATCH), since the model's windows count candles of its own interval and its
   * thresholds were fitted to them. Another symbol is accepted (its thresholds were fitted to
   * another market: `TrainedPipeline.mismatchWarnings` words it).
   */
  allowOtherInterval: boolean;
  /** Threshold of every detector (and of the consensus with `adaptiveConsensus`). Default `dspot`. */
  thresholds: ThresholdKind;
  /** Candles of the return-volatility and volume-median multiples. Default 30. */
  contextWindow: number;
  /** Settings of the adaptive thresholds (`spot`, `dspot`). */
  spot: Partial<SpotOptions>;
  /**
   * Consensus scores of the stream SPOT/DSPOT calibrates the consensus on (the model keeps no
   * distribution of its training consensus); until then the fitted consensus threshold holds.
   * Default 200.
   */
  consensusCalibration: number;
  /**
   * Whether the consensus threshold adapts too (SPOT/DSPOT on its stream after
   * `consensusCalibration` scores). Default false: the consensus is already relative (each score's
   * percentile among its detector's training scores) and its fitted threshold holds. Measured on a
   * replay of BTCUSDT 1h 2025-01 to 2026-04 with a model of 2018-2024: the adaptive consensus
   * alerted on 683 of 11,629 candles, 20% of them explainable by return or volume; the fitted one
   * on 227, 47% explainable (8.4% of all candles are).
   */
  adaptiveConsensus: boolean;
}
