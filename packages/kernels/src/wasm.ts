import { readFileSync } from 'node:fs';
import type { KernelExports } from './api.js';
import { KernelError } from './errors.js';
import { type WasmMemory, type WasmModule, WebAssemblyApi } from './webassembly.js';

/** The ABI this TypeScript side was written against (see assembly/memory.ts). */
export const EXPECTED_ABI_VERSION = 5;

/** Memory limits the module was compiled with (asconfig.json): 64 KiB pages. */
export const INITIAL_PAGES = 16;
export const MAXIMUM_PAGES = 65536;

/** Where the compiled module lives, from `src/` in the workspace and `dist/` once installed. */
export const WASM_URL = new URL('../wasm/kernels.wasm', import.meta.url);

let compiled: WasmModule | undefined;

/** Compiles the module once per process (synchronously: it is small, and it keeps the API sync). */
export function kernelModule(): WasmModule {
  if (compiled) return compiled;
  let bytes: Buffer;
  try {
    bytes = readFileSync(WASM_URL);
  } catch (cause) {
    throw new KernelError(
      'WASM_LOAD_FAILED',
      `Cannot read ${WASM_URL.pathname}: ${(cause as Error).message}. ` +
        'In the workspace, run `pnpm build` first; installed from npm, reinstall @crypto-anomaly/kernels.',
      { cause },
    );
  }
  compiled = new WebAssemblyApi.Module(bytes);
  return compiled;
}

/** A new shared memory for one family of instances (one per thread). */
export function createKernelMemory(): WasmMemory {
  return new WebAssemblyApi.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
}

/**
 * A fresh instance. Without `memory` it gets its own; with one (from another instance), it runs
 * kernels over the same buffers: that is how worker threads share data. Only one instance per
 * memory may allocate.
 */
export function instantiateKernels(memory: WasmMemory = createKernelMemory()): KernelExports {
  const instance = new WebAssemblyApi.Instance(kernelModule(), {
    env: {
      memory,
      abort(_message: number, _file: number, line: number, column: number) {
        throw new KernelError('WASM_LOAD_FAILED', `WebAssembly kernel aborted at ${line}:${column}`);
      },
    },
  });
  const raw = instance.exports as unknown as KernelExports;
  const exports = {
    ...raw,
    memory,
    // Sizes travel as u32: refuse what would wrap instead of letting it alias low memory.
    allocate(bytes: number): number {
      if (!(bytes >= 0 && bytes <= MAXIMUM_PAGES * 65536)) throw outOfMemory();
      return raw.allocate(bytes);
    },
  } as KernelExports;
  const abi = exports.abiVersion();
  if (abi !== EXPECTED_ABI_VERSION) {
    throw new KernelError(
      'WASM_ABI_MISMATCH',
      `kernels.wasm has ABI ${abi} but this code expects ${EXPECTED_ABI_VERSION}: rebuild with \`pnpm build\`.`,
    );
  }
  return exports;
}

function outOfMemory(cause?: unknown): KernelError {
  return new KernelError(
    'OUT_OF_MEMORY',
    `The batch does not fit in the kernels' WebAssembly memory (at most ${(MAXIMUM_PAGES * 65536) / 2 ** 30} GiB): pass fewer rows per call.`,
    { cause },
  );
}

let shared: KernelExports | undefined;

/** The process-wide instance the stateless kernels (rolling, winsorize) run on. */
export function sharedKernels(): KernelExports {
  shared ??= instantiateKernels();
  return shared;
}

/** Copies `values` into freshly allocated WASM memory and returns the pointer. */
export function writeFloat64(kernels: KernelExports, values: ArrayLike<number>): number {
  const pointer = kernels.allocate(values.length * 8);
  new Float64Array(kernels.memory.buffer, pointer, values.length).set(values);
  return pointer;
}

/** Copies `length` float64 values out of WASM memory (the view is made after any growth). */
export function readFloat64(kernels: KernelExports, pointer: number, length: number): Float64Array {
  return new Float64Array(kernels.memory.buffer, pointer, length).slice();
}

/**
 * Runs `body` and frees what it allocated, even when it throws (so a failed call leaves the
 * instance usable). Nests: a callback that runs another kernel frees only its own buffers.
 */
export function withHeap<T>(kernels: KernelExports, body: (kernels: KernelExports) => T): T {
  const mark = kernels.heapMark();
  try {
    return body(kernels);
  } catch (error) {
    // The allocator traps when the 4 GiB of WASM memory would be exceeded.
    if (
      error instanceof Error &&
      error.constructor.name === 'RuntimeError' &&
      /unreachable/.test(error.message)
    ) {
      throw outOfMemory(error);
    }
    throw error;
  } finally {
    kernels.releaseHeap(mark);
  }
}
