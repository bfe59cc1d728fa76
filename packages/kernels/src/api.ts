import type { WasmMemory } from './webassembly.js';

/**
 * The exports of `wasm/kernels.wasm`, typed. Pointers are byte offsets into `memory`; every
 * buffer the host allocates is 16-byte aligned, so a pointer can back a Float64Array or
 * Int32Array view directly. Views must be re-created after any call that may grow memory.
 * The memory is imported and shared (a SharedArrayBuffer), so instances on worker threads can
 * run kernels over the same buffers; only the thread that owns the instance allocates.
 */
export interface KernelExports {
  readonly memory: WasmMemory;
  abiVersion(): number;
  allocate(bytes: number): number;
  resetHeap(): void;
  /** The allocation mark, for releaseHeap (nested batches free only their own buffers). */
  heapMark(): number;
  releaseHeap(mark: number): void;
  heapTop(): number;
  /** kind: 0 sum, 1 mean, 2 std, 3 z-score, 4 mean into output and std into output2. */
  rollingMoments(
    input: number,
    n: number,
    window: number,
    minPeriods: number,
    kind: number,
    output: number,
    output2: number,
  ): void;
  /**
   * kind 1, 2 or 4 over full windows of a series without NaN or infinities: writes positions
   * window - 1 .. n - 1; returns 1 (outputs unspecified) when a value is not finite, else 0.
   */
  rollingMomentsDense(
    input: number,
    n: number,
    window: number,
    kind: number,
    output: number,
    output2: number,
  ): number;
  /** `deque`: scratch of `window` int32. */
  rollingExtreme(
    input: number,
    n: number,
    window: number,
    minPeriods: number,
    isMax: number,
    output: number,
    deque: number,
  ): void;
  ewmMean(input: number, n: number, alpha: number, adjust: number, minPeriods: number, output: number): void;
  /** `scratch`: `rows` float64; writes [low, high] quantiles of one column into out[0..1]. */
  columnQuantiles(
    x: number,
    rows: number,
    cols: number,
    column: number,
    qLow: number,
    qHigh: number,
    scratch: number,
    out: number,
  ): void;
  /** Streaming sampled quantiles (see assembly/winsorize.ts): brackets from a sample, chunks, result. */
  bracketStart(sample: number, s: number, qLow: number, qHigh: number, state: number): void;
  bracketChunk(
    values: number,
    n: number,
    stride: number,
    state: number,
    lowBuffer: number,
    highBuffer: number,
    capacity: number,
  ): void;
  bracketFinish(
    qLow: number,
    qHigh: number,
    state: number,
    lowBuffer: number,
    highBuffer: number,
    out: number,
  ): number;
  clipColumns(x: number, rows: number, cols: number, lower: number, upper: number, out: number): void;
  /** Floats of scratch `attentionLossGradient` needs for `batch` windows (`architecture`: 7 int32). */
  attentionScratchFloats(architecture: number, batch: number): number;
  /**
   * Trimmed mean squared reconstruction error of `batch` float32 windows at `x` through a
   * self-attention autoencoder (architecture: int32 features, window, width, heads, feed-forward,
   * latent, blocks); writes its gradient to `gradient`, each window's error to `errors`, and
   * returns the loss (assembly/attention-network.ts).
   */
  attentionLossGradient(
    architecture: number,
    params: number,
    positions: number,
    x: number,
    batch: number,
    trimmed: number,
    scratch: number,
    gradient: number,
    errors: number,
  ): number;
  /** Floats of scratch `denseLossGradient` needs for `rows` rows (`sizes`: layers + 1 int32 widths). */
  denseScratchFloats(sizes: number, layers: number, rows: number): number;
  /**
   * Mean squared reconstruction error of `rows` float32 rows at `x` through a dense network
   * (widths at `sizes`, flat float32 parameters at `params`, hidden `activation` 0 relu, 1 tanh,
   * 2 elu, 3 sigmoid, linear output); writes its gradient to `gradient` and returns the mean.
   */
  denseLossGradient(
    sizes: number,
    layers: number,
    activation: number,
    params: number,
    x: number,
    rows: number,
    scratch: number,
    gradient: number,
  ): number;
  buildScratchBytes(n: number, d: number, psi: number, depth: number): number;
  buildTrees(
    x: number,
    n: number,
    d: number,
    psi: number,
    depth: number,
    treeStart: number,
    treeEnd: number,
    seedLow: number,
    seedHigh: number,
    cValues: number,
    extensionTerms: number,
    features: number,
    indices: number,
    weights: number,
    thresholds: number,
    leaves: number,
    scratch: number,
  ): void;
  /** Packs standard trees (16 bytes per node) for scoreRowsPacked. */
  packTrees(features: number, thresholds: number, trees: number, depth: number, nodes: number): void;
  /** Adds path lengths into out[rowStart..rowEnd) over packed trees, four walks at a time. */
  scoreRowsPacked(
    x: number,
    d: number,
    rowStart: number,
    rowEnd: number,
    trees: number,
    depth: number,
    nodes: number,
    leaves: number,
    out: number,
  ): void;
  scoreRowsExtended(
    x: number,
    d: number,
    rowStart: number,
    rowEnd: number,
    trees: number,
    depth: number,
    terms: number,
    indices: number,
    weights: number,
    thresholds: number,
    leaves: number,
    out: number,
  ): void;
  randomU32(seedLow: number, seedHigh: number, stream: number, skip: number): number;
}

