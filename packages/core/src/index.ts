export type {
  AnomalyRow,
  DetectorName,
  FittedThreshold,
  Matrix,
  PipelineEvent,
  PipelineEventListener,
  PipelineResult,
  RunPipelineOptions,
  StageName,
  ThresholdMethod,
} from './api.js';
export { type BackendInfo, type BackendPreference, selectBackend } from './backend.js';
export { BaseDetector, type Detector, type FitContext } from './detectors/detector.js';
export { CoreError, type CoreErrorCode, isCoreError } from './errors.js';
export {
  assertThresholdMethod,
  DEFAULT_POT,
  DEFAULT_THRESHOLD,
  fitGeneralizedPareto,
  fitThreshold,
  quantileOf,
} from './thresholds.js';
