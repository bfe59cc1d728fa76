// Entry point of the WebAssembly module: re-exports every kernel. One kernel per file.

export { buildScratchBytes, buildTrees, randomU32, scoreRows, scoreRowsExtended } from './isolation-forest';
export { abiVersion, allocate, heapMark, heapTop, releaseHeap, resetHeap } from './memory';
export { ewmMean, rollingExtreme, rollingMoments } from './rolling';
export { clipColumns, columnQuantiles } from './select';
