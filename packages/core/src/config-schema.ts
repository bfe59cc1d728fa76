import { z } from 'zod';
import {
  DETECTOR_NAMES,
  FEATURE_NAMES,
  FEATURE_SETS,
  type FeatureSetName,
  type PipelineConfigInput,
  RELATIVE_FEATURE_NAMES,
  type ThresholdMethod,
} from './api.js';

/**
 * The one schema of the pipeline config, for `resolvePipelineConfig` and the CLI's config file
 * alike, so a wrong key reads the same from a library call and from a file: its key path, what
 * is accepted and the value given (see `describeConfigIssues`).
 *
 * What it covers: every section's key names and types; the ranges of what the pipeline itself
 * reads (feature windows, split fractions, preprocessing, thresholds, the detector list,
 * `topFeatures`). The detector sections are checked for names, types and sign only: each detector
 * checks its own ranges (tree counts, layer sizes, heads dividing the model width, …) when it is
 * built. `split.train + split.validation <= 1` is checked here when both are given and again
 * after the defaults are merged in. A leaf: it loads zod and the api constants, nothing heavy.
 */

/**
 * The one rule for `contamination` (the share of training rows flagged), for the engine, the CLI's
 * flags and its config file: a number strictly inside (0, 0.5). At 0 nothing is flagged; at 0.5 the
 * threshold is the median, and "anomalies" would be half of everything.
 */
export const CONTAMINATION_RULE = 'in (0, 0.5), e.g. 0.01 to flag 1% of rows';

export function isContamination(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value < 0.5;
}

/** An integer in [min, max]; one message for a wrong type and a wrong value. */
function integerIn(min: number, max = Number.MAX_SAFE_INTEGER) {
  const error =
    max === Number.MAX_SAFE_INTEGER
      ? `must be an integer >= ${min}`
      : `must be an integer in [${min}, ${max}]`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A number strictly inside (low, high). */
function numberBetween(low: number, high: number, example: string) {
  const error = `must be a number in (${low}, ${high}), e.g. ${example}`;
  return z.number({ error }).gt(low, { error }).lt(high, { error });
}

const integer = z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' });
const positiveNumber = z
  .number({ error: 'must be a number above 0' })
  .positive({ error: 'must be a number above 0' });
const contamination = z.number({ error: `must be ${CONTAMINATION_RULE}` }).refine(isContamination, {
  error: `must be ${CONTAMINATION_RULE}`,
});
/** Rolling windows of the features, in candles (`features.ts` holds the same bounds for `computeFeatures`). */
const window = integerIn(2, 10_000);
const fraction = numberBetween(0, 1, '0.7');
const closedFraction = z
  .number({ error: 'must be a number in [0, 1]' })
  .min(0, { error: 'must be a number in [0, 1]' })
  .max(1, { error: 'must be a number in [0, 1]' });

/**
 * SPOT / DSPOT's settings, each optional (core's `DEFAULT_SPOT_OPTIONS`); that the initial
 * quantile leaves more than the risk above it is checked by `Spot` where the config is resolved.
 */
const spotShape = {
  risk: numberBetween(0, 0.5, '0.01').optional(),
  initialQuantile: numberBetween(0.5, 1, '0.98').optional(),
  maxPeaks: integerIn(1).optional(),
};

/**
 * How a detector's threshold is set: contamination, a fixed score, peaks over threshold, or one
 * that adapts to the rows scored after training (SPOT / DSPOT).
 */
export const thresholdMethodSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('contamination'), contamination }),
    z.strictObject({ kind: z.literal('fixed'), value: z.number({ error: 'must be a finite number' }) }),
    z
      .strictObject({
        kind: z.literal('pot'),
        riskQuantile: numberBetween(0, 1, '0.005'),
        initialQuantile: numberBetween(0.5, 1, '0.98'),
      })
      .refine((pot) => pot.riskQuantile < 1 - pot.initialQuantile, {
        path: ['riskQuantile'],
        error: (issue) => {
          const pot = issue.input as { initialQuantile: number };
          return `must be below 1 - initialQuantile (${+(1 - pot.initialQuantile).toFixed(12)}), e.g. 0.005`;
        },
      }),
    z.strictObject({ kind: z.literal('spot'), ...spotShape }),
    z.strictObject({ kind: z.literal('dspot'), ...spotShape, depth: integerIn(1).optional() }),
  ],
  { error: 'must be { "kind": "contamination" | "fixed" | "pot" | "spot" | "dspot", … }' },
) satisfies z.ZodType<ThresholdMethod>;

const thresholdOption = thresholdMethodSchema.optional();

/** A detector section: its keys, each optional; the detector checks their ranges. */
function detectorSection<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, { error: 'must be an object' }).partial().optional();
}

/** Options of the Isolation Forest (core's `IsolationForestDetectorOptions`). */
const isolationForestSection = detectorSection({
  nEstimators: integerIn(1),
  maxSamples: integerIn(1),
  extensionLevel: integerIn(0),
  threads: integerIn(1),
  seed: integer,
  threshold: thresholdMethodSchema,
});

/** Options of the dense autoencoder (core's `DenseAutoencoderOptions`). */
const autoencoderSection = detectorSection({
  hiddenLayers: z
    .array(integerIn(1))
    .min(1, { error: 'must list at least one layer width, e.g. [32, 16, 8]' }),
  // The detector checks the name against its activations (they live beside TensorFlow.js).
  activation: z.string({ error: 'must be an activation name, e.g. "sigmoid"' }).min(1),
  epochs: integerIn(1),
  batchSize: integerIn(1),
  learningRate: positiveNumber,
  patience: integerIn(1),
  minImprovement: z.number({ error: 'must be a number in [0, 1), e.g. 0.001' }).min(0).lt(1),
  seed: integer,
  threshold: thresholdMethodSchema,
});

