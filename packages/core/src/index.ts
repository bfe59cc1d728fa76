export {
  type AnomalyRow,
  DETECTOR_NAMES,
  type DetectorName,
  FEATURE_NAMES,
  type FeatureName,
  type FeatureOptions,
  type FeatureTable,
  type FittedThreshold,
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
  type RunPipelineOptions,
  type ScalerKind,
  type SplitName,
  type SplitOptions,
  type SplitRanges,
  STAGE_NAMES,
  type StageName,
  type ThresholdMethod,
} from './api.js';
export { type BackendInfo, type BackendPreference, selectBackend } from './backend.js';
export {
  agreementSpec,
  type ChartDetector,
  downsampleIndices,
  type LossHistory,
  lossSpec,
  priceAnomaliesSpec,
  renderChartPng,
  type SplitBoundaries,
  scoresSpec,
  type VegaLiteSpec,
} from './charts.js';
export { DEFAULT_PIPELINE_CONFIG, DEFAULT_SEED, resolvePipelineConfig } from './config.js';
export {
  ATTENTION_AUTOENCODER_FORMAT_VERSION,
  AttentionAutoencoder,
  type AttentionAutoencoderOptions,
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
} from './detectors/attention-autoencoder.js';
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
export { createDetector, loadDetector, type PipelineDetector } from './detectors/registry.js';
export type { TrainingHistory } from './detectors/training.js';
export { CoreError, type CoreErrorCode, isCoreError } from './errors.js';
export {
  assertKlines,
  computeFeatureColumns,
  computeFeatures,
  DEFAULT_FEATURE_OPTIONS,
  relativeStrengthIndex,
  resolveFeatureOptions,
  warmupRowsFor,
} from './features.js';
export { writeFileAtomic, writeJsonAtomic } from './io.js';
export { averagePrecision, eventRecall, rocAuc } from './metrics.js';
export {
  type DetectorScores,
  type FittedDetector,
  PIPELINE_FORMAT,
  PIPELINE_FORMAT_VERSION,
  type PipelineManifest,
  readManifest,
  type ScoredTable,
  type TrainedOn,
  TrainedPipeline,
} from './model.js';
export {
  anomaliesCsv,
  isoTime,
  processedDataCsv,
  type ScoredHistory,
  topAnomalyRows,
  topContributors,
} from './outputs.js';
export { prepareTarget, readFolderMarker } from './owned-folder.js';
export {
  ANOMALY_FILES,
  assertSeparateFolders,
  automaticTrainingStride,
  CHART_FILES,
  type DetectOptions,
  detectWithPipeline,
  runPipeline,
  type TrainPipelineOptions,
  type TrainPipelineResult,
  trainPipeline,
} from './pipeline.js';
export {
  chronologicalSplit,
  DEFAULT_PREPROCESS_OPTIONS,
  DEFAULT_SPLIT,
  MIN_TRAIN_ROWS,
  Preprocessor,
  type PreprocessorJSON,
  resolveSplit,
  splitLabels,
} from './preprocess.js';
export {
  averageRanks,
  consensusScores,
  jaccard,
  pearson,
  percentileOf,
  rankNormalize,
  type ScoreDistribution,
  scoreDistribution,
  spearman,
} from './ranking.js';
export {
  assertThresholdMethod,
  DEFAULT_POT,
  DEFAULT_THRESHOLD,
  fitGeneralizedPareto,
  fitThreshold,
  quantileOf,
} from './thresholds.js';
export { CORE_VERSION } from './version.js';
