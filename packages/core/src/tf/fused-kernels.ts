import {
  type AttentionKernelArchitecture,
  AttentionLossGradient,
  type DenseKernelActivation,
  DenseLossGradient,
} from '@crypto-anomaly/kernels';
import type * as TF from '@tensorflow/tfjs-core';
import { tf } from './tensorflow.js';

/**
 * TensorFlow.js kernels whose arithmetic runs in the kernels package's WebAssembly, registered for
 * the backends that keep tensors in CPU memory (wasm, cpu). A small network's training step in
 * TensorFlow.js ops is about a hundred kernels, each with a fixed cost of a few microseconds that
 * dwarfs its arithmetic; as one kernel the step is one call (docs/autoencoders.md, _Performance_).
 * Other backends (tfjs-node, webgl) keep the op form.
 */
export const DENSE_LOSS_GRADIENT = 'CryptoAnomalyDenseLossGradient';
export const ATTENTION_LOSS_GRADIENT = 'CryptoAnomalyAttentionLossGradient';
export const ADAM_STEP = 'CryptoAnomalyAdamStep';

const BACKENDS = ['wasm', 'cpu'];

/** The slice of a CPU-memory backend a kernel needs. */
interface CpuMemoryBackend {
  readSync(dataId: object): unknown;
  /** cpu */
  makeTensorInfo?(shape: number[], dtype: 'float32', values: Float32Array): TF.TensorInfo;
  /** wasm (cpu's makeOutput takes other arguments): allocates on its heap and copies `values` in. */
  makeOutput(shape: number[], dtype: 'float32', memoryOffset: undefined, values: Float32Array): TF.TensorInfo;
}

function output(backend: CpuMemoryBackend, shape: number[], values: Float32Array): TF.TensorInfo {
  if (backend.makeTensorInfo) return backend.makeTensorInfo(shape, 'float32', values);
  return backend.makeOutput(shape, 'float32', undefined, values);
}

/** The map's value for `key`, made and kept on first use. */
function cached<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** A loss-and-gradient kernel's outputs [loss, gradient]: `compute` fills the gradient, returns the loss. */
function lossAndGradientOutputs(
  cpu: CpuMemoryBackend,
  parameterCount: number,
  compute: (gradient: Float32Array) => number,
): TF.TensorInfo[] {
  const gradient = new Float32Array(parameterCount);
  const loss = compute(gradient);
  return [output(cpu, [], Float32Array.of(loss)), output(cpu, [parameterCount], gradient)];
}

/** One WebAssembly instance per network shape (per thread: this map is module state). */
const denseKernels = new Map<string, DenseLossGradient>();
const attentionKernels = new Map<string, AttentionLossGradient>();

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const backendName of BACKENDS) {
    tf.registerKernel({
      kernelName: DENSE_LOSS_GRADIENT,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, parameters } = inputs as { x: TF.TensorInfo; parameters: TF.TensorInfo };
        const { layerSizes, activation } = attrs as unknown as {
          layerSizes: number[];
          activation: DenseKernelActivation;
        };
        const kernel = cached(
          denseKernels,
          `${layerSizes.join(',')}/${activation}`,
          () => new DenseLossGradient(layerSizes, activation),
        );
        const cpu = backend as unknown as CpuMemoryBackend;
        return lossAndGradientOutputs(cpu, kernel.parameterCount, (gradient) =>
          kernel.compute(
            cpu.readSync(parameters.dataId) as Float32Array,
            cpu.readSync(x.dataId) as Float32Array,
            gradient,
          ),
        );
      },
    });
    tf.registerKernel({
      kernelName: ADAM_STEP,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const cpu = backend as unknown as CpuMemoryBackend;
        // Copies: the cpu backend's readSync hands over the tensor's own array (a snapshot cloned
        // from the parameters shares it), and Adam writes in place.
        const read = (name: 'parameters' | 'gradient' | 'm' | 'v') =>
          (cpu.readSync((inputs[name] as TF.TensorInfo).dataId) as Float32Array).slice();
        const [parameters, gradient, m, v] = [read('parameters'), read('gradient'), read('m'), read('v')];
        adamStep(parameters, gradient, m, v, attrs as unknown as AdamStepSettings);
        const shape = [parameters.length];
        return [output(cpu, shape, parameters), output(cpu, shape, m), output(cpu, shape, v)];
      },
    });
    tf.registerKernel({
      kernelName: ATTENTION_LOSS_GRADIENT,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, parameters, positions } = inputs as Record<
          'x' | 'parameters' | 'positions',
          TF.TensorInfo
        >;
        const { architecture, trimmedShare } = attrs as unknown as {
          architecture: AttentionKernelArchitecture;
          trimmedShare: number;
        };
        const kernel = cached(
          attentionKernels,
          JSON.stringify(architecture),
          () => new AttentionLossGradient(architecture),
        );
        const cpu = backend as unknown as CpuMemoryBackend;
        return lossAndGradientOutputs(cpu, kernel.parameterCount, (gradient) =>
          kernel.compute(
            cpu.readSync(parameters.dataId) as Float32Array,
            cpu.readSync(positions.dataId) as Float32Array,
            cpu.readSync(x.dataId) as Float32Array,
            trimmedShare,
            gradient,
          ),
        );
      },
    });
  }
}