/** Options of the attention autoencoder (core's `AttentionAutoencoderOptions`). */
const attentionSection = detectorSection({
  windowSize: integerIn(1),
  modelDim: integerIn(1),
  heads: integerIn(1),
  feedForwardDim: integerIn(1),
  latentDim: integerIn(1),
  blocks: integerIn(1),
  epochs: integerIn(1),
  batchSize: integerIn(1),
  learningRate: positiveNumber,
  patience: integerIn(1),
  minImprovement: z.number({ error: 'must be a number in [0, 1), e.g. 0.001' }).min(0).lt(1),
  learningRateSchedule: z.enum(['constant', 'cosine']),
  trimmedShare: z.number({ error: 'must be a number in [0, 0.5), e.g. 0.1' }).min(0).lt(0.5),
  trainingStride: integerIn(1),
  maxTrainingWindows: integerIn(1),
  maxValidationWindows: integerIn(1),
  seed: integer,
  threshold: thresholdMethodSchema,
});

/**
 * The pipeline config as given (`PipelineConfigInput`): every section and key optional, unknown
 * keys refused. `satisfies` holds its shape to core's types.
 */
export const pipelineConfigSchema = z.strictObject(
  {
    features: z
      .strictObject(
        {
          set: z.enum(Object.keys(FEATURE_SETS) as [FeatureSetName, ...FeatureSetName[]]),
          volatilityWindow: window,
          volumeWindow: window,
          rsiPeriod: window,
          levelWindow: window,
          relativeVolatilityWindow: window,
        },
        { error: 'must be an object' },
      )
      .partial()
      .optional(),
    split: z
      .strictObject({ train: fraction, validation: fraction }, { error: 'must be an object' })
      .partial()
      .refine(
        (split) =>
          split.train === undefined || split.validation === undefined || split.train + split.validation <= 1,
        {
          path: ['validation'],
          error: 'must leave split.train + split.validation <= 1 (the rest is the test part)',
        },
      )
      .optional(),
    preprocess: z
      .strictObject(
        {
          scaler: z.enum(['standard', 'robust']),
          winsorize: z.union(
            [
              z.literal(false),
              z
                .strictObject({ lower: closedFraction, upper: closedFraction })
                .refine((bounds) => bounds.lower < bounds.upper, {
                  path: ['upper'],
                  error: 'must be above lower',
                }),
            ],
            { error: 'must be false or { "lower", "upper" } with 0 <= lower < upper <= 1' },
          ),
          logFeatures: z.array(z.enum([...new Set([...FEATURE_NAMES, ...RELATIVE_FEATURE_NAMES])])),
        },
        { error: 'must be an object' },
      )
      .partial()
      .optional(),
    threshold: thresholdOption,
    detectors: z
      .array(z.enum(DETECTOR_NAMES))
      .min(1, { error: 'must name at least one detector' })
      .optional(),
    isolationForest: isolationForestSection,
    autoencoder: autoencoderSection,
    attention: attentionSection,
    // Up to the widest feature set: a narrower one names all its features.
    topFeatures: integerIn(1, Math.max(FEATURE_NAMES.length, RELATIVE_FEATURE_NAMES.length)).optional(),
  },
  { error: 'must be an object' },
) satisfies z.ZodType<PipelineConfigInput>;

/** `a.b[2].c` from an issue's path, under `root` when given. */
export function configKeyPath(path: readonly PropertyKey[], root = ''): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    root,
  );
}

/** The schema at `path` inside `schema`, through optional, array and record wrappers. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = schema;
  for (const key of [...path, undefined]) {
    while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodNullable) {
      node = node.unwrap() as z.ZodType;
    }
    if (key === undefined || node === undefined) break;
    if (node instanceof z.ZodObject) node = node.shape[String(key)] as z.ZodType | undefined;
    else if (node instanceof z.ZodArray) node = node.element as z.ZodType;
    else if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else return undefined;
  }
  return node;
}

function describeInput(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * One line per problem of a failed parse: `key.path: what is accepted, got the value`, or
 * `unknown key a.b (the keys there are …)`. Parse with `{ reportInput: true }` for the values.
 * `root` prefixes every path (`config` for a library call; the CLI's file has its own keys).
 */
export function describeConfigIssues(
  schema: z.ZodType,
  issues: readonly z.core.$ZodIssue[],
  root = '',
): string[] {
  return issues.map((issue) => {
    const path = configKeyPath(issue.path, root);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key)).join(', ');
      const known = schemaAt(schema, issue.path);
      const accepted = known instanceof z.ZodObject ? Object.keys(known.shape) : [];
      return `unknown key ${keys}${accepted.length > 0 ? ` (the keys there are ${accepted.join(', ')})` : ''}`;
    }
    let input: unknown = issue.input;
    // A discriminator or a rule across keys reports the whole object: show the key's own value.
    const key =
      issue.code === 'invalid_union'
        ? issue.discriminator
        : issue.code === 'custom'
          ? issue.path.at(-1)
          : undefined;
    if (key !== undefined && input !== null && typeof input === 'object' && key in input) {
      input = (input as Record<PropertyKey, unknown>)[key];
    }
    const given = /received/.test(issue.message)
      ? ''
      : input === undefined
        ? ' (missing)'
        : `, got ${describeInput(input)}`;
    return `${path || '(top level)'}: ${issue.message}${given}`;
  });
}
