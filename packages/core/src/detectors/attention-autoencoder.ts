import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { BackendPreference, Matrix, ThresholdMethod } from '../api.js';
import { currentBackend, preferenceOf, useBackend } from '../backend.js';
import { CoreError } from '../errors.js';
import { fromSavedOptions, modelInvalid, parseModelFile } from '../model-files.js';
import { type AttentionArchitecture, AttentionNetwork } from '../tf/attention-network.js';
import { artifactsFromTensors, fileModelHandler, MODEL_JSON, WEIGHTS_BIN } from '../tf/io.js';
import { assertModelInput, assertPositiveInteger, rowMeans, toFloat32 } from '../tf/matrix.js';
import { createRandom } from '../tf/random.js';
import { tf } from '../tf/tensorflow.js';
import { DEFAULT_THRESHOLD } from '../thresholds.js';
import { assertKnownKeys, savedOptions, withDefaults } from '../validate.js';
import { startWorker } from '../worker-thread.js';
import {
  AutoencoderDetector,
  assertTrainingOptions,
  type LearningRateSchedule,
  readSavedState,
  type SavedFormat,
} from './autoencoder.js';
import { FIT_CONTEXT_KEYS, type FitContext, LOAD_KEYS } from './detector.js';

/** Settings of the self-attention autoencoder; every field has the default shown. */
export interface AttentionAutoencoderOptions {
  /** Steps per window; row t is scored by the window of rows t-windowSize+1..t. Default 16. */
  windowSize: number;
  /**
   * Width of the attention layers (divisible by `heads`). Default 8: on the sample market a model
   * of width 8 ranks anomalies better than one of 32 (a wider one learns to reconstruct them too)
   * at about a third of the training time (docs/autoencoders.md).
   */
  modelDim: number;
  /** Attention heads. Default 2. */
  heads: number;
  /** Hidden width of the position-wise feed-forward layers. Default 16. */
  feedForwardDim: number;
  /**
   * Numbers a window is summarised into between encoder and decoder. Default 8 (on the sample
   * market mean ROC-AUC 0.816 over five seeds, against 0.798 with 16; docs/autoencoders.md).
   */
  latentDim: number;
  /** Transformer blocks in the encoder, and again in the decoder. Default 1. */
  blocks: number;
  /**
   * Most passes over the training windows (early stopping may end sooner); the cosine schedule
   * anneals over them. Default 14: as good as 20 on the sample market and the real candles
   * (docs/autoencoders.md), 30% less training.
   */
  epochs: number;
  /** Windows per Adam step. Default 64. */
  batchSize: number;
  /** Adam's learning rate (at the first epoch, see `learningRateSchedule`). Default 0.003. */
  learningRate: number;
  /**
   * `cosine` (default): the learning rate falls from `learningRate` to 1% of it at the epoch cap,
   * so training settles by the cap; `constant` keeps it.
   */
  learningRateSchedule: LearningRateSchedule;
  /**
   * Share of each batch's windows with the largest reconstruction error left out of the training
   * loss (a trimmed mean), in [0, 0.5). The training rows hold anomalies too: trimmed, they add
   * nothing to the gradient, so the model does not learn to reconstruct them and they keep their
   * high error however long it trains. Default 0.1; 0 for the plain mean.
   */
  trimmedShare: number;
  /** Epochs without a lower validation loss before stopping; the best epoch's weights are kept. Default 4. */
  patience: number;
  /**
   * Smallest relative fall of the validation loss that counts as lower (resets patience): a loss
   * creeping down by less per epoch is a plateau. Default 0.001 (0.1%).
   */
  minImprovement: number;
  /**
   * Training windows start every `trainingStride` rows (1 = every window). Overlapping windows
   * repeat each row `windowSize` times per epoch, so a stride > 1 loses little. Default 1.
   */
  trainingStride: number;
  /**
   * Most training windows per epoch: on longer histories the stride is raised until the windows
   * fit (scoring still uses every row's window). Bounds an epoch's time: attention costs about
   * 10× a dense step per sample. Default 12000.
   */
  maxTrainingWindows: number;
  /**
   * Most validation windows per epoch's validation loss: above this, every k-th window (evenly
   * spread over the validation rows) is used. The validation loss only decides early stopping, and
   * scoring every window of a long validation part cost more than the epoch's training. Default 2048.
   */
  maxValidationWindows: number;
  /** Seeds the initial weights and the batch order: same seed and backend, same scores. Default 42. */
  seed: number;
  /** How the threshold is fitted on the training scores. Default: contamination 0.01. */
  threshold: ThresholdMethod;
}