let enabled = true;

/**
 * Turns the fused kernels off (the networks then train through their TensorFlow.js ops on every
 * backend) or back on; for benchmarks that measure what the kernels gain.
 */
export function useFusedKernels(on: boolean): void {
  enabled = on;
}

/** True when the fused kernels are on and the active backend has them. */
export function hasFusedKernels(): boolean {
  return enabled && BACKENDS.includes(tf.getBackend());
}

/**
 * The mean squared reconstruction error of rows `x` through a dense network (widths
 * `layerSizes`, hidden `activation`, linear output, flat `parameters`) and its gradient, as one
 * kernel; call inside tidy, on a backend where `hasFusedKernels()`.
 */
export function denseLossGradient(
  x: TF.Tensor2D,
  parameters: TF.Tensor1D,
  layerSizes: readonly number[],
  activation: DenseKernelActivation,
): { loss: TF.Scalar; gradient: TF.Tensor1D } {
  register();
  const [loss, gradient] = tf.engine().runKernel(DENSE_LOSS_GRADIENT, { x, parameters }, {
    layerSizes: [...layerSizes],
    activation,
  } as unknown as TF.NamedAttrMap) as [TF.Scalar, TF.Tensor1D];
  return { loss, gradient };
}

/**
 * The trimmed mean squared reconstruction error of windows `x` [batch, windowSize, featureCount]
 * through a self-attention autoencoder (AttentionNetwork's network, flat `parameters`, positional
 * encoding `positions`) and its gradient, as one kernel; call inside tidy, on a backend where
 * `hasFusedKernels()`.
 */
export function attentionLossGradient(
  x: TF.Tensor3D,
  parameters: TF.Tensor1D,
  positions: TF.Tensor2D,
  architecture: AttentionKernelArchitecture,
  trimmedShare: number,
): { loss: TF.Scalar; gradient: TF.Tensor1D } {
  register();
  const [loss, gradient] = tf.engine().runKernel(ATTENTION_LOSS_GRADIENT, { x, parameters, positions }, {
    architecture: { ...architecture },
    trimmedShare,
  } as unknown as TF.NamedAttrMap) as [TF.Scalar, TF.Tensor1D];
  return { loss, gradient };
}

/** One Adam step's constants (FlatAdam's). */
export interface AdamStepSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** learning rate / (1 − beta1^t) */
  stepSize: number;
  /** 1 / √(1 − beta2^t) */
  correction: number;
}

/**
 * Adam in place over float32 arrays, operation for operation FlatAdam's ops (each rounded to
 * float32): m = m·β1 + g·(1 − β1); v = v·β2 + g²·(1 − β2); p −= m / (√v · c + ε) · stepSize.
 */
function adamStep(
  parameters: Float32Array,
  gradient: Float32Array,
  m: Float32Array,
  v: Float32Array,
  settings: AdamStepSettings,
): void {
  const f = Math.fround;
  const [beta1, beta2, epsilon] = [f(settings.beta1), f(settings.beta2), f(settings.epsilon)];
  const [keep1, keep2] = [f(1 - settings.beta1), f(1 - settings.beta2)];
  const [stepSize, correction] = [f(settings.stepSize), f(settings.correction)];
  for (let i = 0; i < parameters.length; i++) {
    const g = gradient[i]!;
    const mi = f(f(m[i]! * beta1) + f(g * keep1));
    const vi = f(f(v[i]! * beta2) + f(f(g * g) * keep2));
    m[i] = mi;
    v[i] = vi;
    const denominator = f(f(f(Math.sqrt(vi)) * correction) + epsilon);
    parameters[i] = f(parameters[i]! - f(f(mi / denominator) * stepSize));
  }
}

/**
 * FlatAdam's update as one kernel: the new parameters and moments (to be assigned); call inside
 * tidy, on a backend where `hasFusedKernels()`.
 */
export function fusedAdamStep(
  parameters: TF.Tensor1D,
  gradient: TF.Tensor1D,
  m: TF.Tensor1D,
  v: TF.Tensor1D,
  settings: AdamStepSettings,
): [TF.Tensor1D, TF.Tensor1D, TF.Tensor1D] {
  register();
  return tf.engine().runKernel(ADAM_STEP, { parameters, gradient, m, v }, {
    ...settings,
  } as unknown as TF.NamedAttrMap) as [TF.Tensor1D, TF.Tensor1D, TF.Tensor1D];
}
