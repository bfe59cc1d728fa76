import type * as TF from '@tensorflow/tfjs-core';
import { type AdamStepSettings, fusedAdamStep, hasFusedKernels } from './fused-kernels.js';
import { tf } from './tensorflow.js';

export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam (Kingma and Ba 2015, with PyTorch's bias correction and epsilon) over ONE flat parameter
 * vector. `tf.train.adam` runs about ten small ops per variable and step; for a network of twelve
 * small variables that per-op overhead, not arithmetic, is most of a training step, so the
 * parameters live in one vector and each step is a dozen ops whatever the layer count.
 */
export class FlatAdam {
  private readonly firstMoment: TF.Variable;
  private readonly secondMoment: TF.Variable;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private iterations = 0;

  constructor(
    size: number,
    private readonly settings: AdamSettings,
  ) {
    this.beta1 = settings.beta1 ?? 0.9;
    this.beta2 = settings.beta2 ?? 0.999;
    this.epsilon = settings.epsilon ?? 1e-8;
    // Inside tidy: the initial tensors are released, the variables keep their data.
    this.firstMoment = tf.tidy(() => tf.variable(tf.zeros([size]), false));
    this.secondMoment = tf.tidy(() => tf.variable(tf.zeros([size]), false));
  }

  /** parameters -= step; call inside `tf.tidy`. */
  update(parameters: TF.Variable, gradient: TF.Tensor): void {
    this.iterations += 1;
    const { beta1, beta2, epsilon } = this;
    const settings = {
      beta1,
      beta2,
      epsilon,
      stepSize: this.settings.learningRate / (1 - beta1 ** this.iterations),
      correction: 1 / Math.sqrt(1 - beta2 ** this.iterations),
    };
    const [p, m, v] = hasFusedKernels()
      ? // One kernel instead of a dozen: the same arithmetic (fused-kernels.ts).
        fusedAdamStep(
          parameters as TF.Variable<TF.Rank.R1>,
          gradient as TF.Tensor1D,
          this.firstMoment as TF.Variable<TF.Rank.R1>,
          this.secondMoment as TF.Variable<TF.Rank.R1>,
          settings,
        )
      : this.stepInOps(parameters, gradient, settings);
    this.firstMoment.assign(m);
    this.secondMoment.assign(v);
    parameters.assign(p);
  }

  /** The new parameters and moments in TensorFlow.js ops. */
  private stepInOps(
    parameters: TF.Tensor,
    gradient: TF.Tensor,
    { beta1, beta2, epsilon, stepSize, correction }: AdamStepSettings,
  ): [TF.Tensor, TF.Tensor, TF.Tensor] {
    const m = tf.add(tf.mul(this.firstMoment, beta1), tf.mul(gradient, 1 - beta1));
    const v = tf.add(tf.mul(this.secondMoment, beta2), tf.mul(tf.square(gradient), 1 - beta2));
    const denominator = tf.add(tf.mul(tf.sqrt(v), correction), epsilon);
    return [tf.sub(parameters, tf.mul(tf.div(m, denominator), stepSize)), m, v];
  }

  dispose(): void {
    this.firstMoment.dispose();
    this.secondMoment.dispose();
  }
}
