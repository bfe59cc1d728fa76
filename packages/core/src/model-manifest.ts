import { isAbsolute, join } from 'node:path';
import { INTERVALS } from '@crypto-anomaly/data';
import { z } from 'zod';
import {
  DETECTOR_NAMES,
  type DetectorName,
  FEATURE_NAMES,
  FEATURE_SETS,
  type FeatureOptions,
  type FeatureSetName,
  type FittedThreshold,
  type PipelineConfig,
  type TrainedOn,
} from './api.js';
import { resolvePipelineConfig } from './config.js';
import { CoreError } from './errors.js';
import { MANIFEST_FILE, parseModelFile, readModelJson } from './model-files.js';
import type { PreprocessorJSON } from './preprocess.js';
import type { ScoreDistribution } from './ranking.js';
import { assertThresholdMethod } from './thresholds.js';
import { describeValue } from './validate.js';
import { CORE_VERSION } from './version.js';

/** What a pipeline was trained on, saved with it and reported by `detect`. */

/** `pipeline.json`, the manifest of a saved pipeline. */
export interface PipelineManifest {
  format: typeof PIPELINE_FORMAT;
  formatVersion: number;
  coreVersion: string;
  createdAt: string;
  featureSet: { names: string[]; options: FeatureOptions };
  config: PipelineConfig;
  preprocessor: PreprocessorJSON;
  detectors: {
    name: DetectorName;
    folder: string;
    threshold: FittedThreshold;
    distribution: ScoreDistribution;
  }[];
  consensus: { threshold: FittedThreshold };
  trainedOn: TrainedOn;
  /** TensorFlow.js backend the autoencoders were trained on. */
  backend?: string;
}

/** Marks a folder written by `TrainedPipeline.save`. */
export const PIPELINE_FORMAT = 'crypto-anomaly-pipeline';
/** Version of the saved pipeline's layout; `load` refuses others. */
export const PIPELINE_FORMAT_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Schemas. zod's own number type already refuses NaN and ±Infinity.

/** Runs one of core's own validators inside a schema, so a rule is written once (config.ts, thresholds.ts). */
function checkWith(check: () => unknown) {
  return (_value: unknown, context: z.RefinementCtx) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof CoreError)) throw error;
      context.addIssue({ code: 'custom', message: error.message });
    }
  };
}

const positiveInteger = z.number().int().min(1);
const nonNegativeInteger = z.number().int().min(0);

/** SPOT / DSPOT's settings as saved (unset ones are the defaults); `assertThresholdMethod` checks ranges. */
const spotFields = {
  risk: z.number().optional(),
  initialQuantile: z.number().optional(),
  maxPeaks: z.number().optional(),
};

const thresholdMethodSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('contamination'), contamination: z.number() }),
    z.object({ kind: z.literal('fixed'), value: z.number() }),
    z.object({ kind: z.literal('pot'), riskQuantile: z.number(), initialQuantile: z.number() }),
    z.object({ kind: z.literal('spot'), ...spotFields }),
    z.object({ kind: z.literal('dspot'), ...spotFields, depth: z.number().optional() }),
  ])
  .superRefine((method, context) => checkWith(() => assertThresholdMethod(method))(method, context));

/** A threshold fitted on training scores (`FittedThreshold`), as detectors and the manifest save it. */
export const fittedThresholdSchema = z.object({
  value: z.number(),
  method: thresholdMethodSchema,
  description: z.string(),
});

const featureSetSchema = z.enum(Object.keys(FEATURE_SETS) as [FeatureSetName, ...FeatureSetName[]]);

const featureOptionsSchema = z.object({
  set: featureSetSchema,
  levelWindow: positiveInteger,
  volatilityWindow: positiveInteger,
  volumeWindow: positiveInteger,
  rsiPeriod: positiveInteger,
  relativeVolatilityWindow: positiveInteger,
});

const winsorizeSchema = z.union([z.literal(false), z.object({ lower: z.number(), upper: z.number() })]);

/**
 * Types only here: the ranges are checked by `resolvePipelineConfig`, the same rules training
 * applies (a range here too would report the same key twice). Loose objects: the rules see every
 * key as saved (a stripped key would read as missing, an unknown one is theirs to refuse).
 */