export const DEFAULT_ATTENTION_AUTOENCODER_OPTIONS: Readonly<AttentionAutoencoderOptions> = Object.freeze({
  windowSize: 16,
  modelDim: 8,
  heads: 2,
  feedForwardDim: 16,
  latentDim: 8,
  blocks: 1,
  epochs: 14,
  batchSize: 64,
  learningRate: 3e-3,
  learningRateSchedule: 'cosine',
  trimmedShare: 0.1,
  patience: 4,
  minImprovement: 1e-3,
  trainingStride: 1,
  maxTrainingWindows: 12_000,
  maxValidationWindows: 2048,
  seed: 42,
  threshold: DEFAULT_THRESHOLD,
});

/** Version of the saved folder's layout; load refuses others. */
export const ATTENTION_AUTOENCODER_FORMAT_VERSION = 1;
const MODEL_FORMAT = 'crypto-anomaly/attention-autoencoder';
const FORMAT: SavedFormat<'attention'> = {
  name: 'attention',
  formatVersion: ATTENTION_AUTOENCODER_FORMAT_VERSION,
  label: 'attention autoencoder',
  folder: "the attention model's folder",
};
/** Windows per forward pass when scoring (bounds memory on long histories). */
const SCORING_CHUNK = 512;

function resolveOptions(options: Partial<AttentionAutoencoderOptions>): AttentionAutoencoderOptions {
  const resolved = withDefaults(
    'AttentionAutoencoder options',
    DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
    options,
  );
  assertPositiveInteger('windowSize', resolved.windowSize, 'Use for example 24.');
  if (resolved.windowSize < 2) {
    throw new CoreError('INVALID_ARGUMENT', `windowSize must be at least 2, got ${resolved.windowSize}.`);
  }
  assertPositiveInteger('modelDim', resolved.modelDim, 'Use for example 32.');
  assertPositiveInteger('heads', resolved.heads, 'Use for example 4.');
  if (resolved.modelDim % resolved.heads !== 0) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `modelDim (${resolved.modelDim}) must be divisible by heads (${resolved.heads}): each head gets ` +
        'modelDim / heads dimensions. Use for example modelDim 32 with 4 heads.',
    );
  }
  assertPositiveInteger('feedForwardDim', resolved.feedForwardDim, 'Use for example 64.');
  assertPositiveInteger('latentDim', resolved.latentDim, 'Use for example 16.');
  assertPositiveInteger('blocks', resolved.blocks, 'Use for example 1.');
  assertTrainingOptions(resolved, { epochs: 30, batchSize: 64, patience: 5 });
  if (
    !(Number.isFinite(resolved.trimmedShare) && resolved.trimmedShare >= 0 && resolved.trimmedShare < 0.5)
  ) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `trimmedShare must be a number in [0, 0.5), got ${resolved.trimmedShare}. Use for example 0.1 ` +
        '(leave out the tenth of each batch with the largest error), or 0 for the plain mean.',
    );
  }
  assertPositiveInteger('trainingStride', resolved.trainingStride, 'Use 1 for every window.');
  assertPositiveInteger('maxTrainingWindows', resolved.maxTrainingWindows, 'Use for example 12000.');
  assertPositiveInteger('maxValidationWindows', resolved.maxValidationWindows, 'Use for example 2048.');
  return resolved;
}

