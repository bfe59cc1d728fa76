import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import type { Matrix, ThresholdMethod } from '../api.js';
import { useBackend } from '../backend.js';
import { CoreError } from '../errors.js';
import { fromSavedOptions, modelInvalid } from '../model-files.js';
import { DENSE_ACTIVATIONS, type DenseActivation, DenseNetwork } from '../tf/dense-network.js';
import { artifactsFromTensors, fileModelHandler, MODEL_JSON } from '../tf/io.js';
import { assertModelInput, assertPositiveInteger, toFloat32 } from '../tf/matrix.js';
import { createRandom } from '../tf/random.js';
import { tf } from '../tf/tensorflow.js';
import { DEFAULT_THRESHOLD } from '../thresholds.js';
import { assertKnownKeys, savedOptions, withDefaults } from '../validate.js';
import {
  AutoencoderDetector,
  assertTrainingOptions,
  readSavedState,
  type SavedFormat,
} from './autoencoder.js';
import { FIT_CONTEXT_KEYS, type FitContext, LOAD_KEYS } from './detector.js';

export type { DenseActivation } from '../tf/dense-network.js';

/** Settings of the dense autoencoder; every field has the default shown. */
export interface DenseAutoencoderOptions {
  /**
   * Encoder widths; the decoder mirrors them: [8, 2] gives F→8→2→8→F. Default [1]: F→1→F, the
   * rows pressed through ONE number. A code that can carry every input (the former [32, 16, 8]
   * for eight relative features) learns to copy them, and its errors then mark only where the
   * copy is imperfect (thinly populated corners of the training rows such as 2017's regimes), not
   * how unusual a candle is; a one-number code carries the features' shared level (range and
   * volume against their usual levels) and leaves the candle's own signed move unreconstructed,
   * so a move far from usual scores high (docs/autoencoders.md, _Why a code of one_).
   */
  hiddenLayers: readonly number[];
  /**
   * Activation of every hidden layer; the output layer is linear. Default `sigmoid`: with the
   * one-number code (batch 256) sample-market ROC-AUC 0.774 against 0.735 for tanh; elu ranked
   * about as well (0.791) but put more of its ETHUSDT 4h flags in 2017 (docs/autoencoders.md).
   */
  activation: DenseActivation;
  /**
   * Most passes over the training rows. Default 200: a cap that early stopping ends first (42-134
   * epochs on the six Binance histories).
   */
  epochs: number;
  /** Rows per Adam step. Default 1024 (the network is tiny: larger steps cost little more than small ones). */
  batchSize: number;
  /** Adam's learning rate. Default 0.01. */
  learningRate: number;
  /** Epochs without a lower validation loss before stopping; the best epoch's weights are kept. Default 6. */
  patience: number;
  /**
   * Smallest relative fall of the validation loss that counts as lower (resets patience): a loss
   * creeping down by less per epoch is a plateau. Default 0.001 (0.1%).
   */
  minImprovement: number;
  /** Seeds the initial weights and the batch order: same seed and backend, same scores. Default 42. */
  seed: number;
  /** How the threshold is fitted on the training scores. Default: contamination 0.01. */
  threshold: ThresholdMethod;
}

export const DEFAULT_DENSE_AUTOENCODER_OPTIONS: Readonly<DenseAutoencoderOptions> = Object.freeze({
  hiddenLayers: Object.freeze([1]),
  activation: 'sigmoid',
  epochs: 200,
  batchSize: 1024,
  learningRate: 1e-2,
  patience: 6,
  minImprovement: 1e-3,
  seed: 42,
  threshold: DEFAULT_THRESHOLD,
});

/** Version of the saved folder's layout; load refuses others. */
export const DENSE_AUTOENCODER_FORMAT_VERSION = 1;
const FORMAT: SavedFormat<'autoencoder'> = {
  name: 'autoencoder',
  formatVersion: DENSE_AUTOENCODER_FORMAT_VERSION,
  label: 'dense autoencoder',
  folder: "the autoencoder's folder",
};
/** Rows per forward pass when scoring (bounds memory on long histories). */
const SCORING_CHUNK = 8192;

