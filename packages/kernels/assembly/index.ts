// Entry point of the WebAssembly module: re-exports every kernel. One kernel per file.
export { abiVersion, allocate, heapTop, resetHeap } from './memory';