/**
 * A self-attention autoencoder in TensorFlow.js over sliding windows of consecutive rows.
 *
 * Which error is the score: row t's score is the mean squared reconstruction error of the LAST
 * step of the window ending at row t (rows t-w+1..t), so a score never uses a later row. The first
 * w-1 rows of a series have no full window: their windows are padded by repeating the first row,
 * so every input row gets a score. Score a whole history in one call (its first w-1 rows are then
 * the only padded ones); the model trains on the full, unpadded windows of the training rows, with
 * the loss averaged over every step of the window.
 */
export class AttentionAutoencoder extends AutoencoderDetector<
  'attention',
  AttentionAutoencoderOptions,
  TF.Tensor3D,
  AttentionNetwork
> {
  readonly name = 'attention' as const;
  protected readonly noWeightsMessage = 'The attention autoencoder has no weights: call fit() or load().';

  constructor(options: Partial<AttentionAutoencoderOptions> = {}) {
    super(resolveOptions(options));
  }

  /** Input width of the fitted model; undefined before `fit`. */
  get featureCount(): number | undefined {
    return this.network?.architecture.featureCount;
  }

  private architectureFor(featureCount: number): AttentionArchitecture {
    const { windowSize, modelDim, heads, feedForwardDim, latentDim, blocks } = this.options;
    return { featureCount, windowSize, modelDim, heads, feedForwardDim, latentDim, blocks };
  }

  /** Row t is scored by the window of rows t - windowSize + 1 .. t. */
  override get contextRows(): number {
    return this.options.windowSize - 1;
  }

  async fit(train: Matrix, context: FitContext = {}): Promise<this> {
    assertKnownKeys('fit context', context, FIT_CONTEXT_KEYS);
    const detector = 'attention autoencoder';
    const { options } = this;
    const w = options.windowSize;
    // At least two full windows to train on.
    const rowsHint = `windows of windowSize ${w} rows; or lower windowSize`;
    assertModelInput('train', train, { detector, minRows: w + 1, rowsHint: `two full ${rowsHint}` });
    if (context.validation) {
      assertModelInput('validation', context.validation, {
        detector,
        cols: train.cols,
        minRows: w,
        rowsHint: `one full window of windowSize ${w} rows; or lower windowSize`,
      });
    }
    await useBackend();
    this.dispose();
    const cols = train.cols;
    const network = new AttentionNetwork(
      this.architectureFor(cols),
      AttentionNetwork.initialWeights(this.architectureFor(cols), createRandom(options.seed)),
    );
    const trainValues = toFloat32(train);
    const fullWindows = train.rows - w + 1;
    const stride = Math.max(options.trainingStride, Math.ceil(fullWindows / options.maxTrainingWindows));
    // With a stride, each epoch starts its windows at a new seeded offset in [0, stride), so
    // every window is trained on over the epochs; the count stays the same.
    const windowCount = stride === 1 ? fullWindows : Math.floor(fullWindows / stride);
    const offsets = createRandom(options.seed + 1);
    let offset = 0;
    const windowValues = w * cols;
    const batchValues = new Float32Array(options.batchSize * windowValues);
    const validation = context.validation ? toFloat32(context.validation) : undefined;
    await this.trainNetwork(
      network,
      { values: trainValues, rows: train.rows, cols },
      {
        samples: windowCount,
        trimmedShare: options.trimmedShare,
        beginEpoch: () => {
          offset = stride === 1 ? 0 : Math.floor(offsets() * stride);
        },
        batch: (indices) => {
          for (let i = 0; i < indices.length; i++) {
            const start = (offset + indices[i]! * stride) * cols;
            batchValues.set(trainValues.subarray(start, start + windowValues), i * windowValues);
          }
          return tf.tensor3d(batchValues.subarray(0, indices.length * windowValues), [
            indices.length,
            w,
            cols,
          ]);
        },
        validationLoss: () =>
          validation === undefined
            ? undefined
            : windowLoss(network, validation, cols, options.maxValidationWindows),
      },
      context,
    );
    return this;
  }

  protected assertInput(argument: string, X: Matrix, network: AttentionNetwork): void {
    assertModelInput(argument, X, {
      detector: 'attention autoencoder',
      cols: network.architecture.featureCount,
      minRows: network.architecture.windowSize,
      rowsHint: `one full window of windowSize ${network.architecture.windowSize} rows`,
    });
  }

  /**
   * Per row from `fromRow` on: the squared reconstruction errors of the last step of the window
   * ending at that row (reaching back into the earlier rows); a row's score (higher = more
   * anomalous) is their mean. Long runs of rows are split with a second thread.
   */
  protected async squaredErrorsFrom(
    network: AttentionNetwork,
    values: Float32Array,
    cols: number,
    fromRow: number,
  ): Promise<Float32Array> {
    return lastStepErrorsInThreads(network, values, cols, fromRow);
  }

  /**
   * Scores the last row of each of the given windows: `windows` holds `windows.rows / windowSize`
   * windows of `windowSize` consecutive rows each, laid end to end (windows of different series
   * may follow each other, they never mix). Per window, the same score and contributions that
   * `decisionFunction` and `featureContributions` give the last row of a series whose window is
   * full, in one forward pass: the streaming scorer batches many symbols' windows through it.
   */
  async scoreWindows(windows: Matrix): Promise<{ scores: Float64Array; contributions: Matrix }> {
    const network = this.requireNetwork(windows, 'windows');
    const w = network.architecture.windowSize;
    if (windows.rows % w !== 0) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `windows has ${windows.rows} rows, not a multiple of windowSize ${w}: pass whole windows.`,
      );
    }
    const count = windows.rows / w;
    const cols = windows.cols;
    const values = toFloat32(windows);
    const windowValues = w * cols;
    const errors = windowErrors(network, count, cols, (i) =>
      values.subarray(i * windowValues, (i + 1) * windowValues),
    );
    return {
      scores: rowMeans(errors, count, cols),
      contributions: { data: Float64Array.from(errors), rows: count, cols },
    };
  }

  /** Writes `model.json` + `weights.bin` (TensorFlow.js weights format) and `detector.json`. */
  async save(dir: string): Promise<void> {
    await this.saveWith(dir, FORMAT, async (network) => {
      const named = tf.tidy(() =>
        Object.fromEntries([...network.unpack()].map(([name, t]) => [name, tf.keep(t)])),
      );
      try {
        const artifacts = await artifactsFromTensors(
          MODEL_FORMAT,
          { architecture: network.architecture },
          named,
        );
        await fileModelHandler(dir).save(artifacts);
      } finally {
        tf.dispose(named);
      }
    });
  }

  /**
   * Loads a folder written by `save`. Refuses (CoreError `MODEL_MISMATCH`) another detector's
   * folder, another format version, or, when `expected.featureCount` is given, another feature count.
   */
  static async load(dir: string, expected: { featureCount?: number } = {}): Promise<AttentionAutoencoder> {
    assertKnownKeys('load expected', expected, LOAD_KEYS);
    await useBackend();
    const state = await readSavedState<'attention', AttentionAutoencoderOptions>(dir, FORMAT, expected);
    const modelPath = join(dir, MODEL_JSON);
    const detector = fromSavedOptions(
      join(dir, 'detector.json'),
      () =>
        new AttentionAutoencoder(
          savedOptions(state.options, Object.keys(DEFAULT_ATTENTION_AUTOENCODER_OPTIONS)),
        ),
    );
    // Sizes and finite values of the weights are checked by the handler.
    const artifacts = await fileModelHandler(dir).load();
    if (artifacts.format !== MODEL_FORMAT) {
      throw modelInvalid(
        modelPath,
        `format must be "${MODEL_FORMAT}", got ${JSON.stringify(artifacts.format)}`,
      );
    }
    const { architecture } = parseModelFile(
      z.object({ architecture: architectureSchema }),
      artifacts.modelTopology,
      modelPath,
      ['modelTopology'],
    );
    if (architecture.featureCount !== state.featureCount) {
      throw modelInvalid(
        modelPath,
        `modelTopology.architecture.featureCount is ${architecture.featureCount}, but detector.json says ` +
          `${state.featureCount}: the folder mixes two models`,
      );
    }
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    try {
      const initial = new Map<string, Float32Array>();
      for (const name of AttentionNetwork.weightNames(architecture)) {
        const tensor = tensors[name];
        if (!tensor) {
          throw modelInvalid(join(dir, WEIGHTS_BIN), `has no weight "${name}" (listed in ${modelPath})`);
        }
        initial.set(name, tensor.dataSync() as Float32Array);
      }
      let network: AttentionNetwork;
      try {
        network = new AttentionNetwork(architecture, initial);
      } catch (error) {
        throw modelInvalid(
          modelPath,
          `its weights do not fit its architecture (${(error as Error).message})`,
          {
            cause: error,
          },
        );
      }
      return detector.restoreFrom(network, state);
    } finally {
      for (const tensor of Object.values(tensors)) tensor.dispose();
    }
  }
}

