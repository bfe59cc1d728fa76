import type { WasmMemory } from './webassembly.js';

/**
 * The exports of `wasm/kernels.wasm`, typed. Pointers are byte offsets into `memory`; every
 * buffer the host allocates is 16-byte aligned, so a pointer can back a Float64Array or
 * Int32Array view directly. Views must be re-created after any call that may grow memory.
 */

export interface KernelExports {
  readonly memory: WasmMemory;
  abiVersion(): number;
  allocate(bytes: number): number;
  resetHeap(): void;
  heapTop(): number;
}
