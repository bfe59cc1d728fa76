import { describe, expect, it } from 'vitest';
import { instantiateKernels, readFloat64, writeFloat64 } from '../src/index.js';

describe('kernels.wasm', () => {
  it('loads and reports the ABI the TypeScript side expects', () => {
    const kernels = instantiateKernels();
    expect(kernels.abiVersion()).toBe(5);
  });

  it('round-trips a batch larger than the initial memory, and reuses memory after a reset', () => {
    const kernels = instantiateKernels();
    const initialBytes = kernels.memory.buffer.byteLength;
    const values = Float64Array.from({ length: 300_000 }, (_, i) => Math.sin(i) * 1e5);
    const pointer = writeFloat64(kernels, values);
    expect(pointer % 16).toBe(0);
    expect(kernels.memory.buffer.byteLength).toBeGreaterThan(initialBytes);
    // Byte for byte, in one assertion (toEqual on 300,000 values takes a second).
    const back = readFloat64(kernels, pointer, values.length);
    expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true);
    kernels.resetHeap();
    expect(writeFloat64(kernels, [1, 2, 3])).toBe(pointer);
  });

  it('gives each instance its own memory', () => {
    const a = instantiateKernels();
    const b = instantiateKernels();
    const pa = writeFloat64(a, [42]);
    writeFloat64(b, [7]);
    expect(readFloat64(a, pa, 1)[0]).toBe(42);
  });
});

describe('withHeap', () => {
  it('turns an allocation past the memory limit into a typed error and frees the batch', async () => {
    const { withHeap } = await import('../src/wasm.js');
    const { isKernelError } = await import('../src/errors.js');
    const kernels = instantiateKernels();
    const mark = kernels.heapMark();
    const codeOf = (body: () => void) => {
      try {
        withHeap(kernels, body);
      } catch (e) {
        return isKernelError(e) ? e.code : String(e);
      }
      return 'none';
    };
    // A size that would wrap as u32, refused on the TypeScript side.
    expect(codeOf(() => kernels.allocate(2 ** 32 + 8))).toBe('OUT_OF_MEMORY');
    // Two 3 GiB buffers: the second passes the end of the address space (the allocator traps).
    expect(
      codeOf(() => {
        kernels.allocate(3 * 2 ** 30);
        kernels.allocate(3 * 2 ** 30);
      }),
    ).toBe('OUT_OF_MEMORY');
    expect(kernels.heapMark()).toBe(mark);
    expect(readFloat64(kernels, writeFloat64(kernels, [4, 5]), 2)).toEqual(new Float64Array([4, 5]));
  });
});