/** `modelTopology.architecture` of a saved attention autoencoder. */
const architectureSchema = z
  .object({
    featureCount: z.number().int().min(1),
    windowSize: z.number().int().min(2),
    modelDim: z.number().int().min(1),
    heads: z.number().int().min(1),
    feedForwardDim: z.number().int().min(1),
    latentDim: z.number().int().min(1),
    blocks: z.number().int().min(1),
  })
  .refine((a) => a.modelDim % a.heads === 0, {
    path: ['heads'],
    message: 'must divide modelDim',
  });

/**
 * When scoring splits its windows with a second thread: from `threadFrom` windows, on a machine of
 * two cores or more (below, starting a thread and TensorFlow.js in it, about a second, costs more
 * than half the windows). Tests lower it.
 */
export const attentionScoring = { threadFrom: 16_384, threadsRun: 0 };

/**
 * `lastStepErrors`, with the second half of the windows scored in a worker thread (its own
 * TensorFlow.js backend, the same weights) while this thread scores the first. The halves meet
 * on a chunk boundary, so every window is scored in the same chunk as in one thread and the
 * errors are the same (tested). If the thread fails, this thread scores its half too.
 */
async function lastStepErrorsInThreads(
  network: AttentionNetwork,
  values: Float32Array,
  cols: number,
  fromRow: number,
): Promise<Float32Array> {
  const w = network.architecture.windowSize;
  const count = values.length / cols - fromRow;
  const splitRow = fromRow + Math.ceil(count / 2 / SCORING_CHUNK) * SCORING_CHUNK;
  const backend = currentBackend();
  if (count < attentionScoring.threadFrom || availableParallelism() < 2 || !backend || splitRow - w + 1 < 0) {
    return lastStepErrors(network, values, cols, fromRow);
  }
  // The thread's rows start w - 1 rows before its first window's last row: full windows only.
  const contextStart = splitRow - (w - 1);
  const second = scoreInThread({
    architecture: network.architecture,
    parameters: Float32Array.from(network.parameters.dataSync() as Float32Array),
    values: values.slice(contextStart * cols),
    cols,
    fromRow: w - 1,
    backend: preferenceOf(backend),
  }).then(
    (errors) => ({ errors }),
    (error: unknown) => ({ error }),
  );
  const errors = new Float32Array(count * cols);
  errors.set(lastStepErrors(network, values.subarray(0, splitRow * cols), cols, fromRow));
  const outcome = await second;
  if ('errors' in outcome) attentionScoring.threadsRun++;
  errors.set(
    'errors' in outcome ? outcome.errors : lastStepErrors(network, values, cols, splitRow),
    (splitRow - fromRow) * cols,
  );
  return errors;
}

