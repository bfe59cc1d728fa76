import type * as TF from '@tensorflow/tfjs-core';
import { denseLossGradient, hasFusedKernels } from './fused-kernels.js';
import { glorotUniform } from './random.js';
import { tf } from './tensorflow.js';

/** Activations of the hidden layers (the output layer is linear). */
export type DenseActivation = 'relu' | 'tanh' | 'elu' | 'sigmoid';

export const DENSE_ACTIVATIONS: readonly DenseActivation[] = Object.freeze([
  'relu',
  'tanh',
  'elu',
  'sigmoid',
]);

/**
 * A fully connected network whose parameters live in ONE flat variable (kernels row-major
 * `in × out`, then biases, layer after layer), with a hand-written backward pass.
 *
 * Why not `model.fit` or `optimizer.minimize`: on the wasm backend a small network's step is
 * dominated by per-op overhead, and by `matMul` with a transposed operand, which autodiff uses for
 * every kernel gradient and which the wasm backend runs several times slower than an explicit
 * `transpose` followed by a plain `matMul` (see docs/autoencoders.md for the measurements).
 */
export class DenseNetwork {
  readonly parameters: TF.Variable<TF.Rank.R1>;
  readonly parameterCount: number;
  /** Sizes of the flat vector's pieces: kernel, bias, kernel, bias, ... */
  private readonly pieceSizes: number[];

  constructor(
    /** Widths from input to output, e.g. [11, 32, 16, 8, 16, 32, 11]. */
    readonly layerSizes: readonly number[],
    readonly activation: DenseActivation,
    initial: Float32Array,
    /** Forward layers as one fused matMul + bias + activation kernel (false only to measure the gain). */
    private readonly fused = true,
  ) {
    this.pieceSizes = [];
    for (let l = 1; l < layerSizes.length; l++) {
      this.pieceSizes.push(layerSizes[l - 1]! * layerSizes[l]!, layerSizes[l]!);
    }
    this.parameterCount = this.pieceSizes.reduce((sum, size) => sum + size, 0);
    if (initial.length !== this.parameterCount) {
      throw new Error(`DenseNetwork: expected ${this.parameterCount} parameters, got ${initial.length}`);
    }
    this.parameters = tf.tidy(() => tf.variable(tf.tensor1d(initial), true));
  }

  /** Glorot-uniform kernels and zero biases from a seeded generator, as a flat vector. */
  static initialParameters(layerSizes: readonly number[], random: () => number): Float32Array {
    const pieces: Float32Array[] = [];
    for (let l = 1; l < layerSizes.length; l++) {
      pieces.push(
        glorotUniform(layerSizes[l - 1]!, layerSizes[l]!, random),
        new Float32Array(layerSizes[l]!),
      );
    }
    const flat = new Float32Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
    let offset = 0;
    for (const piece of pieces) {
      flat.set(piece, offset);
      offset += piece.length;
    }
    return flat;
  }

  get layerCount(): number {
    return this.layerSizes.length - 1;
  }

  /** Kernels and biases as separate tensors [kernel0, bias0, kernel1, ...]; call inside tidy. */
  unpack(): TF.Tensor[] {
    const pieces = tf.split(this.parameters, this.pieceSizes);
    return pieces.map((piece, i) =>
      i % 2 === 0 ? tf.reshape(piece, [this.layerSizes[i / 2]!, this.layerSizes[i / 2 + 1]!]) : piece,
    );
  }

  private activate(z: TF.Tensor2D): TF.Tensor2D {
    switch (this.activation) {
      case 'relu':
        return tf.relu(z);
      case 'tanh':
        return tf.tanh(z);
      case 'elu':
        return tf.elu(z);
      case 'sigmoid':
        return tf.sigmoid(z);
    }
  }

