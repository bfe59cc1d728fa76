export type {
  EmaOptions,
  FitOptions,
  IsolationForestOptions,
  KernelExports,
  Matrix,
  RollingOptions,
  WinsorizeBounds,
  WinsorizeOptions,
} from './api.js';
export {
  type AttentionKernelArchitecture,
  AttentionLossGradient,
  attentionParameterCount,
} from './attention-network.js';
export { type DenseKernelActivation, DenseLossGradient, denseParameterCount } from './dense-network.js';
export { isKernelError, KernelError, type KernelErrorCode } from './errors.js';
export { threadPoolStatus } from './forest-kernels.js';
export { IsolationForest } from './isolation-forest.js';
export {
  ema,
  rollingMax,
  rollingMean,
  rollingMeanStd,
  rollingMin,
  rollingStd,
  rollingSum,
  rollingZScore,
} from './rolling.js';
export {
  ISOLATION_FOREST_FORMAT,
  ISOLATION_FOREST_VERSION,
  type IsolationForestJSON,
} from './saved-forest.js';
export { toMatrix } from './validate.js';
export {
  createKernelMemory,
  EXPECTED_ABI_VERSION,
  instantiateKernels,
  kernelModule,
  readFloat64,
  WASM_URL,
  writeFloat64,
} from './wasm.js';
export type { WasmInstance, WasmMemory, WasmModule } from './webassembly.js';
export { quantile, winsorize, winsorizeBounds, winsorizeFit } from './winsorize.js';
