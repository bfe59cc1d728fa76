import type { AttentionKernelArchitecture } from '@crypto-anomaly/kernels';
import type * as TF from '@tensorflow/tfjs-core';
import { attentionLossGradient, hasFusedKernels } from './fused-kernels.js';
import { attentionScores, matMulFastGrad } from './matmul.js';
import { glorotUniform } from './random.js';
import { tf } from './tensorflow.js';

/** The shape of an attention autoencoder; saved with its weights (the kernels' own type: the fused kernel trains it). */
export type AttentionArchitecture = AttentionKernelArchitecture;

const LAYER_NORM_EPSILON = 1e-5;
/** Variable names are global in TensorFlow.js: each network gets its own prefix. */
let networks = 0;

/** Sinusoidal positional encoding (Vaswani et al. 2017), `steps × dim`. */
export function positionalEncoding(steps: number, dim: number): Float32Array {
  const encoding = new Float32Array(steps * dim);
  for (let position = 0; position < steps; position++) {
    for (let i = 0; i < dim; i++) {
      const angle = position / 10000 ** ((2 * Math.floor(i / 2)) / dim);
      encoding[position * dim + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return encoding;
}

/** Names and shapes of every weight, in a fixed order (the order of the saved weights). */
function weightShapes(a: AttentionArchitecture): [string, number[], 'glorot' | 'zeros' | 'ones'][] {
  const { modelDim: d, feedForwardDim: ff, featureCount: f, windowSize: w, latentDim: z } = a;
  const shapes: [string, number[], 'glorot' | 'zeros' | 'ones'][] = [
    ['input/kernel', [f, d], 'glorot'],
    ['input/bias', [d], 'zeros'],
  ];
  const block = (prefix: string) => {
    shapes.push(
      [`${prefix}/query/kernel`, [d, d], 'glorot'],
      [`${prefix}/query/bias`, [d], 'zeros'],
      [`${prefix}/key/kernel`, [d, d], 'glorot'],
      [`${prefix}/key/bias`, [d], 'zeros'],
      [`${prefix}/value/kernel`, [d, d], 'glorot'],
      [`${prefix}/value/bias`, [d], 'zeros'],
      [`${prefix}/attention-output/kernel`, [d, d], 'glorot'],
      [`${prefix}/attention-output/bias`, [d], 'zeros'],
      [`${prefix}/norm1/gamma`, [d], 'ones'],
      [`${prefix}/norm1/beta`, [d], 'zeros'],
      [`${prefix}/feed-forward1/kernel`, [d, ff], 'glorot'],
      [`${prefix}/feed-forward1/bias`, [ff], 'zeros'],
      [`${prefix}/feed-forward2/kernel`, [ff, d], 'glorot'],
      [`${prefix}/feed-forward2/bias`, [d], 'zeros'],
      [`${prefix}/norm2/gamma`, [d], 'ones'],
      [`${prefix}/norm2/beta`, [d], 'zeros'],
    );
  };
  for (let b = 0; b < a.blocks; b++) block(`encoder${b}`);
  shapes.push(
    ['bottleneck/kernel', [w * d, z], 'glorot'],
    ['bottleneck/bias', [z], 'zeros'],
    ['expand/kernel', [z, w * d], 'glorot'],
    ['expand/bias', [w * d], 'zeros'],
  );
  for (let b = 0; b < a.blocks; b++) block(`decoder${b}`);
  shapes.push(['output/kernel', [d, f], 'glorot'], ['output/bias', [f], 'zeros']);
  return shapes;
}

/**
 * A self-attention autoencoder over windows of `windowSize` steps × `featureCount` features:
 *
 *   input projection to modelDim + sinusoidal positions
 *   → encoder blocks: multi-head scaled dot-product self-attention, residual, layer norm,
 *     position-wise feed-forward, residual, layer norm
 *   → bottleneck: the whole window flattened to `latentDim` numbers (so the model cannot copy its
 *     input through the residual paths: it must summarise the window)
 *   → expanded back to windowSize × modelDim + positions → decoder blocks → linear output.
 *
 * Layer normalization is written with `tf.moments` (tf.layers.layerNormalization trains very
 * slowly on 3-D input on the wasm backend), and every matMul takes its gradient through explicit
 * transposes (see matmul.ts). The weights are one flat variable trained by `FlatAdam`.
 */
export class AttentionNetwork {
  /** Every weight in one flat vector, in `weightNames` order (see FlatAdam for why). */
  readonly parameters: TF.Variable<TF.Rank.R1>;
  private readonly layout: { name: string; shape: number[]; size: number }[];
  private readonly positions: TF.Tensor2D;
  /** The unpacked weights during a forward pass. */
  private current: Map<string, TF.Tensor> | undefined;

  constructor(
    readonly architecture: AttentionArchitecture,
    initial: Map<string, Float32Array>,
  ) {
    this.layout = weightShapes(architecture).map(([name, shape]) => ({
      name,
      shape,
      size: shape.reduce((p, s) => p * s, 1),
    }));
    const flat = new Float32Array(this.layout.reduce((sum, piece) => sum + piece.size, 0));
    let offset = 0;
    for (const { name, size } of this.layout) {
      const values = initial.get(name);
      if (!values || values.length !== size) {
        throw new Error(`AttentionNetwork: weight ${name} missing or of the wrong size`);
      }
      flat.set(values, offset);
      offset += size;
    }
    this.parameters = tf.tidy(() =>
      tf.variable(tf.tensor1d(flat), true, `attention-autoencoder-${++networks}`),
    );
    this.positions = tf.tensor2d(positionalEncoding(architecture.windowSize, architecture.modelDim), [
      architecture.windowSize,
      architecture.modelDim,
    ]);
  }

  /** Seeded initial weights: Glorot-uniform kernels, zero biases, unit layer-norm gains. */
  static initialWeights(
    architecture: AttentionArchitecture,
    random: () => number,
  ): Map<string, Float32Array> {
    const weights = new Map<string, Float32Array>();
    for (const [name, shape, kind] of weightShapes(architecture)) {
      const size = shape.reduce((p, s) => p * s, 1);
      weights.set(
        name,
        kind === 'glorot'
          ? glorotUniform(shape[0]!, shape[1]!, random)
          : new Float32Array(size).fill(kind === 'ones' ? 1 : 0),
      );
    }
    return weights;
  }

  /** The weights by name from one flat vector in `weightNames` order (what `parameters` holds). */
  static weightsFromParameters(
    architecture: AttentionArchitecture,
    flat: Float32Array,
  ): Map<string, Float32Array> {
    const weights = new Map<string, Float32Array>();
    let offset = 0;
    for (const [name, shape] of weightShapes(architecture)) {
      const size = shape.reduce((p, s) => p * s, 1);
      weights.set(name, flat.subarray(offset, offset + size));
      offset += size;
    }
    return weights;
  }

  /** Weight names in saving order. */
  static weightNames(architecture: AttentionArchitecture): string[] {
    return weightShapes(architecture).map(([name]) => name);
  }

  get parameterCount(): number {
    return this.parameters.size;
  }

  /** The weights by name, shaped; call inside tidy. */
  unpack(): Map<string, TF.Tensor> {
    const pieces = tf.split(
      this.parameters,
      this.layout.map((piece) => piece.size),
    );
    return new Map(this.layout.map(({ name, shape }, i) => [name, tf.reshape(pieces[i]!, shape)]));
  }

  private w(name: string): TF.Tensor {
    return this.current!.get(name)!;
  }

  /** x [rows, in] @ kernel + bias, for x of any rank (flattened to 2-D). */
  private dense(x: TF.Tensor, name: string): TF.Tensor {
    const kernel = this.w(`${name}/kernel`) as TF.Tensor2D;
    const flat = tf.reshape(x, [-1, kernel.shape[0]!]) as TF.Tensor2D;
    const y = tf.add(matMulFastGrad(flat, kernel as TF.Tensor2D), this.w(`${name}/bias`));
    return tf.reshape(y, [...x.shape.slice(0, -1), kernel.shape[1]!]);
  }

  private layerNorm(x: TF.Tensor, name: string): TF.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON)));
    return tf.add(tf.mul(normalised, this.w(`${name}/gamma`)), this.w(`${name}/beta`));
  }

  /** One transformer block on h [batch, steps, modelDim]. */
  private block(h: TF.Tensor3D, prefix: string): TF.Tensor3D {
    const { heads, modelDim: d, windowSize: steps } = this.architecture;
    const batch = h.shape[0];
    const headDim = d / heads;
    // [batch, steps, modelDim] → [batch·heads, steps, headDim]. Separate query/key/value kernels
    // and a 4-D transpose: one fused qkv kernel needs a 5-D transpose, ~100× slower on wasm.
    const splitHeads = (name: string) =>
      tf.reshape(
        tf.transpose(
          tf.reshape(this.dense(h, `${prefix}/${name}`), [batch, steps, heads, headDim]),
          [0, 2, 1, 3],
        ),
        [batch * heads, steps, headDim],
      ) as TF.Tensor3D;
    const q = splitHeads('query');
    const k = splitHeads('key');
    const v = splitHeads('value');
    const scores = tf.mul(attentionScores(q, k), 1 / Math.sqrt(headDim));
    const attended = matMulFastGrad(tf.softmax(scores) as TF.Tensor3D, v);
    const merged = tf.reshape(
      tf.transpose(tf.reshape(attended, [batch, heads, steps, headDim]), [0, 2, 1, 3]),
      [batch, steps, d],
    );
    const h1 = this.layerNorm(tf.add(h, this.dense(merged, `${prefix}/attention-output`)), `${prefix}/norm1`);
    const ff = this.dense(tf.relu(this.dense(h1, `${prefix}/feed-forward1`)), `${prefix}/feed-forward2`);
    return this.layerNorm(tf.add(h1, ff), `${prefix}/norm2`) as TF.Tensor3D;
  }

  /** Reconstruction of windows x [batch, windowSize, featureCount]; call inside tidy. */
  reconstruct(x: TF.Tensor3D): TF.Tensor3D {
    this.current = this.unpack();
    try {
      return this.forward(x);
    } finally {
      this.current = undefined;
    }
  }

  private forward(x: TF.Tensor3D): TF.Tensor3D {
    const { blocks, windowSize, modelDim } = this.architecture;
    const batch = x.shape[0];
    let h = tf.add(this.dense(x, 'input'), this.positions) as TF.Tensor3D;
    for (let b = 0; b < blocks; b++) h = this.block(h, `encoder${b}`);
    const latent = tf.tanh(this.dense(tf.reshape(h, [batch, windowSize * modelDim]), 'bottleneck'));
    h = tf.add(
      tf.reshape(this.dense(latent, 'expand'), [batch, windowSize, modelDim]),
      this.positions,
    ) as TF.Tensor3D;
    for (let b = 0; b < blocks; b++) h = this.block(h, `decoder${b}`);
    return this.dense(h, 'output') as TF.Tensor3D;
  }

  /** Mean squared reconstruction error over the windows' steps and features; call inside tidy. */
  loss(x: TF.Tensor3D): TF.Scalar {
    return tf.mean(tf.squaredDifference(this.reconstruct(x), x)) as TF.Scalar;
  }

  /**
   * The mean squared reconstruction error over the windows of x, leaving out the `share` of them
   * (rounded down) with the largest error: a trimmed mean. Anomalies among the training windows then
   * add nothing to the gradient, so the model does not learn to reconstruct them and they keep a
   * high error. Ties keep the earlier window. Call inside tidy (or a gradient function).
   */
  trimmedLoss(x: TF.Tensor3D, share: number): TF.Scalar {
    const errors = tf.mean(tf.squaredDifference(this.reconstruct(x), x), [1, 2]) as TF.Tensor1D;
    // One read per step: the wasm backend is synchronous, so this copies the batch's errors.
    const values = errors.dataSync();
    const keep = values.length - Math.floor(values.length * share);
    const order = Int32Array.from(values.keys()).sort((a, b) => values[a]! - values[b]! || a - b);
    const weights = new Float32Array(values.length);
    for (let i = 0; i < keep; i++) weights[order[i]!] = 1 / keep;
    return tf.sum(tf.mul(errors, tf.tensor1d(weights))) as TF.Scalar;
  }

  /**
   * Mean squared reconstruction error of windows x (trimmed by `trimmedShare`, see `trimmedLoss`)
   * and its gradient with respect to the flat parameters; call inside tidy. On the wasm and cpu
   * backends one fused kernel computes both (fused-kernels.ts: the same network, written out with
   * its backward pass); elsewhere TensorFlow.js autodiff of these ops (`lossAndGradientOps`).
   */
  lossAndGradient(x: TF.Tensor3D, trimmedShare = 0): { loss: TF.Scalar; gradient: TF.Tensor1D } {
    if (hasFusedKernels()) {
      return attentionLossGradient(x, this.parameters, this.positions, this.architecture, trimmedShare);
    }
    return this.lossAndGradientOps(x, trimmedShare);
  }

  /** `lossAndGradient` by TensorFlow.js autodiff of the ops above; call inside tidy. */
  lossAndGradientOps(x: TF.Tensor3D, trimmedShare = 0): { loss: TF.Scalar; gradient: TF.Tensor1D } {
    const { value, grads } = tf.variableGrads(
      () => (trimmedShare > 0 ? this.trimmedLoss(x, trimmedShare) : this.loss(x)),
      [this.parameters],
    );
    return { loss: value, gradient: grads[this.parameters.name] as TF.Tensor1D };
  }

  dispose(): void {
    this.parameters.dispose();
    this.positions.dispose();
  }
}
