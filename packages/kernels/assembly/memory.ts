// Memory owned by the TypeScript side. The module uses AssemblyScript's stub runtime (no GC):
// the host allocates input and output buffers with `allocate`, runs a kernel over a whole batch,
// reads the results, then calls `resetHeap` so the next batch reuses the same memory.

/** Bumped whenever an export's signature or memory layout changes; the loader checks it. */
export const ABI_VERSION: i32 = 2;

export function abiVersion(): i32 {
  return ABI_VERSION;
}

/** Allocates `bytes` bytes aligned to 16 and returns the pointer; grows memory as needed. */
export function allocate(bytes: usize): usize {
  return heap.alloc(bytes);
}

/** Frees everything allocated since the module started. */
export function resetHeap(): void {
  heap.reset();
}

/** Address just past the last allocation (for tests of the allocator). */
export function heapTop(): usize {
  return memory.size() << 16;
}