/** What the scoring thread (attention-scoring-thread.ts) is handed. */
export interface ScoringThreadRequest {
  architecture: AttentionArchitecture;
  /** The network's flat parameters. */
  parameters: Float32Array;
  values: Float32Array;
  cols: number;
  fromRow: number;
  backend: BackendPreference;
}

function scoreInThread(request: ScoringThreadRequest): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const thread = startWorker('./attention-scoring-thread', import.meta.url, request);
    thread.once('message', (reply: { errors?: Float32Array; message?: string }) => {
      void thread.terminate();
      if (reply.errors) resolve(reply.errors);
      else reject(new Error(reply.message));
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the scoring thread ended (exit code ${code})`)));
  });
}

/**
 * Squared errors ((rows - fromRow) × cols) of the last step of the window of each row from
 * `fromRow` on, the first windows padded by repeating the first row.
 */
export function lastStepErrors(
  network: AttentionNetwork,
  values: Float32Array,
  cols: number,
  fromRow: number,
): Float32Array {
  const w = network.architecture.windowSize;
  const rows = values.length / cols;
  if (fromRow >= w - 1) {
    // Every window is full: rows t-w+1..t of values, no padded copy.
    return windowErrors(network, rows - fromRow, cols, (i) =>
      values.subarray((fromRow + i - w + 1) * cols, (fromRow + i + 1) * cols),
    );
  }
  const padded = new Float32Array((rows + w - 1) * cols);
  for (let r = 0; r < w - 1; r++) padded.set(values.subarray(0, cols), r * cols);
  padded.set(values, (w - 1) * cols);
  // Window of row t = padded rows t..t+w-1.
  return windowErrors(network, rows - fromRow, cols, (i) =>
    padded.subarray((fromRow + i) * cols, (fromRow + i + w) * cols),
  );
}

/**
 * Squared errors (count × cols) of the last step of `count` windows (`windowAt(i)`: w × cols
 * values), a forward pass per `SCORING_CHUNK` windows.
 */
function windowErrors(
  network: AttentionNetwork,
  count: number,
  cols: number,
  windowAt: (index: number) => Float32Array,
): Float32Array {
  const w = network.architecture.windowSize;
  const errors = new Float32Array(count * cols);
  const windowValues = w * cols;
  const chunkValues = new Float32Array(Math.min(SCORING_CHUNK, count) * windowValues);
  for (let start = 0; start < count; start += SCORING_CHUNK) {
    const size = Math.min(SCORING_CHUNK, count - start);
    for (let i = 0; i < size; i++) chunkValues.set(windowAt(start + i), i * windowValues);
    const chunk = tf.tidy(() => {
      const x = tf.tensor3d(chunkValues.subarray(0, size * windowValues), [size, w, cols]);
      const reconstruction = network.reconstruct(x);
      return tf.squaredDifference(
        tf.slice(reconstruction, [0, w - 1, 0], [size, 1, cols]),
        tf.slice(x, [0, w - 1, 0], [size, 1, cols]),
      );
    });
    errors.set(chunk.dataSync() as Float32Array, start * cols);
    chunk.dispose();
  }
  return errors;
}

/**
 * Mean squared error over the full windows of `values` (the training loss, on other rows): every
 * window, or every k-th (k = ceil(windows / maxWindows)) when there are more than `maxWindows`.
 */
function windowLoss(
  network: AttentionNetwork,
  values: Float32Array,
  cols: number,
  maxWindows: number,
): number {
  const w = network.architecture.windowSize;
  const fullWindows = values.length / cols - w + 1;
  const stride = Math.ceil(fullWindows / maxWindows);
  const windows = Math.ceil(fullWindows / stride);
  const windowValues = w * cols;
  const chunkValues = new Float32Array(Math.min(SCORING_CHUNK, windows) * windowValues);
  let sum = 0;
  for (let start = 0; start < windows; start += SCORING_CHUNK) {
    const count = Math.min(SCORING_CHUNK, windows - start);
    for (let i = 0; i < count; i++) {
      const first = (start + i) * stride * cols;
      chunkValues.set(values.subarray(first, first + windowValues), i * windowValues);
    }
    const loss = tf.tidy(() =>
      tf.mul(
        network.loss(tf.tensor3d(chunkValues.subarray(0, count * windowValues), [count, w, cols])),
        count,
      ),
    );
    sum += loss.dataSync()[0]!;
    loss.dispose();
  }
  return sum / windows;
}
