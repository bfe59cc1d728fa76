import {
  DETECTOR_NAMES,
  type DetectorName,
  type PipelineConfig,
  type PipelineConfigInput,
  type ThresholdMethod,
} from './api.js';
import { CoreError } from './errors.js';
import { DEFAULT_FEATURE_OPTIONS, resolveFeatureOptions } from './features.js';
import { DEFAULT_PREPROCESS_OPTIONS, DEFAULT_SPLIT, resolveSplit } from './preprocess.js';
import { assertThresholdMethod, DEFAULT_THRESHOLD } from './thresholds.js';
import { assertInteger, describeValue } from './validate.js';

/** The pipeline's seed when none is given. */
export const DEFAULT_SEED = 42;

/**
 * Every default of the pipeline. Detector sections are empty: each detector's own documented
 * defaults apply (see the README), except `seed` and `threshold`, which come from the pipeline.
 */
export const DEFAULT_PIPELINE_CONFIG: Readonly<PipelineConfig> = Object.freeze({
  features: DEFAULT_FEATURE_OPTIONS,
  split: DEFAULT_SPLIT,
  preprocess: DEFAULT_PREPROCESS_OPTIONS,
  threshold: DEFAULT_THRESHOLD,
  detectors: DETECTOR_NAMES as readonly DetectorName[] as DetectorName[],
  isolationForest: Object.freeze({}),
  autoencoder: Object.freeze({}),
  attention: Object.freeze({}),
  topFeatures: 3,
});

const SECTIONS = Object.keys(DEFAULT_PIPELINE_CONFIG) as (keyof PipelineConfig)[];

/**
 * Merges a partial config over the defaults (one level deep) and validates what the pipeline
 * itself reads; the detectors validate their own sections when they are built. `seed` and
 * `epochs` are the top-level shortcuts of `RunPipelineOptions`.
 */
export function resolvePipelineConfig(
  input: PipelineConfigInput = {},
  shortcuts: { seed?: number; epochs?: number } = {},
): PipelineConfig {
  if (input === null || typeof input !== 'object') {
    throw new CoreError('INVALID_ARGUMENT', `config must be an object, got ${describeValue(input)}.`);
  }
  for (const key of Object.keys(input)) {
    if (!SECTIONS.includes(key as keyof PipelineConfig)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `Unknown config section "${key}": the sections are ${SECTIONS.join(', ')}.`,
      );
    }
  }
  const threshold = assertThresholdMethod((input.threshold ?? DEFAULT_THRESHOLD) as ThresholdMethod);
  const detectors = [...(input.detectors ?? DETECTOR_NAMES)];
  if (detectors.length === 0) {
    throw new CoreError('INVALID_ARGUMENT', 'config.detectors must name at least one detector.');
  }
  for (const name of detectors) {
    if (!DETECTOR_NAMES.includes(name)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `config.detectors has "${name}": the detectors are ${DETECTOR_NAMES.join(', ')}.`,
      );
    }
  }
  const seed = shortcuts.seed ?? DEFAULT_SEED;
  assertInteger('seed', seed, 0, 2 ** 32 - 1);
  if (shortcuts.epochs !== undefined) assertInteger('epochs', shortcuts.epochs, 1, 100_000);
  const epochs = shortcuts.epochs === undefined ? {} : { epochs: shortcuts.epochs };
  const topFeatures = input.topFeatures ?? DEFAULT_PIPELINE_CONFIG.topFeatures;
  assertInteger('config.topFeatures', topFeatures, 1, 11);
  return {
    features: resolveFeatureOptions(input.features),
    split: resolveSplit(input.split),
    preprocess: { ...DEFAULT_PREPROCESS_OPTIONS, ...input.preprocess },
    threshold,
    detectors: [...new Set(detectors)],
    // The pipeline's seed and threshold unless a section sets its own.
    isolationForest: { seed, threshold, ...input.isolationForest },
    autoencoder: { seed, threshold, ...epochs, ...input.autoencoder },
    attention: { seed, threshold, ...epochs, ...input.attention },
    topFeatures,
  };
}
