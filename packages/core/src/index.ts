export type {
  AnomalyRow,
  DetectorName,
  PipelineEvent,
  PipelineEventListener,
  PipelineResult,
  RunPipelineOptions,
  StageName,
  ThresholdMethod,
} from './api.js';
export { type BackendInfo, type BackendPreference, selectBackend } from './backend.js';
export { CoreError, type CoreErrorCode, isCoreError } from './errors.js';
