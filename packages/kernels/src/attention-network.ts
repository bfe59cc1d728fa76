import type { KernelExports } from './api.js';
import { KernelError } from './errors.js';
import { assertParameterVectors } from './validate.js';
import { instantiateKernels } from './wasm.js';

/** The shape of a self-attention autoencoder (core's AttentionArchitecture). */
export interface AttentionKernelArchitecture {
  featureCount: number;
  windowSize: number;
  modelDim: number;
  heads: number;
  feedForwardDim: number;
  latentDim: number;
  blocks: number;
}

/** The parameters of the attention autoencoder of this shape, in core's weight order. */
export function attentionParameterCount(a: AttentionKernelArchitecture): number {
  const { featureCount: f, windowSize: w, modelDim: d, feedForwardDim: ff, latentDim: z, blocks } = a;
  const block = 4 * (d * d + d) + 2 * d + (d * ff + ff) + (ff * d + d) + 2 * d;
  return f * d + d + 2 * blocks * block + (w * d * z + z) + (z * w * d + w * d) + (d * f + f);
}

const FIELDS = [
  'featureCount',
  'windowSize',
  'modelDim',
  'heads',
  'feedForwardDim',
  'latentDim',
  'blocks',
] as const;

/**
 * A self-attention autoencoder's training-step arithmetic in one WebAssembly call: forward through
 * the network window by window, the trimmed mean squared reconstruction error, and its gradient
 * with respect to the flat parameter vector (assembly/attention-network.ts says the network and
 * the parameter order). Each instance has its own WebAssembly memory, sized for the largest batch
 * seen.
 */
export class AttentionLossGradient {
  readonly parameterCount: number;
  private readonly kernels: KernelExports;
  private readonly shape: number;
  private readonly params: number;
  private readonly positions: number;
  private readonly gradient: number;
  private readonly base: number;
  private capacity = 0;
  private x = 0;
  private scratch = 0;
  private errors = 0;

  constructor(readonly architecture: AttentionKernelArchitecture) {
    for (const field of FIELDS) {
      const value = architecture[field];
      if (!(Number.isInteger(value) && value >= 1)) {
        throw new KernelError(
          'INVALID_ARGUMENT',
          `architecture.${field} must be a positive integer, got ${JSON.stringify(value)}.`,
        );
      }
    }
    if (architecture.modelDim % architecture.heads !== 0) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `architecture.modelDim (${architecture.modelDim}) must be divisible by heads (${architecture.heads}).`,
      );
    }
    this.parameterCount = attentionParameterCount(architecture);
    const k = instantiateKernels();
    this.kernels = k;
    this.shape = k.allocate(FIELDS.length * 4);
    new Int32Array(k.memory.buffer, this.shape, FIELDS.length).set(
      FIELDS.map((field) => architecture[field]),
    );
    this.params = k.allocate(this.parameterCount * 4);
    this.gradient = k.allocate(this.parameterCount * 4);
    this.positions = k.allocate(architecture.windowSize * architecture.modelDim * 4);
    this.base = k.heapMark();
  }

  /**
   * The loss of windows `x` (batch × windowSize × featureCount, row-major float32): the mean over
   * windows of each window's mean squared error, leaving out the `trimmedShare` of windows
   * (rounded down) with the largest error, ties keeping the earlier window. Writes the loss's
   * gradient with respect to `parameters` to `gradient`, and returns the loss. `positions`:
   * the windowSize × modelDim positional encoding added after the input and expand layers.
   */
  compute(
    parameters: Float32Array,
    positions: Float32Array,
    x: Float32Array,
    trimmedShare: number,
    gradient: Float32Array,
  ): number {
    const { windowSize, featureCount, modelDim } = this.architecture;
    const batch = x.length / (windowSize * featureCount);
    assertParameterVectors(this.parameterCount, parameters, gradient);
    if (!Number.isInteger(batch) || batch < 1) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `x must be whole windows of ${windowSize} × ${featureCount} values, got ${x.length} values.`,
      );
    }
    if (positions.length !== windowSize * modelDim) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `positions must hold windowSize × modelDim = ${windowSize * modelDim} values, got ${positions.length}.`,
      );
    }
    if (!(trimmedShare >= 0 && trimmedShare < 1)) {
      throw new KernelError('INVALID_ARGUMENT', `trimmedShare must be in [0, 1), got ${trimmedShare}.`);
    }
    const k = this.kernels;
    if (batch > this.capacity) {
      k.releaseHeap(this.base);
      this.x = k.allocate(x.length * 4);
      this.errors = k.allocate(batch * 4);
      this.scratch = k.allocate(k.attentionScratchFloats(this.shape, batch) * 4);
      this.capacity = batch;
    }
    const buffer = k.memory.buffer;
    new Float32Array(buffer, this.params, this.parameterCount).set(parameters);
    new Float32Array(buffer, this.positions, positions.length).set(positions);
    new Float32Array(buffer, this.x, x.length).set(x);
    const loss = k.attentionLossGradient(
      this.shape,
      this.params,
      this.positions,
      this.x,
      batch,
      trimmedShare,
      this.scratch,
      this.gradient,
      this.errors,
    );
    gradient.set(new Float32Array(k.memory.buffer, this.gradient, this.parameterCount));
    return loss;
  }
}
