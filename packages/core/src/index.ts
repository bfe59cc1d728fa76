// The public API of @crypto-anomaly/core: what a user of the engine needs. Everything else is
// internal (tests import it from its module). Importing this loads neither TensorFlow.js nor the
// chart renderer: the autoencoders and renderChartPng load them on first use.
export {
  type AdaptiveThresholdMethod,
  type Alert,
  type AnomalyRow,
  type BackendPreference,
  type CandleScore,
  DETECTOR_NAMES,
  type DetectorAgreement,
  type DetectorName,
  type DetectorSummary,
  FEATURE_NAMES,
  FEATURE_SETS,
  type FeatureName,
  type FeatureOptions,
  type FeatureSetName,
  type FeatureTable,
  type FittedThreshold,
  type FlagCounts,
  FOLDER_MARKER_FILE,
  type FolderKind,
  type FolderMarker,
  type IsolationForestDetectorOptions,
  type Matrix,
  type PartialRun,
  type PipelineConfig,
  type PipelineConfigInput,
  type PipelineEvent,
  type PipelineEventListener,
  type PipelineResult,
  type PreprocessOptions,
  RELATIVE_FEATURE_NAMES,
  type RunPipelineOptions,
  type RunSummary,
  type ScalerKind,
  type SplitName,
  type SplitOptions,
  type SplitRanges,
  type SpotOptions,
  STAGE_NAMES,
  type StageName,
  type StreamDetectorScore,
  type StreamScorerOptions,
  type ThresholdKind,
  type ThresholdMethod,
  type TrainedOn,
  type TrainingHistory,
  type WalkForwardFold,
  type WalkForwardOptions,
  type WalkForwardSummary,
  type WindowSize,
} from './api.js';
export { type BackendInfo, selectBackend } from './backend.js';
export { DEFAULT_PIPELINE_CONFIG, DEFAULT_SEED, resolvePipelineConfig } from './config.js';
export {
  CONTAMINATION_RULE,
  configKeyPath,
  describeConfigIssues,
  isContamination,
  pipelineConfigSchema,
  thresholdMethodSchema,
} from './config-schema.js';
export {
  ATTENTION_AUTOENCODER_FORMAT_VERSION,
  AttentionAutoencoder,
  type AttentionAutoencoderOptions,
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
} from './detectors/attention-autoencoder.js';
export { type LearningRateSchedule, learningRateAt } from './detectors/autoencoder.js';
export {
  DEFAULT_DENSE_AUTOENCODER_OPTIONS,
  DENSE_AUTOENCODER_FORMAT_VERSION,
  type DenseActivation,
  DenseAutoencoder,
  type DenseAutoencoderOptions,
} from './detectors/dense-autoencoder.js';
export { BaseDetector, type Detector, type FitContext } from './detectors/detector.js';
export {
  DEFAULT_ISOLATION_FOREST_OPTIONS,
  ISOLATION_FOREST_FORMAT_VERSION,
  IsolationForestDetector,
} from './detectors/isolation-forest.js';
export { CoreError, type CoreErrorCode, isCoreError } from './errors.js';
export {
  type CandleLike,
  type CardinalityFactor,
  DEFAULT_EVALUATE_RUN_OPTIONS,
  DEFAULT_EXPLAINABLE_OPTIONS,
  DEFAULT_LABEL_OPTIONS,
  DEFAULT_NAB_OPTIONS,
  DEFAULT_RANGE_METRIC_OPTIONS,
  type DetectionDelay,
  type DetectionQuality,
  type DetectorEvaluation,
  EVALUATION_FILES,
  EVALUATION_FORMAT,
  EVALUATION_FORMAT_VERSION,
  type EvaluateDetectionOptions,
  type EvaluateRunOptions,
  type EvaluationInput,
  type EvaluationLabels,
  type EvaluationReport,
  type EvaluationSplit,
  type EventDetection,
  type EventEvaluation,
  type ExplainableOptions,
  type ExplainableShare,
  type FlagSpread,
  type LabelDetections,
  type LabelOptions,
  type LabelRange,
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  type NabCorpusScore,
  type NabCostMatrix,
  type NabFileScore,
  type NabOptions,
  type NabProfileName,
  type NabProfileScore,
  type NabSeries,
  type NabThresholdScore,
  type PositionalBias,
  type RangeMetricOptions,
  type ScoredSeries,
  type SeriesLabels,
  type TimeRange,
} from './evaluation/api.js';
export { averagePrecision, eventRecall, flagMetrics, rocAuc } from './evaluation/classification.js';
export { evaluateDetection } from './evaluation/evaluate.js';
export { eventsCaughtRows, formatDelay } from './evaluation/events-caught.js';
export {
  labelsFromEvents,
  parseEventsCsv,
  parseNabWindows,
  parseTime,
  rangesFromFlags,
  rowLabels,
} from './evaluation/labels.js';
export {
  nabScaledSigmoid,
  optimizeNabThreshold,
  runNabBenchmark,
  scoreNabCorpus,
  scoreNabSeries,
} from './evaluation/nab.js';
export {
  DEFAULT_NAB_TWIDDLE_OPTIONS,
  type NabTwiddleOptions,
  nabCurveAt,
  nabThresholdCurve,
  twiddleNabThreshold,
} from './evaluation/nab-optimize.js';
export { rangePrecision, rangeRecall } from './evaluation/range-based.js';
export { evaluateRun } from './evaluation/run-evaluation.js';
export {
  type AnomaliesFile,
  type RunScores,
  readAnomaliesFile,
  readRunScores,
} from './evaluation/run-folder.js';
export { evaluationInputFromScores, type StoredScoreRow } from './evaluation/stored-scores.js';
export {
  explainableCandles,
  explainableShare,
  explainableShareOf,
  flagSpread,
} from './evaluation/unlabelled.js';
export { prepareEvaluationTarget, writeEvaluation } from './evaluation/write-evaluation.js';
export { computeFeatures, DEFAULT_FEATURE_OPTIONS, featureNamesOf, warmupRowsFor } from './features.js';
export {
  PIPELINE_FORMAT,
  PIPELINE_FORMAT_VERSION,
  type PipelineManifest,
  readManifest,
} from './model-manifest.js';
// The charts' Vega-Lite specs and their offline renderer (README section 4, "Charts").
export {
  agreementSpec,
  type ChartDetector,
  type ChartOptions,
  chartSubject,
  type LabelBand,
  type LossHistory,
  labelBandLayers,
  lossSpec,
  priceAnomaliesSpec,
  renderChartPng,
  renderChartSvg,
  scoresSpec,
  timeEncoding,
  usesLogPrice,
  type VegaLiteSpec,
} from './outputs/charts.js';
export {
  type EvaluationChartDetector,
  type EvaluationChartInput,
  evaluationChartSpec,
  renderEvaluationChart,
} from './outputs/evaluation-chart.js';
export {
  assertHtmlReportTarget,
  formatTolerance,
  HTML_REPORT_SIGNATURE,
  type HtmlReportDetector,
  type HtmlReportInput,
  htmlReport,
  writeHtmlReport,
} from './outputs/html-report.js';
export { prepareTarget, readFolderMarker } from './outputs/owned-folder.js';
export { ANOMALY_FILES, assertSeparateFolders, CHART_FILES } from './pipeline/artifacts.js';
export { automaticTrainingStride } from './pipeline/fit.js';
export {
  DEFAULT_TABLE_SAMPLE_ROWS,
  type FitTableOptions,
  fitTablePipeline,
  type TableChunkScores,
  TableSample,
  type TableSampleOptions,
  TableScorer,
} from './pipeline/fit-table.js';
export {
  type DetectOptions,
  detectWithPipeline,
  runPipeline,
  type TrainPipelineOptions,
  type TrainPipelineResult,
  trainPipeline,
} from './pipeline/run-pipeline.js';
export {
  type DetectorScores,
  type FittedDetector,
  type ScoredTable,
  type ScoreOptions,
  type TableTrainedOn,
  TrainedPipeline,
  type TrainedPipelineParts,
} from './pipeline/trained-pipeline.js';
export {
  candlesIn,
  durationMs,
  planWalkForward,
  WALK_FORWARD_DEFAULTS,
  type WalkForwardPlan,
} from './pipeline/walk-forward.js';
export {
  chronologicalSplit,
  DEFAULT_PREPROCESS_OPTIONS,
  DEFAULT_SPLIT,
  MIN_TRAIN_ROWS,
  Preprocessor,
  type PreprocessorJSON,
  splitLabels,
} from './preprocess.js';
export { consensusScores, type ScoreDistribution, scoreDistribution } from './ranking.js';
export { IncrementalFeatures } from './streaming/incremental-features.js';
export { DEFAULT_SPOT_OPTIONS, Spot, type SpotOutcome } from './streaming/spot.js';
export {
  alertsOf,
  DEFAULT_STREAM_SCORER_OPTIONS,
  StreamScorer,
  scoreMany,
} from './streaming/stream-scorer.js';
export {
  DEFAULT_UNIVARIATE_DETECTOR_OPTIONS,
  UnivariateDetector,
  type UnivariateDetectorOptions,
  upperTail,
} from './streaming/univariate-detector.js';
export { UnivariateFeatures } from './streaming/univariate-features.js';
export {
  DEFAULT_POT,
  DEFAULT_THRESHOLD,
  fitConsensusThreshold,
  fitThreshold,
  isAdaptiveThreshold,
  thresholdsPerRow,
} from './thresholds.js';
export { CORE_VERSION } from './version.js';
