import type { EmaOptions, RollingOptions } from './api.js';
import { KernelError } from './errors.js';
import { assertInRange, assertInteger, assertKnownKeys, assertSeries, describe, keysOf } from './validate.js';
import { readFloat64, sharedKernels, withHeap, writeFloat64 } from './wasm.js';

const KIND_SUM = 0;
const KIND_MEAN = 1;
const KIND_STD = 2;
const KIND_ZSCORE = 3;
const KIND_MEAN_STD = 4;
/**
 * Sizes of the chunked path, read on every call. Internal (not exported from the package): the
 * unit tests lower `chunk` so that a few thousand values cross several chunk boundaries and fill
 * both SIMD lanes past a recomputation; `bench/run.ts` runs the default on 10,000,000 values.
 */
export const rollingTuning = {
  /** Values per chunk handed to a kernel (512 KiB of input: inputs and outputs stay in cache). */
  chunk: 1 << 16,
};

const ROLLING_KEYS = keysOf<RollingOptions>({ minPeriods: true });
const EMA_KEYS = keysOf<EmaOptions>({ span: true, alpha: true, adjust: true, minPeriods: true });

function windowArgs(name: string, values: unknown, window: unknown, options: RollingOptions | undefined) {
  assertKnownKeys(`${name} options`, options, ROLLING_KEYS);
  const series = assertSeries('values', values);
  const w = assertInteger('window', window, 1, 2 ** 31 - 1);
  const minPeriods = assertInteger('minPeriods', options?.minPeriods ?? w, 0, w);
  return { series, w, minPeriods };
}

function moments(
  name: string,
  values: ArrayLike<number>,
  window: number,
  options: RollingOptions | undefined,
  kind: number,
) {
  const { series, w, minPeriods } = windowArgs(name, values, window, options);
  const n = series.length;
  const first = new Float64Array(n);
  const second = kind === KIND_MEAN_STD ? new Float64Array(n) : undefined;
  withHeap(sharedKernels(), (k) => {
    // Chunks that stay in cache: each takes the window - 1 values before it along (its results are
    // those of the whole series: a window only sees its own values), and keeps only its own part.
    const chunk = Math.max(rollingTuning.chunk, w * 4);
    const capacity = Math.min(n, chunk + w - 1);
    const input = k.allocate(capacity * 8);
    const output = k.allocate(capacity * 8);
    const output2 = k.allocate(second ? capacity * 8 : 0);
    const buffer = k.memory.buffer;
    const inputView = new Float64Array(buffer, input, capacity);
    for (let start = 0; start < n; start += chunk) {
      const from = Math.max(0, start - (w - 1));
      const end = Math.min(n, start + chunk);
      const length = end - from;
      if (ArrayBuffer.isView(series)) inputView.set((series as Float64Array).subarray(from, end));
      else for (let i = 0; i < length; i++) inputView[i] = series[from + i] as number;
      // Windows that all lie inside the chunk go to the two-lane SIMD kernel, which gives up (and
      // the general one runs) at the first NaN or infinity.
      const dense =
        from === start - (w - 1) &&
        w > 1 &&
        (kind === KIND_MEAN || kind === KIND_STD || kind === KIND_MEAN_STD) &&
        k.rollingMomentsDense(input, length, w, kind, output, output2) === 0;
      if (!dense) k.rollingMoments(input, length, w, minPeriods, kind, output, output2);
      first.set(new Float64Array(buffer, output + (start - from) * 8, end - start), start);
      second?.set(new Float64Array(buffer, output2 + (start - from) * 8, end - start), start);
    }
  });
  return { first, second };
}

/** Rolling sum (pandas `rolling(window, min_periods).sum()`; 0 for an empty window when minPeriods is 0). */
export function rollingSum(
  values: ArrayLike<number>,
  window: number,
  options?: RollingOptions,
): Float64Array {
  return moments('rollingSum', values, window, options, KIND_SUM).first;
}

/** Rolling mean (pandas `rolling(window, min_periods).mean()`). */
export function rollingMean(
  values: ArrayLike<number>,
  window: number,
  options?: RollingOptions,
): Float64Array {
  return moments('rollingMean', values, window, options, KIND_MEAN).first;
}

