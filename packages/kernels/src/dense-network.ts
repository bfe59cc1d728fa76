import type { KernelExports } from './api.js';
import { KernelError } from './errors.js';
import { assertParameterVectors } from './validate.js';
import { instantiateKernels } from './wasm.js';

/** Activations of a dense network's hidden layers (its output layer is linear). */
export type DenseKernelActivation = 'relu' | 'tanh' | 'elu' | 'sigmoid';

const ACTIVATION_CODES: Record<DenseKernelActivation, number> = { relu: 0, tanh: 1, elu: 2, sigmoid: 3 };

/** The parameters of a dense network of these widths: per layer an in × out kernel and a bias. */
export function denseParameterCount(layerSizes: readonly number[]): number {
  let count = 0;
  for (let l = 1; l < layerSizes.length; l++) count += layerSizes[l - 1]! * layerSizes[l]! + layerSizes[l]!;
  return count;
}

/**
 * The training step's arithmetic of a dense autoencoder in one WebAssembly call: forward through
 * every layer, the mean squared reconstruction error, and its gradient with respect to the flat
 * parameter vector (per layer: kernel in × out row-major, then bias). Each instance has its own
 * WebAssembly memory, sized for the largest batch seen, so it holds no lock and shares nothing.
 */
export class DenseLossGradient {
  readonly parameterCount: number;
  private readonly kernels: KernelExports;
  private readonly activation: number;
  private readonly sizes: number;
  private readonly params: number;
  private readonly gradient: number;
  private capacity = 0;
  private x = 0;
  private scratch = 0;
  private readonly base: number;

  constructor(
    /** Widths from input to output, e.g. [8, 1, 8]. */
    readonly layerSizes: readonly number[],
    activation: DenseKernelActivation,
  ) {
    if (layerSizes.length < 2 || !layerSizes.every((w) => Number.isInteger(w) && w > 0)) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `layerSizes must be at least two positive integer widths, got ${JSON.stringify(layerSizes)}.`,
      );
    }
    if (layerSizes.at(-1) !== layerSizes[0]) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `layerSizes ${JSON.stringify(layerSizes)}: an autoencoder's output is as wide as its input (the loss compares them).`,
      );
    }
    const code = ACTIVATION_CODES[activation];
    if (code === undefined) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `activation must be one of ${Object.keys(ACTIVATION_CODES).join(', ')}, got ${JSON.stringify(activation)}.`,
      );
    }
    this.activation = code;
    this.parameterCount = denseParameterCount(layerSizes);
    this.kernels = instantiateKernels();
    const k = this.kernels;
    this.sizes = k.allocate(layerSizes.length * 4);
    new Int32Array(k.memory.buffer, this.sizes, layerSizes.length).set(layerSizes);
    this.params = k.allocate(this.parameterCount * 4);
    this.gradient = k.allocate(this.parameterCount * 4);
    this.base = k.heapMark();
  }

  /**
   * The mean over rows × columns of (network(x) − x)², for `x` the rows (row-major float32, a
   * multiple of the input width long) and `parameters` the flat vector; the gradient of that mean
   * is written to `gradient` (parameterCount long).
   */
  compute(parameters: Float32Array, x: Float32Array, gradient: Float32Array): number {
    const cols = this.layerSizes[0]!;
    const rows = x.length / cols;
    assertParameterVectors(this.parameterCount, parameters, gradient);
    if (!Number.isInteger(rows) || rows < 1) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `x must be whole rows of ${cols} values, got ${x.length} values.`,
      );
    }
    const k = this.kernels;
    if (rows > this.capacity) {
      k.releaseHeap(this.base);
      this.x = k.allocate(rows * cols * 4);
      this.scratch = k.allocate(k.denseScratchFloats(this.sizes, this.layerSizes.length - 1, rows) * 4);
      this.capacity = rows;
    }
    const buffer = k.memory.buffer;
    new Float32Array(buffer, this.params, this.parameterCount).set(parameters);
    new Float32Array(buffer, this.x, x.length).set(x);
    const loss = k.denseLossGradient(
      this.sizes,
      this.layerSizes.length - 1,
      this.activation,
      this.params,
      this.x,
      rows,
      this.scratch,
      this.gradient,
    );
    gradient.set(new Float32Array(k.memory.buffer, this.gradient, this.parameterCount));
    return loss;
  }
}
