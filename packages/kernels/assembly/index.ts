// Entry point of the WebAssembly module: re-exports every kernel. One kernel per file.

export { attentionLossGradient, attentionScratchFloats } from './attention-network';
export { denseLossGradient, denseScratchFloats } from './dense-network';
export {
  buildScratchBytes,
  buildTrees,
  packTrees,
  randomU32,
  scoreRowsExtended,
  scoreRowsPacked,
} from './isolation-forest';
export { abiVersion, allocate, heapMark, heapTop, releaseHeap, resetHeap } from './memory';
export { ewmMean, rollingExtreme, rollingMoments, rollingMomentsDense } from './rolling';
export { bracketChunk, bracketFinish, bracketStart, clipColumns, columnQuantiles } from './winsorize';