function resolveOptions(options: Partial<DenseAutoencoderOptions>): DenseAutoencoderOptions {
  const resolved = withDefaults('DenseAutoencoder options', DEFAULT_DENSE_AUTOENCODER_OPTIONS, options);
  if (!Array.isArray(resolved.hiddenLayers) || resolved.hiddenLayers.length === 0) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `hiddenLayers must be a non-empty list of layer widths, got ${JSON.stringify(resolved.hiddenLayers)}. ` +
        'Use for example [32, 16, 8].',
    );
  }
  for (const width of resolved.hiddenLayers) {
    assertPositiveInteger('hiddenLayers[]', width, 'Layer widths are positive integers, e.g. [32, 16, 8].');
  }
  if (!DENSE_ACTIVATIONS.includes(resolved.activation)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `activation must be one of ${DENSE_ACTIVATIONS.join(', ')}, got "${resolved.activation}".`,
    );
  }
  assertTrainingOptions(resolved, { epochs: 60, batchSize: 256, patience: 6 });
  return { ...resolved, hiddenLayers: [...resolved.hiddenLayers] };
}

/**
 * A dense autoencoder in TensorFlow.js: the anomaly score of a row is its mean squared
 * reconstruction error (higher = more anomalous), and the per-feature squared errors say which
 * features made it anomalous.
 */
export class DenseAutoencoder extends AutoencoderDetector<
  'autoencoder',
  DenseAutoencoderOptions,
  TF.Tensor2D,
  DenseNetwork
