/**
 * What a saved model folder holds, and how it is read back. A model folder is input like any
 * other: every file is checked with a schema where it is read, a damaged one is refused with a
 * `CoreError` `MODEL_INVALID` naming the file, the key and what to do, and nothing is read from
 * outside the folder.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { INTERVALS } from '@crypto-anomaly/data';
import { z } from 'zod';
import {
  DETECTOR_NAMES,
  type DetectorName,
  FEATURE_NAMES,
  type FeatureOptions,
  type FittedThreshold,
  type PipelineConfig,
  type TrainedOn,
} from './api.js';
import { resolvePipelineConfig } from './config.js';
import { CoreError } from './errors.js';
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
/** The manifest's file name in a model folder. */
export const MANIFEST_FILE = 'pipeline.json';

/** What to do about a damaged model folder; ends every `MODEL_INVALID` message. */
export const RETRAIN_HINT =
  'The model folder is damaged or was not written by crypto-anomaly: train it again ' +
  '(trainPipeline or runPipeline).';

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

const thresholdMethodSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('contamination'), contamination: z.number() }),
    z.object({ kind: z.literal('fixed'), value: z.number() }),
    z.object({ kind: z.literal('pot'), riskQuantile: z.number(), initialQuantile: z.number() }),
  ])
  .superRefine((method, context) => checkWith(() => assertThresholdMethod(method))(method, context));

/** A threshold fitted on training scores (`FittedThreshold`), as detectors and the manifest save it. */
export const fittedThresholdSchema = z.object({
  value: z.number(),
  method: thresholdMethodSchema,
  description: z.string(),
});

