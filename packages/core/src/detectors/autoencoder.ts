import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { FittedThreshold, Matrix, ThresholdMethod } from '../api.js';
import { CoreError } from '../errors.js';
import { parseModelFile } from '../model-files.js';
import { fittedThresholdSchema } from '../model-manifest.js';
import { FlatAdam } from '../tf/adam.js';
import { MODEL_JSON, readJsonFile, WEIGHTS_BIN, writeJsonFile } from '../tf/io.js';
import { assertPositiveInteger, assertPositiveNumber, rowMeans, toFloat32 } from '../tf/matrix.js';
import { assertSeed } from '../tf/random.js';
import { tf } from '../tf/tensorflow.js';
import { assertThresholdMethod } from '../thresholds.js';
import { BaseDetector, type FitContext } from './detector.js';
import { assertDetectorFilesReplaceable, DETECTOR_FILE } from './saved-files.js';
import { runTraining, type TrainingHistory } from './training.js';

/** What `load` reads of `detector.json` (name and version are checked first, as a mismatch). */
const savedStateSchema = z.object({
  featureCount: z.number().int().min(1),
  options: z.record(z.string(), z.unknown()),
  threshold: fittedThresholdSchema,
  // The loss chart of a loaded model reads these.
  history: z.looseObject({ loss: z.array(z.number()), valLoss: z.array(z.number()) }).optional(),
  backend: z.string().optional(),
});

/** What both autoencoders train on: one flat parameter vector and its loss gradient. */
export interface FlatNetwork<Input extends TF.Tensor> {
  readonly parameters: TF.Variable<TF.Rank.R1>;
  readonly parameterCount: number;
  /** `trimmedShare`: the share of the batch's samples with the largest error left out of the loss. */
  lossAndGradient(x: Input, trimmedShare?: number): { loss: TF.Scalar; gradient: TF.Tensor1D };
  dispose(): void;
}

/**
 * How the learning rate moves over the epochs: `constant`, or `cosine`, which falls from
 * `learningRate` at the first epoch along half a cosine to 1% of it at the last allowed one, so
 * training settles by the epoch cap instead of still stepping at full size when it ends.
 */
export type LearningRateSchedule = 'constant' | 'cosine';

/** The learning rate of `epoch` (1-based) of `epochs` under `schedule`. */
export function learningRateAt(
  epoch: number,
  epochs: number,
  learningRate: number,
  schedule: LearningRateSchedule,
): number {
  if (schedule === 'constant' || epochs <= 1) return learningRate;
  const progress = (epoch - 1) / (epochs - 1);
  return learningRate * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The training settings both autoencoders share (each options type documents its own defaults). */
export interface AutoencoderTrainingOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  patience: number;
  /** Smallest relative fall of the validation loss that resets patience (see `runTraining`). */
  minImprovement: number;
  /** How the learning rate moves over the epochs (see `LearningRateSchedule`). Default `constant`. */
  learningRateSchedule?: LearningRateSchedule;
  seed: number;
  threshold: ThresholdMethod;
}

/** Checks the shared settings; `examples` are the values each error message suggests. */
export function assertTrainingOptions(
  options: AutoencoderTrainingOptions,
  examples: { epochs: number; batchSize: number; patience: number },
): void {
  assertPositiveInteger('epochs', options.epochs, `Use for example ${examples.epochs}.`);
  assertPositiveInteger('batchSize', options.batchSize, `Use for example ${examples.batchSize}.`);
  assertPositiveNumber('learningRate', options.learningRate, 'Use for example 0.001.');
  assertPositiveInteger('patience', options.patience, `Use for example ${examples.patience}.`);
  const schedule = options.learningRateSchedule;
  if (schedule !== undefined && schedule !== 'constant' && schedule !== 'cosine') {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `learningRateSchedule must be "constant" or "cosine", got ${JSON.stringify(schedule)}.`,
    );
  }
  if (
    !(Number.isFinite(options.minImprovement) && options.minImprovement >= 0 && options.minImprovement < 1)
  ) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `minImprovement must be a number in [0, 1), got ${options.minImprovement}. Use for example 0.001 (0.1%).`,
    );
  }
  assertSeed(options.seed);
  assertThresholdMethod(options.threshold);
}

/** `detector.json` of a saved autoencoder folder. */
export interface SavedAutoencoderState<Name extends string, Options> {
  name: Name;
  formatVersion: number;
  featureCount: number;
  options: Options;
  threshold: FittedThreshold;
  history: TrainingHistory | undefined;
  backend: string;
}

/** How a saved folder names its detector, for the checks and messages of `readSavedState`. */
export interface SavedFormat<Name extends string> {
  name: Name;
  formatVersion: number;
  /** e.g. "dense autoencoder". */
  label: string;
  /** e.g. "the autoencoder's folder". */
  folder: string;
}