const configSchema = z
  .looseObject({
    features: z.looseObject({
      set: featureSetSchema,
      levelWindow: z.number(),
      volatilityWindow: z.number(),
      volumeWindow: z.number(),
      rsiPeriod: z.number(),
      relativeVolatilityWindow: z.number(),
    }),
    split: z.looseObject({ train: z.number(), validation: z.number() }),
    preprocess: z.looseObject({
      scaler: z.enum(['standard', 'robust']),
      winsorize: winsorizeSchema,
      logFeatures: z.array(z.enum([...new Set(Object.values(FEATURE_SETS).flat())])),
    }),
    threshold: z.looseObject({ kind: z.string() }),
    detectors: z.array(z.enum(DETECTOR_NAMES)),
    // Each detector's own options are checked by its load, from its detector.json.
    isolationForest: z.record(z.string(), z.unknown()),
    autoencoder: z.record(z.string(), z.unknown()),
    attention: z.record(z.string(), z.unknown()),
    topFeatures: z.number(),
  })
  .superRefine((config, context) =>
    checkWith(() => resolvePipelineConfig(config as Parameters<typeof resolvePipelineConfig>[0]))(
      config,
      context,
    ),
  );

const preprocessorSchema = z
  .object({
    kind: z.literal('preprocessor'),
    formatVersion: z.literal(1),
    names: z.array(z.string()).min(1),
    scaler: z.enum(['standard', 'robust']),
    winsorize: winsorizeSchema,
    logOffsets: z.array(z.number().gt(0).nullable()),
    bounds: z.object({ lower: z.array(z.number()), upper: z.array(z.number()) }).nullable(),
    center: z.array(z.number()),
    scale: z.array(z.number().gt(0)),
  })
  .superRefine((state, context) => {
    const lists: [string[], unknown[]][] = [
      [['logOffsets'], state.logOffsets],
      [['center'], state.center],
      [['scale'], state.scale],
    ];
    if (state.bounds)
      lists.push([['bounds', 'lower'], state.bounds.lower], [['bounds', 'upper'], state.bounds.upper]);
    for (const [path, list] of lists) {
      if (list.length !== state.names.length) {
        context.addIssue({
          code: 'custom',
          path,
          message: `has ${list.length} entries for ${state.names.length} features (names)`,
        });
      }
    }
  });

/** One plain path segment: a folder directly inside the model folder, never `..`, `.` or a path. */
const folderSchema = z
  .string()
  .refine(
    (folder) =>
      folder !== '' && folder !== '.' && folder !== '..' && !/[/\\\0]/.test(folder) && !isAbsolute(folder),
    { message: 'must name a folder directly inside the model folder (one plain path segment)' },
  );

const distributionSchema = z.object({ quantiles: z.array(z.number()).min(1) }).superRefine((d, context) => {
  const at = d.quantiles.findIndex((q, i) => i > 0 && q < d.quantiles[i - 1]!);
  if (at > 0)
    context.addIssue({ code: 'custom', path: ['quantiles', at], message: 'is not sorted ascending' });
});

const detectorEntrySchema = z.object({
  name: z.enum(DETECTOR_NAMES),
  folder: folderSchema,
  threshold: fittedThresholdSchema,
  distribution: distributionSchema,
});

const trainedOnSchema = z.object({
  symbol: z.string().min(1),
  interval: z.enum(INTERVALS),
  source: z.string(),
  from: z.number(),
  to: z.number(),
  rows: z.object({ train: nonNegativeInteger, validation: nonNegativeInteger, test: nonNegativeInteger }),
  validationFrom: z.number(),
  testFrom: z.number().nullable(),
});