> {
  readonly name = 'autoencoder' as const;
  protected readonly noWeightsMessage = 'The autoencoder has no weights: call fit() or load().';

  constructor(options: Partial<DenseAutoencoderOptions> = {}) {
    super(resolveOptions(options));
  }

  /** Input width of the fitted model; undefined before `fit`. */
  get featureCount(): number | undefined {
    return this.network?.layerSizes[0];
  }

  async fit(train: Matrix, context: FitContext = {}): Promise<this> {
    assertKnownKeys('fit context', context, FIT_CONTEXT_KEYS);
    const detector = 'dense autoencoder';
    assertModelInput('train', train, { detector, minRows: 2 });
    if (context.validation) {
      // An empty validation set means none: early stopping then watches the training loss.
      assertModelInput('validation', context.validation, { detector, cols: train.cols, minRows: 0 });
    }
    await useBackend();
    this.dispose();
    const { options } = this;
    const layerSizes = [
      train.cols,
      ...options.hiddenLayers,
      ...[...options.hiddenLayers].reverse().slice(1),
      train.cols,
    ];
    const random = createRandom(options.seed);
    const network = new DenseNetwork(
      layerSizes,
      options.activation,
      DenseNetwork.initialParameters(layerSizes, random),
    );
    const trainValues = toFloat32(train);
    const cols = train.cols;
    const batchValues = new Float32Array(options.batchSize * cols);
    const validation =
      context.validation && context.validation.rows > 0 ? toFloat32(context.validation) : undefined;
    await this.trainNetwork(
      network,
      { values: trainValues, rows: train.rows, cols },
      {
        samples: train.rows,
        batch: (indices) => {
          // Gather the batch in JS: one upload per step (tf.slice/gather of the whole
          // training tensor read it back on the wasm backend). Value by value: a subarray per
          // row of 8 values cost more than the step's arithmetic.
          for (let i = 0, to = 0; i < indices.length; i++) {
            const from = indices[i]! * cols;
            for (let c = 0; c < cols; c++) batchValues[to++] = trainValues[from + c]!;
          }
          return tf.tensor2d(batchValues.subarray(0, indices.length * cols), [indices.length, cols]);
        },
        validationLoss: () =>
          validation === undefined ? undefined : meanOf(squaredErrors(network, validation, cols)),
      },
      context,
    );
    return this;
  }

  protected assertInput(argument: string, X: Matrix, network: DenseNetwork): void {
    assertModelInput(argument, X, { detector: 'dense autoencoder', cols: network.layerSizes[0]! });
  }

  /** Rows are scored alone: the squared errors of the rows from `fromRow` on. */
  protected async squaredErrorsFrom(
    network: DenseNetwork,
    values: Float32Array,
    cols: number,
    fromRow: number,
  ): Promise<Float32Array> {
    return squaredErrors(network, values.subarray(fromRow * cols), cols);
  }

  /**
   * Writes `model.json` + `weights.bin` (a standard TensorFlow.js layers model: a Keras
   * `Sequential` of `Dense` layers, loadable with tfjs-layers' `tf.loadLayersModel`) and
   * `detector.json` (options, threshold, feature count, version, history).
   */
  async save(dir: string): Promise<void> {
    await this.saveWith(dir, FORMAT, async (network) => {
      const named: Record<string, TF.Tensor> = {};
      network.unpack().forEach((tensor, i) => {
        named[`dense_${Math.floor(i / 2)}/${i % 2 === 0 ? 'kernel' : 'bias'}`] = tensor;
      });
      try {
        const artifacts = await artifactsFromTensors(
          LAYERS_MODEL_FORMAT,
          sequentialDenseTopology(network.layerSizes, network.activation),
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
  static async load(dir: string, expected: { featureCount?: number } = {}): Promise<DenseAutoencoder> {
    assertKnownKeys('load expected', expected, LOAD_KEYS);
    await useBackend();
    const state = await readSavedState<'autoencoder', DenseAutoencoderOptions>(dir, FORMAT, expected);
    const modelPath = join(dir, MODEL_JSON);
    const detector = fromSavedOptions(
      join(dir, 'detector.json'),
      () => new DenseAutoencoder(savedOptions(state.options, Object.keys(DEFAULT_DENSE_AUTOENCODER_OPTIONS))),
    );
    // The handler checks the files (sizes, finite weights); the shapes must chain layer to layer.
    const artifacts = await fileModelHandler(dir).load();
    if (artifacts.format !== LAYERS_MODEL_FORMAT) {
      throw modelInvalid(
        modelPath,
        `is not a layers model this version can read (format ${JSON.stringify(artifacts.format)}, expected "${LAYERS_MODEL_FORMAT}")`,
      );
    }
    const specs = artifacts.weightSpecs!;
    const layerSizes = denseLayerSizes(specs.map((spec) => spec.shape));
    if (!layerSizes || layerSizes[0] !== state.featureCount || layerSizes.at(-1) !== state.featureCount) {
      throw modelInvalid(
        modelPath,
        `holds weights of shapes ${JSON.stringify(specs.map((spec) => spec.shape))}, not a dense ` +
          `autoencoder of ${state.featureCount} features (detector.json): the folder mixes two models`,
      );
    }
    // The weights in manifest order are the network's flat parameter vector (kernel, bias per layer).
    const parameters = new Float32Array(artifacts.weightData as ArrayBuffer);
    return detector.restoreFrom(new DenseNetwork(layerSizes, detector.options.activation, parameters), state);
  }
}

/** `format` of a TensorFlow.js layers model's model.json. */
const LAYERS_MODEL_FORMAT = 'layers-model';

/**
 * The Keras topology tfjs-layers writes for a `Sequential` of `Dense` layers (what
 * `tf.sequential()` + `tf.layers.dense` saved before core stopped depending on tfjs-layers).
 */
function sequentialDenseTopology(layerSizes: readonly number[], activation: string): object {
  const layers = [];
  for (let l = 0; l + 1 < layerSizes.length; l++) {
    layers.push({
      class_name: 'Dense',
      config: {
        units: layerSizes[l + 1]!,
        activation: l === layerSizes.length - 2 ? 'linear' : activation,
        use_bias: true,
        kernel_initializer: {
          class_name: 'VarianceScaling',
          config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
        },
        bias_initializer: { class_name: 'Zeros', config: {} },
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
        name: `dense_${l}`,
        trainable: true,
        ...(l === 0 ? { batch_input_shape: [null, layerSizes[0]!], dtype: 'float32' } : {}),
      },
    });
  }
  return {
    class_name: 'Sequential',
    config: { name: 'sequential', layers },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
}

/**
 * Layer widths [input, hidden..., output] of kernel/bias pairs chained layer to layer, or
 * undefined when the shapes are not such a chain.
 */
function denseLayerSizes(shapes: readonly number[][]): number[] | undefined {
  if (shapes.length === 0 || shapes.length % 2 !== 0) return undefined;
  const sizes = [shapes[0]![0]!];
  for (let i = 0; i < shapes.length; i += 2) {
    const [kernel, bias] = [shapes[i]!, shapes[i + 1]!];
    if (kernel.length !== 2 || bias.length !== 1 || kernel[0] !== sizes.at(-1) || bias[0] !== kernel[1]) {
      return undefined;
    }
    sizes.push(kernel[1]!);
  }
  return sizes;
}

/** Squared reconstruction errors (rows × cols) of row-major float32 rows, scored in chunks. */
function squaredErrors(network: DenseNetwork, values: Float32Array, cols: number): Float32Array {
  const rows = values.length / cols;
  const errors = new Float32Array(values.length);
  for (let start = 0; start < rows; start += SCORING_CHUNK) {
    const count = Math.min(SCORING_CHUNK, rows - start);
    const chunk = tf.tidy(() => {
      const x = tf.tensor2d(values.subarray(start * cols, (start + count) * cols), [count, cols]);
      return tf.squaredDifference(network.predict(x), x);
    });
    errors.set(chunk.dataSync() as Float32Array, start * cols);
    chunk.dispose();
  }
  return errors;
}

function meanOf(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}
