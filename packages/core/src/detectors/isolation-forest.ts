import { join } from 'node:path';
import { IsolationForest, isKernelError } from '@crypto-anomaly/kernels';
import { z } from 'zod';
import type { FittedThreshold, IsolationForestDetectorOptions, Matrix } from '../api.js';
import { CoreError } from '../errors.js';
import { column, createMatrix } from '../matrix.js';
import { fromSavedOptions, modelInvalid, parseModelFile, readModelJson } from '../model-files.js';
import { fittedThresholdSchema } from '../model-manifest.js';
import { writeJsonAtomic } from '../outputs/atomic-write.js';
import { assertThresholdMethod, DEFAULT_THRESHOLD, quantileOf } from '../thresholds.js';
import {
  assertInteger,
  assertKnownKeys,
  assertMatrix,
  describeValue,
  savedOptions,
  withDefaults,
} from '../validate.js';
import { BaseDetector, FIT_CONTEXT_KEYS, type FitContext, LOAD_KEYS } from './detector.js';
import { assertDetectorFilesReplaceable, DETECTOR_FILE } from './saved-files.js';

export const DEFAULT_ISOLATION_FOREST_OPTIONS: Readonly<IsolationForestDetectorOptions> = Object.freeze({
  nEstimators: 200,
  maxSamples: 256,
  extensionLevel: 0,
  threads: 1,
  seed: 42,
  threshold: DEFAULT_THRESHOLD,
});

/** Version of the saved folder's layout; load refuses others. */
export const ISOLATION_FOREST_FORMAT_VERSION = 1;
const STATE_FILE = DETECTOR_FILE;

interface SavedState {
  name: 'isolation-forest';
  formatVersion: number;
  options: IsolationForestDetectorOptions;
  featureCount: number;
  /** Per-feature training medians: the reference values of the contributions. */
  medians: number[];
  threshold: FittedThreshold;
  forest: unknown;
}

function resolveOptions(options: Partial<IsolationForestDetectorOptions>): IsolationForestDetectorOptions {
  const resolved = withDefaults('IsolationForestDetector options', DEFAULT_ISOLATION_FOREST_OPTIONS, options);
  assertInteger('isolationForest.nEstimators', resolved.nEstimators, 1, 100_000);
  assertInteger('isolationForest.maxSamples', resolved.maxSamples, 2, 1_000_000);
  assertInteger('isolationForest.extensionLevel', resolved.extensionLevel, 0, 1_000);
  assertInteger('isolationForest.threads', resolved.threads, 1, 256);
  assertInteger('isolationForest.seed', resolved.seed, 0, Number.MAX_SAFE_INTEGER);
  assertThresholdMethod(resolved.threshold);
  return resolved;
}

/**
 * Isolation Forest (Liu, Ting & Zhou 2008) on the kernels' WebAssembly forest. The score is the
 * forest's s(x) = 2^(-E[h(x)] / c(ψ)) in (0, 1]: higher = isolated sooner = more anomalous.
 *
 * Feature contributions: how much the score falls when one feature is replaced by its training
 * median, the others kept (clipped at 0). A forest has no per-feature error to read off, and this
 * answers the question a user asks of a flagged candle ("which value made it odd?") for the
 * standard and the extended forest alike, at the cost of one extra scoring pass per feature.
 */
export class IsolationForestDetector extends BaseDetector {
  readonly name = 'isolation-forest' as const;
  /** The forest has no training curve. */
  readonly history = undefined;
  readonly options: Readonly<IsolationForestDetectorOptions>;
  private forest: IsolationForest | undefined;
  private medians: number[] | undefined;

  constructor(options: Partial<IsolationForestDetectorOptions> = {}) {
    const resolved = resolveOptions(options);
    super(resolved.threshold);
    this.options = Object.freeze(resolved);
  }

  /** Input width of the fitted forest; undefined before `fit`. */
  get featureCount(): number | undefined {
    return this.medians?.length;
  }