/** A dense row-major matrix: element (r, c) is `data[r * cols + c]`. */
export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Options of the rolling statistics (pandas' `rolling(window, min_periods)`). */
export interface RollingOptions {
  /** Observations (non-NaN values) a window needs before it gives a result. Default: `window`. */
  minPeriods?: number;
}

/** Options of `ema`: give exactly one of `span` or `alpha`. */
export interface EmaOptions {
  /** alpha = 2 / (span + 1), span >= 1. */
  span?: number;
  /** Smoothing factor in (0, 1]. */
  alpha?: number;
  /** pandas' `adjust` (default true): divide by the sum of the weights (1 - alpha)^i. */
  adjust?: boolean;
  /** Observations needed before a result (pandas' min_periods, default 0, i.e. from the first). */
  minPeriods?: number;
}

/** Options of `winsorizeBounds`: the quantiles to clip at. */
export interface WinsorizeOptions {
  /** Lower quantile in [0, 1]. Default 0.01. */
  lower?: number;
  /** Upper quantile in [0, 1], >= lower. Default 0.99. */
  upper?: number;
}

/** Per-column clipping bounds, as returned by `winsorizeBounds`. */
export interface WinsorizeBounds {
  lower: Float64Array;
  upper: Float64Array;
}

/** Options of `IsolationForest`; every field has a default. */
export interface IsolationForestOptions {
  /** Number of trees t. Default 100. */
  nEstimators: number;
  /** Subsample size psi per tree: `'auto'` = min(256, n), or an integer >= 2 (capped at n). */
  maxSamples: 'auto' | number;
  /**
   * Share of anomalies expected in the training data: `'auto'` puts the threshold at 0.5 (the
   * paper's, and scikit-learn's offset), a fraction in (0, 0.5] at the (1 - c) quantile of the
   * training scores.
   */
  contamination: 'auto' | number;
  /** Extended Isolation Forest: 0 (standard forest) .. d - 1 (fully extended). Default 0. */
  extensionLevel: number;
  /** Seed of the PRNG: an integer in [0, 2^53). Same seed, same forest, on any machine. Default 0. */
  seed: number;
  /** Worker threads for fit and score (1 = this thread only). Default: os.availableParallelism(). */
  threads: number;
}

/** Options of `IsolationForest.fit`. */
export interface FitOptions {
  /** Called as trees are built (from the calling thread). */
  onProgress?: (treesBuilt: number, trees: number) => void;
}