const STATE_FILE = DETECTOR_FILE;

/** What differs in training the two: how many samples, how a batch of them is built, the validation loss. */
export interface AutoencoderTraining<Input extends TF.Tensor> {
  samples: number;
  beginEpoch?: () => void;
  /** Share of each batch's samples with the largest error left out of the loss (default none). */
  trimmedShare?: number;
  /** The tensor of the samples at `indices` (freed by the caller's tidy). */
  batch: (indices: Int32Array) => Input;
  validationLoss: () => number | undefined;
}

/**
 * Shared parts of the dense and the attention autoencoder: the Adam training loop around
 * `runTraining`, scores and contributions from squared reconstruction errors, and the
 * `detector.json` written beside the weights. Subclasses build the network and say how a row's
 * squared errors are computed.
 */
export abstract class AutoencoderDetector<
  Name extends 'autoencoder' | 'attention',
  Options extends AutoencoderTrainingOptions,
  Input extends TF.Tensor,
  Network extends FlatNetwork<Input>,
> extends BaseDetector {
  abstract override readonly name: Name;
  readonly options: Readonly<Options>;
  /** Loss curves of the last `fit` (or of the saved model). */
  history: TrainingHistory | undefined = undefined;
  protected network: Network | undefined;
  /**
   * The training rows of the last `fit` and their squared errors (computed for the threshold):
   * scoring a matrix that starts with exactly these rows (the pipeline scores the whole history,
   * training rows first) reuses them instead of a second forward pass.
   */
  private fitErrors: { values: Float32Array; errors: Float32Array } | undefined;

  constructor(options: Options) {
    super(options.threshold);
    this.options = Object.freeze(options);
  }

  /** Input width of the fitted model; undefined before `fit`. */
  abstract get featureCount(): number | undefined;

  /**
   * Squared reconstruction errors of rows `fromRow`.. of row-major float32 `values`
   * ((rows - fromRow) × cols), the earlier rows serving only as context: the same errors those
   * rows get when every row is scored (fromRow 0).
   */
  protected abstract squaredErrorsFrom(
    network: Network,
    values: Float32Array,
    cols: number,
    fromRow: number,
  ): Promise<Float32Array>;

  /** Checks X against the fitted network (width, rows), naming `argument`. */
  protected abstract assertInput(argument: string, X: Matrix, network: Network): void;

  /** The NOT_FITTED message, e.g. "The autoencoder has no weights: call fit() or load()." */
  protected abstract readonly noWeightsMessage: string;

  /**
   * Trains `network` with Adam (keeping the best epoch's weights), then fits the threshold on the
   * training rows' scores. On failure the network is freed and the detector stays unfitted.
   */
  protected async trainNetwork(
    network: Network,
    train: { values: Float32Array; rows: number; cols: number },
    training: AutoencoderTraining<Input>,
    context: FitContext,
  ): Promise<void> {
    const { options } = this;
    const adamSettings = { learningRate: options.learningRate };
    const optimizer = new FlatAdam(network.parameterCount, adamSettings);
    const schedule = options.learningRateSchedule ?? 'constant';
    try {
      const history = await runTraining(
        {
          detector: this.name,
          samples: training.samples,
          beginEpoch: (epoch) => {
            adamSettings.learningRate = learningRateAt(epoch, options.epochs, options.learningRate, schedule);
            training.beginEpoch?.();
          },
          trainStep: (indices) =>
            tf.tidy(() => {
              const { loss, gradient } = network.lossAndGradient(
                training.batch(indices),
                training.trimmedShare,
              );
              optimizer.update(network.parameters, gradient);
              return loss;
            }),
          validationLoss: training.validationLoss,
          snapshot: () => [tf.clone(network.parameters)],
          restore: ([parameters]) => network.parameters.assign(parameters as TF.Tensor1D),
        },
        { ...options, onEvent: context.onEvent, signal: context.signal },
      );
      this.network = network;
      this.history = history;
    } catch (error) {
      network.dispose();
      throw error;
    } finally {
      optimizer.dispose();
    }
    const errors = await this.squaredErrorsFrom(network, train.values, train.cols, 0);
    this.fitThresholdOn(rowMeans(errors, train.rows, train.cols));
    this.fitErrors = { values: train.values, errors };
  }

  /**
   * Squared errors of every row of X: the rows it shares, from its start, with the last fit's
   * training rows are taken from the fit, the rest computed.
   */
  private async errorsOf(network: Network, X: Matrix): Promise<Float32Array> {
    const values = toFloat32(X);
    const known = this.fitErrors;
    if (!known || !startsWith(values, known.values)) {
      return this.squaredErrorsFrom(network, values, X.cols, 0);
    }
    const errors = new Float32Array(values.length);
    errors.set(known.errors);
    const fromRow = known.values.length / X.cols;
    if (fromRow < X.rows) {
      errors.set(await this.squaredErrorsFrom(network, values, X.cols, fromRow), known.values.length);
    }
    return errors;
  }

  protected requireNetwork(X: Matrix, argument: string): Network {
    this.requireFitted();
    const network = this.network;
    if (!network) throw new CoreError('NOT_FITTED', this.noWeightsMessage);
    this.assertInput(argument, X, network);
    return network;
  }

  /** Mean of each row's squared reconstruction errors (higher = more anomalous). */
  async decisionFunction(X: Matrix): Promise<Float64Array> {
    const network = this.requireNetwork(X, 'X');
    return rowMeans(await this.errorsOf(network, X), X.rows, X.cols);
  }

  /** Squared reconstruction error per row and feature; a row's score is the mean of its row. */
  async featureContributions(X: Matrix): Promise<Matrix> {
    const network = this.requireNetwork(X, 'X');
    return { data: Float64Array.from(await this.errorsOf(network, X)), rows: X.rows, cols: X.cols };
  }

  /**
   * `decisionFunction` and `featureContributions` of X from one forward pass (each alone
   * runs one): the scores are the contributions' row means.
   */
  async scoresWithContributions(X: Matrix): Promise<{ scores: Float64Array; contributions: Matrix }> {
    const network = this.requireNetwork(X, 'X');
    const errors = await this.errorsOf(network, X);
    return {
      scores: rowMeans(errors, X.rows, X.cols),
      contributions: { data: Float64Array.from(errors), rows: X.rows, cols: X.cols },
    };
  }

  /** Writes the weights with `writeWeights`, then `detector.json`. */
  protected async saveWith(
    dir: string,
    format: SavedFormat<Name>,
    writeWeights: (network: Network) => Promise<void>,
  ): Promise<void> {
    const threshold = this.requireFitted();
    const network = this.network!;
    await assertDetectorFilesReplaceable(dir, [STATE_FILE, MODEL_JSON, WEIGHTS_BIN]);
    await mkdir(dir, { recursive: true });
    await writeWeights(network);
    const state: SavedAutoencoderState<Name, Options> = {
      name: format.name,
      formatVersion: format.formatVersion,
      featureCount: this.featureCount!,
      options: this.options,
      threshold,
      history: this.history,
      backend: tf.getBackend(),
    };
    await writeJsonFile(join(dir, STATE_FILE), state);
  }

  /** Sets what `load` read: the network, threshold and history. */
  protected restoreFrom(network: Network, state: SavedAutoencoderState<Name, Options>): this {
    this.network = network;
    this.fitErrors = undefined;
    this.threshold = state.threshold;
    this.history = state.history;
    return this;
  }

  /** Frees the model's tensors; the detector is then unfitted. */
  override dispose(): void {
    this.network?.dispose();
    this.network = undefined;
    this.fitErrors = undefined;
    this.threshold = undefined;
  }
}