/** Rolling sample standard deviation, ddof 1 (pandas `rolling(...).std()`); NaN below 2 observations. */
export function rollingStd(
  values: ArrayLike<number>,
  window: number,
  options?: RollingOptions,
): Float64Array {
  return moments('rollingStd', values, window, options, KIND_STD).first;
}

/** Rolling mean and sample std in one pass over the data. */
export function rollingMeanStd(
  values: ArrayLike<number>,
  window: number,
  options?: RollingOptions,
): { mean: Float64Array; std: Float64Array } {
  const { first, second } = moments('rollingMeanStd', values, window, options, KIND_MEAN_STD);
  return { mean: first, std: second as Float64Array };
}

/**
 * (x - mean) / std over the window that ends at, and includes, x. NaN where x is NaN, where the
 * window has fewer than minPeriods (or 2) observations, or where its std is 0.
 */
export function rollingZScore(
  values: ArrayLike<number>,
  window: number,
  options?: RollingOptions,
): Float64Array {
  return moments('rollingZScore', values, window, options, KIND_ZSCORE).first;
}

function extreme(
  name: string,
  values: ArrayLike<number>,
  window: number,
  options: RollingOptions | undefined,
  isMax: number,
) {
  const { series, w, minPeriods } = windowArgs(name, values, window, options);
  const n = series.length;
  return withHeap(sharedKernels(), (k) => {
    const input = writeFloat64(k, series);
    const output = k.allocate(n * 8);
    const deque = k.allocate(Math.min(w, Math.max(n, 1)) * 4 + 16);
    k.rollingExtreme(input, n, Math.min(w, Math.max(n, 1)), minPeriods, isMax, output, deque);
    return readFloat64(k, output, n);
  });
}

/** Rolling minimum (pandas `rolling(...).min()`), O(n) whatever the window. */
export function rollingMin(
  values: ArrayLike<number>,
  window: number,
  options?: RollingOptions,
): Float64Array {
  return extreme('rollingMin', values, window, options, 0);
}

/** Rolling maximum (pandas `rolling(...).max()`), O(n) whatever the window. */
export function rollingMax(
  values: ArrayLike<number>,
  window: number,
  options?: RollingOptions,
): Float64Array {
  return extreme('rollingMax', values, window, options, 1);
}

/** alpha from `span` or `alpha` (exactly one), as pandas' ewm. */
export function emaAlpha(options: EmaOptions): number {
  if (options == null || typeof options !== 'object') {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `ema options must be an object with span or alpha; got ${describe(options)}.`,
    );
  }
  assertKnownKeys('ema options', options, EMA_KEYS);
  const { span, alpha } = options;
  if ((span === undefined) === (alpha === undefined)) {
    throw new KernelError('INVALID_ARGUMENT', 'ema needs exactly one of span (>= 1) or alpha (in (0, 1]).');
  }
  if (span !== undefined) {
    assertInRange('span', span, 1, Number.MAX_VALUE);
    return 2 / (span + 1);
  }
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha <= 1)) {
    throw new KernelError('INVALID_ARGUMENT', `alpha must be a number in (0, 1]; got ${describe(alpha)}.`);
  }
  return alpha;
}

/**
 * Exponential moving average with pandas' `ewm(span | alpha, adjust, min_periods).mean()`
 * semantics and its default ignore_na=False: with adjust (the default) the mean is
 * sum((1-alpha)^i x[t-i]) / sum((1-alpha)^i); without it, y = (1-alpha) y + alpha x. NaN inputs are
 * skipped but still age the weights; the output carries the last value over them.
 */
export function ema(values: ArrayLike<number>, options: EmaOptions): Float64Array {
  const series = assertSeries('values', values);
  const alpha = emaAlpha(options);
  const minPeriods = assertInteger('minPeriods', options.minPeriods ?? 0, 0);
  const n = series.length;
  return withHeap(sharedKernels(), (k) => {
    const input = writeFloat64(k, series);
    const output = k.allocate(n * 8);
    k.ewmMean(input, n, alpha, options.adjust === false ? 0 : 1, minPeriods, output);
    return readFloat64(k, output, n);
  });
}

export { KIND_MEAN, KIND_MEAN_STD, KIND_STD, KIND_SUM, KIND_ZSCORE };
