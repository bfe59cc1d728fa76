// Plain TypeScript twins of the rolling kernels, written the obvious way: each window is
// recomputed from scratch (two-pass mean and variance), O(n * window). The property tests hold
// the O(n) WebAssembly kernels to these within a stated tolerance.

function windowValues(values: ArrayLike<number>, i: number, window: number): number[] {
  const out: number[] = [];
  for (let j = Math.max(0, i - window + 1); j <= i; j++) {
    const v = values[j] as number;
    if (!Number.isNaN(v)) out.push(v);
  }
  return out;
}

function perWindow(
  values: ArrayLike<number>,
  window: number,
  minPeriods: number,
  stat: (observed: number[], x: number) => number,
): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const observed = windowValues(values, i, window);
    out[i] = observed.length >= minPeriods ? stat(observed, values[i] as number) : Number.NaN;
  }
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : sum(xs) / xs.length);
function std(xs: number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  return Math.sqrt(sum(xs.map((v) => (v - m) * (v - m))) / (xs.length - 1));
}

export const referenceRollingSum = (v: ArrayLike<number>, w: number, minPeriods = w) =>
  perWindow(v, w, minPeriods, sum);
export const referenceRollingMean = (v: ArrayLike<number>, w: number, minPeriods = w) =>
  perWindow(v, w, minPeriods, mean);
export const referenceRollingStd = (v: ArrayLike<number>, w: number, minPeriods = w) =>
  perWindow(v, w, minPeriods, std);
export const referenceRollingMin = (v: ArrayLike<number>, w: number, minPeriods = w) =>
  perWindow(v, w, minPeriods, (xs) => (xs.length === 0 ? Number.NaN : Math.min(...xs)));
export const referenceRollingMax = (v: ArrayLike<number>, w: number, minPeriods = w) =>
  perWindow(v, w, minPeriods, (xs) => (xs.length === 0 ? Number.NaN : Math.max(...xs)));
export const referenceRollingZScore = (v: ArrayLike<number>, w: number, minPeriods = w) =>
  perWindow(v, w, minPeriods, (xs, x) => {
    const s = std(xs);
    return s > 0 ? (x - mean(xs)) / s : Number.NaN;
  });

/** pandas' ewma loop (ignore_na=False), line for line. */
export function referenceEma(
  values: ArrayLike<number>,
  alpha: number,
  adjust = true,
  minPeriods = 0,
): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const minp = Math.max(minPeriods, 1);
  const oldFactor = 1 - alpha;
  const newWeight = adjust ? 1 : alpha;
  let weighted = values[0] as number;
  let nobs = Number.isNaN(weighted) ? 0 : 1;
  out[0] = nobs >= minp ? weighted : Number.NaN;
  let oldWeight = 1;
  for (let i = 1; i < n; i++) {
    const x = values[i] as number;
    const observed = !Number.isNaN(x);
    if (observed) nobs++;
    if (!Number.isNaN(weighted)) {
      oldWeight *= oldFactor;
      if (observed) {
        if (weighted !== x) weighted = (oldWeight * weighted + newWeight * x) / (oldWeight + newWeight);
        if (adjust) oldWeight += newWeight;
        else oldWeight = 1;
      }
    } else if (observed) {
      weighted = x;
    }
    out[i] = nobs >= minp ? weighted : Number.NaN;
  }
  return out;
}