/** The whole of `pipeline.json`: every field `TrainedPipeline.load` reads. */
export const pipelineManifestSchema = z
  .looseObject({
    format: z.literal(PIPELINE_FORMAT),
    formatVersion: z.literal(PIPELINE_FORMAT_VERSION),
    coreVersion: z.string(),
    createdAt: z.string(),
    featureSet: z.object({ names: z.array(z.string()), options: featureOptionsSchema }),
    config: configSchema,
    preprocessor: preprocessorSchema,
    detectors: z.array(detectorEntrySchema).min(1),
    consensus: z.object({ threshold: fittedThresholdSchema }),
    trainedOn: trainedOnSchema,
    backend: z.string().optional(),
  })
  .superRefine((manifest, context) => {
    const seen = new Map<string, number>();
    manifest.detectors.forEach(({ name, folder }, i) => {
      for (const [key, value] of [
        ['name', name],
        ['folder', folder],
      ] as const) {
        const first = seen.get(`${key}:${value}`);
        if (first === undefined) seen.set(`${key}:${value}`, i);
        else {
          context.addIssue({
            code: 'custom',
            path: ['detectors', i, key],
            message: `repeats detectors[${first}]`,
          });
        }
      }
    });
    const { names } = manifest.featureSet;
    const preprocessed = manifest.preprocessor.names;
    if (preprocessed.length !== names.length || preprocessed.some((name, i) => name !== names[i])) {
      context.addIssue({
        code: 'custom',
        path: ['preprocessor', 'names'],
        message: `differ from featureSet.names (${names.join(', ')})`,
      });
    }
    const options = manifest.featureSet.options;
    const features = manifest.config.features;
    if (
      Object.keys(featureOptionsSchema.shape).some(
        (key) => options[key as keyof FeatureOptions] !== features[key as keyof FeatureOptions],
      )
    ) {
      context.addIssue({
        code: 'custom',
        path: ['featureSet', 'options'],
        message: `differ from config.features (${describeValue(features)})`,
      });
    }
  });

// ---------------------------------------------------------------------------------------------
// Reading model files.

/** Same major version (same minor while the major is 0, where minors may break). */
function compatibleVersions(saved: string, current: string): boolean {
  const [savedMajor, savedMinor] = saved.split('.');
  const [major, minor] = current.split('.');
  return savedMajor === major && (major !== '0' || savedMinor === minor);
}

/**
 * Rewrites the feature options a manifest holds twice (`featureSet.options` and
 * `config.features`) with `upgrade`, for a model saved before an option existed.
 */
function upgradeFeatureOptions(
  json: PipelineManifest,
  upgrade: (features: FeatureOptions) => FeatureOptions,
): void {
  json.featureSet.options = upgrade(json.featureSet.options);
  const config = json.config as Partial<PipelineConfig> | undefined;
  if (config?.features && typeof config.features === 'object') config.features = upgrade(config.features);
}

/**
 * A model saved before feature sets were an option used the classic features with no level
 * window; one saved before `relativeVolatilityWindow` measured its relative volatility over
 * `volatilityWindow` returns. Say so in their options, as a model saved now would, so each scores
 * as it was trained.
 */
function upgradeOldModel(json: PipelineManifest, options: Record<string, unknown>): void {
  if (options['set'] === undefined) {
    upgradeFeatureOptions(json, (features) => ({ ...features, set: 'classic', levelWindow: 30 }));
  }
  if (options['relativeVolatilityWindow'] === undefined) {
    upgradeFeatureOptions(json, (features) =>
      features.relativeVolatilityWindow === undefined
        ? { ...features, relativeVolatilityWindow: features.volatilityWindow }
        : features,
    );
  }
}

/**
 * Reads and checks `pipeline.json` of the model folder `dir`: `IO` when there is none,
 * `MODEL_MISMATCH` when another version or feature set wrote it (it is sound, but not for this
 * version), `MODEL_INVALID` naming the key when anything the loader reads is missing or malformed.
 */