const featureOptionsSchema = z.object({
  volatilityWindow: positiveInteger,
  volumeWindow: positiveInteger,
  rsiPeriod: positiveInteger,
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
      volatilityWindow: z.number(),
      volumeWindow: z.number(),
      rsiPeriod: z.number(),
    }),
    split: z.looseObject({ train: z.number(), validation: z.number() }),
    preprocess: z.looseObject({
      scaler: z.enum(['standard', 'robust']),
      winsorize: winsorizeSchema,
      logFeatures: z.array(z.enum(FEATURE_NAMES)),
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

/** A `MODEL_INVALID` error: `file`, then the problem (which names the key), then what to do. */
export function modelInvalid(file: string, problem: string, options?: { cause?: unknown }): CoreError {
  return new CoreError('MODEL_INVALID', `${file}: ${problem.replace(/\.$/, '')}. ${RETRAIN_HINT}`, options);
}

/** `a.b[2].c` from a zod issue path. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function shortValue(value: unknown): string {
  const text = describeValue(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const KIND_NAMES: Record<string, string> = {
  number: 'a finite number',
  int: 'an integer',
  string: 'a string',
  array: 'a list',
  object: 'an object',
  record: 'an object',
  boolean: 'true or false',
};

/** Issue messages phrased to follow a key: "detectors[1].threshold.value must be a finite number". */
const phrase: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${KIND_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      if (issue.origin === 'array') {
        return issue.code === 'too_small' && Number(bound) === 1
          ? 'must not be empty'
          : `must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} entries`;
      }
      if (issue.origin === 'string') return 'must not be empty';
      const word =
        issue.code === 'too_small'
          ? issue.inclusive
            ? 'at least'
            : 'greater than'
          : issue.inclusive
            ? 'at most'
            : 'less than';
      return `must be ${word} ${bound}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'options' in issue && Array.isArray(issue.options)
        ? `must be one of ${issue.options.map((v: unknown) => JSON.stringify(v)).join(', ')}`
        : 'has none of the accepted forms';
    default:
      return undefined;
  }
};

/**
 * Checks `value`, read from `file`, against `schema`; throws `MODEL_INVALID` naming the file and
 * each key at fault (the first three) with its value.
 */
export function parseModelFile<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  file: string,
  prefix: readonly PropertyKey[] = [],
): z.output<Schema> {
  const result = schema.safeParse(value, { error: phrase });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((issue) => {
    const key = keyPath([...prefix, ...issue.path]) || 'the top level';
    const actual = valueAt(value, issue.path);
    // A rule about a whole section reads as a sentence; one about a single value shows it.
    if (issue.code === 'custom' && actual !== null && typeof actual === 'object') {
      return `${key}: ${issue.message}`;
    }
    return actual === undefined && issue.path.length > 0
      ? `${key} is missing`
      : `${key} ${issue.message}, got ${shortValue(actual)}`;
  });
  const more = result.error.issues.length - problems.length;
  throw modelInvalid(file, problems.join('; ') + (more > 0 ? ` (and ${more} more)` : ''));
}

/** True when `path` is strictly inside `root` (both real paths). */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Reads a file of a saved model, refusing one that is (or links to) a file outside `root`. A
 * missing or unreadable file is an `IO` error (its cause keeps the errno).
 */
export async function readModelBytes(path: string, root: string): Promise<Buffer> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    throw new CoreError('IO', `Cannot read ${path}: ${(error as Error).message}.`, { cause: error });
  }
  const realRoot = await realpath(root);
  if (!isInside(realRoot, real)) {
    throw modelInvalid(
      path,
      `is a link to ${real}, outside the model folder ${realRoot}; refusing to read it`,
    );
  }
  try {
    return await readFile(real);
  } catch (error) {
    throw new CoreError('IO', `Cannot read ${path}: ${(error as Error).message}.`, { cause: error });
  }
}

/** `readModelBytes`, parsed as JSON: a file that is not JSON (e.g. truncated) is `MODEL_INVALID`. */
export async function readModelJson(path: string, root: string): Promise<unknown> {
  const text = (await readModelBytes(path, root)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw modelInvalid(path, `is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

/** Builds the detector from saved options; the constructor's own checks name `options` in `path`. */
export function fromSavedOptions<Detector>(path: string, create: () => Detector): Detector {
  try {
    return create();
  } catch (error) {
    if (!(error instanceof CoreError)) throw error;
    throw modelInvalid(path, `options: ${error.message}`, { cause: error });
  }
}

/** True for an IO error whose file is missing (inside a model folder: a damaged folder). */
export function isMissingFile(error: unknown): boolean {
  return (
    error instanceof CoreError &&
    error.code === 'IO' &&
    (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
  );
}

// ---------------------------------------------------------------------------------------------
// The manifest.

/** Same major version (same minor while the major is 0, where minors may break). */
function compatibleVersions(saved: string, current: string): boolean {
  const [savedMajor, savedMinor] = saved.split('.');
  const [major, minor] = current.split('.');
  return savedMajor === major && (major !== '0' || savedMinor === minor);
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
  const { names } = parseModelFile(
    z.object({ featureSet: z.object({ names: z.array(z.string()) }) }),
    json,
    path,
  ).featureSet;
  if (names.length !== FEATURE_NAMES.length || names.some((name, i) => name !== FEATURE_NAMES[i])) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${dir} was saved by @crypto-anomaly/core ${header.coreVersion}, whose model uses the features ` +
        `[${names.join(', ')}], but this version computes [${FEATURE_NAMES.join(', ')}]. ` +
        'Retrain the model with this version (trainPipeline or runPipeline) so the feature sets match.',
    );
  }
  // Checked, not converted: the manifest is used as written.
  parseModelFile(pipelineManifestSchema, json, path);
  return json as PipelineManifest;
}

/**
 * The folder of `manifest.detectors[index]` inside the model folder `dir`, checked on disk: it
 * must exist, be a folder, and not be a link to outside `dir`.
 */
export async function detectorFolder(dir: string, folder: string, index: number): Promise<string> {
  const path = join(dir, MANIFEST_FILE);
  const key = `detectors[${index}].folder`;
  const target = resolve(dir, folder);
  let real: string;
  try {
    real = await realpath(target);
  } catch (error) {
    throw modelInvalid(path, `${key} names ${describeValue(folder)}, which is not in ${dir}`, {
      cause: error,
    });
  }
  const root = await realpath(dir);
  if (!isInside(root, real)) {
    throw modelInvalid(
      path,
      `${key} names ${describeValue(folder)}, a link to ${real}, outside the model folder ${root}; refusing to read it`,
    );
  }
  if (!(await stat(real)).isDirectory()) {
    throw modelInvalid(path, `${key} names ${describeValue(folder)}, which is not a folder`);
  }
  return target;
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
