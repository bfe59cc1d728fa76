import { DETECTOR_NAMES, type DetectorName, type PipelineConfig, type PipelineConfigInput } from './api.js';
import { describeConfigIssues, pipelineConfigSchema } from './config-schema.js';
import { CoreError } from './errors.js';
import { DEFAULT_FEATURE_OPTIONS } from './features.js';
import {
  DEFAULT_LOG_FEATURES,
  DEFAULT_PREPROCESS_OPTIONS,
  DEFAULT_SPLIT,
  resolveSplit,
} from './preprocess.js';
import { DEFAULT_THRESHOLD } from './thresholds.js';
import { assertInteger } from './validate.js';

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

/**
 * Merges a partial config over the defaults (one level deep) after checking it with
 * `pipelineConfigSchema`, the schema the CLI's config file uses too: a wrong key is named by its
 * path (`config.split.train: …`). The detectors check their sections' ranges when they are built.
 * `seed` and `epochs` are the top-level shortcuts of `RunPipelineOptions`.
 */
export function resolvePipelineConfig(
  input: PipelineConfigInput = {},
  shortcuts: { seed?: number; epochs?: number } = {},
): PipelineConfig {
  const parsed = pipelineConfigSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const problems = describeConfigIssues(pipelineConfigSchema, parsed.error.issues, 'config');
    throw new CoreError('INVALID_ARGUMENT', `${problems.join('; ')}.`);
  }
  const config: PipelineConfigInput = parsed.data;
  const threshold = config.threshold ?? DEFAULT_THRESHOLD;
  const detectors = config.detectors ?? [...DETECTOR_NAMES];
  const seed = shortcuts.seed ?? DEFAULT_SEED;
  assertInteger('seed', seed, 0, 2 ** 32 - 1);
  if (shortcuts.epochs !== undefined) assertInteger('epochs', shortcuts.epochs, 1, 100_000);
  const epochs = shortcuts.epochs === undefined ? {} : { epochs: shortcuts.epochs };
  const features = { ...DEFAULT_FEATURE_OPTIONS, ...config.features };
  return {
    features,
    // The sum rule again, now that the defaults fill what was not given.
    split: resolveSplit(config.split),
    // The log-transformed features default to the configured feature set's.
    preprocess: {
      ...DEFAULT_PREPROCESS_OPTIONS,
      logFeatures: [...DEFAULT_LOG_FEATURES[features.set]],
      ...config.preprocess,
    },
    threshold,
    detectors: [...new Set(detectors)],
    // The pipeline's seed and threshold unless a section sets its own.
    isolationForest: { seed, threshold, ...config.isolationForest },
    autoencoder: { seed, threshold, ...epochs, ...config.autoencoder },
    attention: { seed, threshold, ...epochs, ...config.attention },
    topFeatures: config.topFeatures ?? DEFAULT_PIPELINE_CONFIG.topFeatures,
  };
}