  async fit(train: Matrix, context: FitContext = {}): Promise<this> {
    assertKnownKeys('fit context', context, FIT_CONTEXT_KEYS);
    assertMatrix('train', train);
    if (train.rows < 2) {
      throw new CoreError(
        'TOO_FEW_ROWS',
        `The Isolation Forest needs at least 2 training rows, got ${train.rows}.`,
      );
    }
    if (this.options.extensionLevel > train.cols - 1) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `isolationForest.extensionLevel must be at most features - 1 = ${train.cols - 1}, got ${this.options.extensionLevel}.`,
      );
    }
    context.signal?.throwIfAborted();
    const { nEstimators, maxSamples, extensionLevel, seed, threads } = this.options;
    const forest = new IsolationForest({
      nEstimators,
      maxSamples: Math.min(maxSamples, train.rows),
      extensionLevel,
      seed,
      threads,
    });
    const { onEvent } = context;
    await forest.fit(train, {
      onProgress: (treesBuilt: number, trees: number) => {
        onEvent?.({ type: 'isolation-forest-progress', treesBuilt, trees });
      },
    });
    context.signal?.throwIfAborted();
    this.forest = forest;
    this.medians = Array.from({ length: train.cols }, (_, c) => quantileOf(column(train, c), 0.5));
    this.fitThresholdOn(await this.scores(train));
    return this;
  }

  private requireForest(X: Matrix): IsolationForest {
    this.requireFitted();
    if (!this.forest || !this.medians) {
      throw new CoreError('NOT_FITTED', 'The Isolation Forest has no trees: call fit() or load().');
    }
    assertMatrix('X', X, this.medians.length);
    return this.forest;
  }

  private async scores(X: Matrix): Promise<Float64Array> {
    return Float64Array.from(await this.forest!.decisionFunction(X));
  }

  /** The forest's anomaly score per row, in (0, 1] (higher = more anomalous). */
  async decisionFunction(X: Matrix): Promise<Float64Array> {
    this.requireForest(X);
    return this.scores(X);
  }

  /** Per row and feature: max(0, score(x) - score(x with that feature at its training median)). */
  async featureContributions(X: Matrix): Promise<Matrix> {
    return (await this.scoresWithContributions(X)).contributions;
  }

  /** Scores and contributions from one scoring pass of X (the contributions need its scores anyway). */
  async scoresWithContributions(X: Matrix): Promise<{ scores: Float64Array; contributions: Matrix }> {
    this.requireForest(X);
    const base = await this.scores(X);
    return { scores: base, contributions: await this.contributionsAgainst(X, base) };
  }

  private async contributionsAgainst(X: Matrix, base: Float64Array): Promise<Matrix> {
    const out = createMatrix(X.rows, X.cols);
    const probe = { data: new Float64Array(X.data), rows: X.rows, cols: X.cols };
    for (let c = 0; c < X.cols; c++) {
      const median = this.medians![c]!;
      for (let r = 0; r < X.rows; r++) probe.data[r * X.cols + c] = median;
      const replaced = await this.scores(probe);
      for (let r = 0; r < X.rows; r++) {
        out.data[r * X.cols + c] = Math.max(0, base[r]! - replaced[r]!);
        probe.data[r * X.cols + c] = X.data[r * X.cols + c]!;
      }
    }
    return out;
  }

  /** Writes `detector.json`: options, threshold, medians and the forest's own JSON. */
  async save(dir: string): Promise<void> {
    const threshold = this.requireFitted();
    const state: SavedState = {
      name: 'isolation-forest',
      formatVersion: ISOLATION_FOREST_FORMAT_VERSION,
      options: { ...this.options },
      featureCount: this.medians!.length,
      medians: this.medians!,
      threshold,
      forest: this.forest!.toJSON(),
    };
    await assertDetectorFilesReplaceable(dir, [STATE_FILE]);
    await writeJsonAtomic(join(dir, STATE_FILE), state);
  }

  /**
   * Loads a folder written by `save`. Refuses (`MODEL_MISMATCH`) another detector's folder, another
   * format version, or another feature count than `expected.featureCount`; (`MODEL_INVALID`, naming
   * detector.json and the key) a missing or malformed field, a damaged forest or non-finite values.
   */
  static async load(dir: string, expected: { featureCount?: number } = {}): Promise<IsolationForestDetector> {
    assertKnownKeys('load expected', expected, LOAD_KEYS);
    const path = join(dir, STATE_FILE);
    const state = (await readModelJson(path, dir)) as Partial<SavedState> | null;
    if (state?.name !== 'isolation-forest') {
      throw new CoreError(
        'MODEL_MISMATCH',
        `${dir} holds a ${describeValue(state?.name)} detector, not the Isolation Forest.`,
      );
    }
    if (state.formatVersion !== ISOLATION_FOREST_FORMAT_VERSION) {
      throw new CoreError(
        'MODEL_MISMATCH',
        `${dir} was saved in Isolation Forest format ${describeValue(state.formatVersion)}; this version reads ` +
          `format ${ISOLATION_FOREST_FORMAT_VERSION}. Retrain the model with this version.`,
      );
    }
    const checked = parseModelFile(savedStateSchema, state, path);
    if (expected.featureCount !== undefined && checked.featureCount !== expected.featureCount) {
      throw new CoreError(
        'MODEL_MISMATCH',
        `${dir} was trained on ${checked.featureCount} features, expected ${expected.featureCount}: retrain.`,
      );
    }
    const detector = fromSavedOptions(
      path,
      () =>
        new IsolationForestDetector(
          savedOptions(state.options!, Object.keys(DEFAULT_ISOLATION_FOREST_OPTIONS)),
        ),
    );
    let forest: IsolationForest;
    try {
      forest = IsolationForest.fromJSON(checked.forest as never);
    } catch (error) {
      if (!isKernelError(error)) throw error;
      throw modelInvalid(path, `forest: ${error.message}`, { cause: error });
    }
    if (forest.nFeatures !== checked.featureCount) {
      throw modelInvalid(
        path,
        `forest.nFeatures is ${forest.nFeatures}, but featureCount is ${checked.featureCount}: the file mixes two models`,
      );
    }
    assertFiniteForest(forest, path);
    detector.forest = forest;
    detector.medians = checked.medians;
    detector.threshold = checked.threshold;
    return detector;
  }
}