  /**
   * delta · d activation / dz, written with the activation's output h and without scalar
   * operands where possible (the wasm backend's broadcasting binary ops cost about twice the
   * same-shape ones).
   */
  private backpropagateActivation(delta: TF.Tensor2D, h: TF.Tensor2D): TF.Tensor2D {
    switch (this.activation) {
      case 'relu':
        return tf.mul(delta, tf.step(h));
      case 'tanh': // delta (1 - h²) = delta - delta h h
        return tf.sub(delta, tf.mul(tf.mul(delta, h), h));
      case 'elu': // h + 1 below zero, 1 above
        return tf.mul(delta, tf.add(tf.minimum(h, 0), 1));
      case 'sigmoid': // delta h (1 - h) = delta (h - h²)
        return tf.mul(delta, tf.sub(h, tf.square(h)));
    }
  }

  /** Outputs of every layer, input first; call inside tidy. */
  private layerOutputs(x: TF.Tensor2D, pieces: TF.Tensor[]): TF.Tensor2D[] {
    const outputs: TF.Tensor2D[] = [x];
    let h = x;
    for (let l = 0; l < this.layerCount; l++) {
      const kernel = pieces[2 * l] as TF.Tensor2D;
      const bias = pieces[2 * l + 1]!;
      const last = l === this.layerCount - 1;
      if (this.fused && (last || this.activation !== 'tanh')) {
        // One fused kernel for matMul + bias + activation (tanh has no fused form).
        h = tf.fused.matMul({
          a: h,
          b: kernel,
          bias,
          activation: last ? 'linear' : (this.activation as 'relu' | 'elu' | 'sigmoid'),
        }) as TF.Tensor2D;
      } else {
        h = this.activate(tf.add(tf.matMul(h, kernel), bias) as TF.Tensor2D);
      }
      outputs.push(h);
    }
    return outputs;
  }

  /** The network's output for `x` (rows × input width); call inside tidy. */
  predict(x: TF.Tensor2D): TF.Tensor2D {
    const outputs = this.layerOutputs(x, this.unpack());
    return outputs[outputs.length - 1]!;
  }

  /**
   * Mean squared reconstruction error of `x` and its gradient with respect to the flat
   * parameters; call inside tidy. On the wasm and cpu backends one fused kernel computes both
   * (fused-kernels.ts); elsewhere the TensorFlow.js ops of `lossAndGradientOps`.
   */
  lossAndGradient(x: TF.Tensor2D): { loss: TF.Scalar; gradient: TF.Tensor1D } {
    if (hasFusedKernels()) {
      return denseLossGradient(x, this.parameters, this.layerSizes, this.activation);
    }
    return this.lossAndGradientOps(x);
  }

  /** `lossAndGradient` in TensorFlow.js ops, by explicit backpropagation; call inside tidy. */
  lossAndGradientOps(x: TF.Tensor2D): { loss: TF.Scalar; gradient: TF.Tensor1D } {
    const pieces = this.unpack();
    const outputs = this.layerOutputs(x, pieces);
    const output = outputs[outputs.length - 1]!;
    const difference = tf.sub(output, x);
    const loss = tf.mean(tf.square(difference)) as TF.Scalar;
    // d loss / d output for the mean over rows × columns.
    let delta = tf.mul(difference, 2 / (x.shape[0] * x.shape[1])) as TF.Tensor2D;
    const gradients: TF.Tensor[] = new Array(pieces.length);
    for (let l = this.layerCount - 1; l >= 0; l--) {
      if (l < this.layerCount - 1) delta = this.backpropagateActivation(delta, outputs[l + 1]!);
      // Explicit transposes: the wasm backend's transposed matMul is several times slower.
      gradients[2 * l] = tf.reshape(tf.matMul(tf.transpose(outputs[l]!), delta), [-1]);
      gradients[2 * l + 1] = tf.sum(delta, 0);
      if (l > 0) delta = tf.matMul(delta, tf.transpose(pieces[2 * l] as TF.Tensor2D));
    }
    return { loss, gradient: tf.concat(gradients) as TF.Tensor1D };
  }

  dispose(): void {
    this.parameters.dispose();
  }
}