export async function readManifest(dir: string): Promise<PipelineManifest> {
  const path = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = await readModelJson(path, dir);
  } catch (error) {
    if (!(error instanceof CoreError) || error.code !== 'IO') throw error;
    throw new CoreError(
      'IO',
      `No trained pipeline in ${dir} (${error.message}) ` +
        'Train one first (trainPipeline or runPipeline), or point to its folder.',
      { cause: error.cause },
    );
  }
  // What says which version wrote the file comes first: another version's layout may differ.
  const header = parseModelFile(
    z.object({ format: z.literal(PIPELINE_FORMAT), formatVersion: z.number(), coreVersion: z.string() }),
    json,
    path,
  );
  if (
    header.formatVersion !== PIPELINE_FORMAT_VERSION ||
    !compatibleVersions(header.coreVersion, CORE_VERSION)
  ) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${dir} was saved by @crypto-anomaly/core ${header.coreVersion} (pipeline format ${header.formatVersion}); ` +
        `this is ${CORE_VERSION}, which reads format ${PIPELINE_FORMAT_VERSION}. Retrain the model with ` +
        `this version (trainPipeline or runPipeline), or use @crypto-anomaly/core ${header.coreVersion} to score with it.`,
    );
  }
  // A model of another feature set is sound, but not for this version: say so before the details.
  const { names, options } = parseModelFile(
    z.object({ featureSet: z.object({ names: z.array(z.string()), options: z.looseObject({}) }) }),
    json,
    path,
  ).featureSet;
  upgradeOldModel(json as PipelineManifest, options);
  const expected: readonly string[] = FEATURE_SETS[options['set'] as FeatureSetName] ?? FEATURE_NAMES;
  if (names.length !== expected.length || names.some((name, i) => name !== expected[i])) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${dir} was saved by @crypto-anomaly/core ${header.coreVersion}, whose model uses the features ` +
        `[${names.join(', ')}], but this version computes [${expected.join(', ')}] for its feature set. ` +
        'Retrain the model with this version (trainPipeline or runPipeline) so the feature sets match.',
    );
  }
  // Checked, not converted: the manifest is used as written.
  parseModelFile(pipelineManifestSchema, json, path);
  return json as PipelineManifest;
}

/**
 * Human warnings when a model is used on other candles than it was trained on (another symbol or
 * interval): its scores then measure how unlike the training market the candles are, not how
 * unusual they are. Takes a `TrainedPipeline` or its manifest; an empty list when they match.
 */
export function modelMismatchWarnings(
  model: { trainedOn: Pick<TrainedOn, 'symbol' | 'interval'> },
  use: { symbol?: string; interval?: string },
): string[] {
  const { symbol, interval } = model.trainedOn;
  const warnings: string[] = [];
  if (use.symbol !== undefined && use.symbol.toUpperCase() !== symbol.toUpperCase()) {
    warnings.push(
      `the model was trained on ${symbol}, not ${use.symbol}: its scores are relative to ${symbol}'s ` +
        `behaviour; a model trained on ${use.symbol} gives reliable flags`,
    );
  }
  if (use.interval !== undefined && use.interval !== interval) {
    warnings.push(
      `the model was trained on ${interval} candles, not ${use.interval}: volatility, volume and RSI ` +
        `windows then span other durations; a model trained on ${use.interval} candles gives reliable flags`,
    );
  }
  return warnings;
}

/** Whether candles of `use` are those a model was trained on: the same symbol (any case) and interval. */
export function isTrainedOn(
  model: { trainedOn: Pick<TrainedOn, 'symbol' | 'interval'> },
  use: { symbol: string; interval: string },
): boolean {
  const { symbol, interval } = model.trainedOn;
  return use.symbol.toUpperCase() === symbol.toUpperCase() && use.interval === interval;
}

/**
 * Refuses to score candles of another interval than a model's unless the caller allows it: its
 * windows count candles of its own interval (24 of them are a day of 1h candles, 24 minutes of 1m
 * ones) and its thresholds were fitted to them, which misjudges more than another symbol does.
 */
export function assertModelInterval(
  model: { trainedOn: Pick<TrainedOn, 'symbol' | 'interval'> },
  use: { symbol: string; interval: string; allowOtherInterval?: boolean | undefined },
): void {
  const { symbol, interval } = model.trainedOn;
  if (use.interval === interval || use.allowOtherInterval === true) return;
  throw new CoreError(
    'MODEL_MISMATCH',
    `The model was trained on ${symbol} ${interval} candles, not ${use.interval}: its feature windows count ` +
      `${interval} candles and its thresholds were fitted to them, so it would misjudge ${use.symbol} ${use.interval} candles. ` +
      `Train one on ${use.symbol} ${use.interval} (trainPipeline), or pass allowOtherInterval: true to score them anyway.`,
  );
}
