export type { KernelExports } from './api.js';
export { isKernelError, KernelError, type KernelErrorCode } from './errors.js';
export {
  EXPECTED_ABI_VERSION,
  instantiateKernels,
  kernelModule,
  readFloat64,
  WASM_URL,
  writeFloat64,
} from './wasm.js';
export type { WasmInstance, WasmMemory, WasmModule } from './webassembly.js';
