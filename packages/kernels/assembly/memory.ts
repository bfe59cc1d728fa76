// Memory owned by the TypeScript side: a bump allocator over the (imported, shared) memory.
// The host allocates input, output and scratch buffers, runs a kernel over a whole batch, reads
// the results, then releases back to a mark (or resets), so the next batch reuses the memory.
// Kernels never allocate, so instances on worker threads can share this memory: only the
// instance on the thread that owns it calls allocate.

/** Bumped whenever an export's signature or memory layout changes; the loader checks it. */
export const ABI_VERSION: i32 = 5;

let top: usize = (__heap_base + 15) & ~15;

export function abiVersion(): i32 {
  return ABI_VERSION;
}

/** Allocates `bytes` bytes aligned to 16 and returns the pointer; grows memory as needed. */
export function allocate(bytes: usize): usize {
  const pointer = top;
  const end = (pointer + bytes + 15) & ~15;
  if (end < pointer) unreachable(); // past the 4 GiB address space
  const available = (<usize>memory.size()) << 16;
  if (end > available) {
    const pages = i32((end - available + 0xffff) >>> 16);
    if (memory.grow(pages) < 0) unreachable();
  }
  top = end;
  return pointer;
}

/** The current allocation mark, for `releaseHeap`. */
export function heapMark(): usize {
  return top;
}

/** Frees everything allocated since `mark` was taken. */
export function releaseHeap(mark: usize): void {
  top = mark;
}

/** Frees everything allocated since the module started. */
export function resetHeap(): void {
  top = (__heap_base + 15) & ~15;
}

/** Bytes of memory now (for tests of the allocator). */
export function heapTop(): usize {
  return (<usize>memory.size()) << 16;
}