/** True when `values` begins with every value of `prefix`, bit for bit. */
function startsWith(values: Float32Array, prefix: Float32Array): boolean {
  if (prefix.length > values.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (!Object.is(values[i], prefix[i])) return false;
  }
  return true;
}

/**
 * Reads `detector.json` of a saved folder. Refuses (CoreError `MODEL_MISMATCH`) another detector's
 * folder, another format version, or, when `expected.featureCount` is given, another feature count;
 * (`MODEL_INVALID`, naming the file and key) a missing or malformed field, such as a "NaN" threshold.
 */
export async function readSavedState<Name extends string, Options>(
  dir: string,
  format: SavedFormat<Name>,
  expected: { featureCount?: number },
): Promise<SavedAutoencoderState<Name, Options>> {
  const path = join(dir, STATE_FILE);
  const state = (await readJsonFile(path)) as Partial<SavedAutoencoderState<Name, Options>> | null;
  if (state?.name !== format.name) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${dir} holds a "${state?.name}" detector, not the ${format.label}: point to ${format.folder}.`,
    );
  }
  if (state.formatVersion !== format.formatVersion) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${dir} was saved in ${format.name} format ${state.formatVersion}; this version reads format ` +
        `${format.formatVersion}. Retrain the model with this version.`,
    );
  }
  parseModelFile(savedStateSchema, state, path);
  if (expected.featureCount !== undefined && state.featureCount !== expected.featureCount) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${dir} was trained on ${state.featureCount} features, expected ${expected.featureCount}: ` +
        'retrain with the current feature set.',
    );
  }
  return state as SavedAutoencoderState<Name, Options>;
}