/** What `load` reads of `detector.json` (name and version are checked first, as a mismatch). */
const savedStateSchema = z
  .object({
    options: z.record(z.string(), z.unknown()),
    featureCount: z.number().int().min(1),
    medians: z.array(z.number()),
    threshold: fittedThresholdSchema,
    // The kernels check the forest's own layout (IsolationForest.fromJSON).
    forest: z.record(z.string(), z.unknown()),
  })
  .superRefine((state, context) => {
    if (state.medians.length !== state.featureCount) {
      context.addIssue({
        code: 'custom',
        path: ['medians'],
        message: `has ${state.medians.length} entries for featureCount ${state.featureCount}`,
      });
    }
  });

/**
 * The kernels check the forest's shape, not its values: a NaN leaf or split would silently
 * change scores. Split thresholds may be +Infinity (padding nodes that always go left).
 */
function assertFiniteForest(forest: IsolationForest, path: string): void {
  const { weights, thresholds, leaves } = forest.forest;
  const checks: [string, ArrayLike<number>, (v: number) => boolean][] = [
    ['weights', weights, Number.isFinite],
    ['thresholds', thresholds, (v) => Number.isFinite(v) || v === Infinity],
    ['leaves', leaves, Number.isFinite],
  ];
  for (const [name, values, valid] of checks) {
    for (let i = 0; i < values.length; i++) {
      if (!valid(values[i]!)) {
        throw modelInvalid(path, `forest.${name} has a non-finite value (${values[i]}) at index ${i}`);
      }
    }
  }
}
