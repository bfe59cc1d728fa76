// Rolling statistics over one float64 series, with pandas' semantics: the window is positional
// (NaN positions count toward its length but not toward the number of observations), and a
// result is NaN until the window holds `minPeriods` observations.
//
// Sums are kept shifted by a value K taken from the window and are recomputed from scratch every
// max(window, 1024) steps, and whenever cancellation would cost accuracy (the centred sum of squares falling
// far below the largest squared deviation seen since the last recomputation). That keeps the
// sample standard deviation within ~1e-12 relative of a two-pass computation, even for prices near
// 1e5 whose variance is tiny. A window holding an infinity, or a value whose square passes the f64
// range (|x| above about 1e154), gives what IEEE arithmetic gives (infinite or NaN); the windows
// after it are exact again.

export const KIND_SUM: i32 = 0;
export const KIND_MEAN: i32 = 1;
export const KIND_STD: i32 = 2;
export const KIND_ZSCORE: i32 = 3;
export const KIND_MEAN_STD: i32 = 4;

function at(pointer: usize, index: i32): f64 {
  return load<f64>(pointer + ((<usize>index) << 3));
}

function put(pointer: usize, index: i32, value: f64): void {
  store<f64>(pointer + ((<usize>index) << 3), value);
}

/**
 * Rolling sum, mean, sample std (ddof 1), z-score, or mean and std together (`kind`), of `n`
 * values at `input`, into `output` (and `output2` for the std of KIND_MEAN_STD).
 */
export function rollingMoments(
  input: usize,
  n: i32,
  window: i32,
  minPeriods: i32,
  kind: i32,
  output: usize,
  output2: usize,
): void {
  let shift: f64 = 0;
  let count: i32 = 0;
  let sum1: f64 = 0;
  let sum2: f64 = 0;
  let maxSquare: f64 = 0;
  // Recompute at least every `period` steps (and at the start): rounding errors of the running
  // sums stay bounded, and the extra pass costs window / period of the work.
  const period = max<i32>(window, 1024);
  let sinceRecompute: i32 = period;
  let recompute = false;
  // 1/count and 1/(count - 1), refreshed only when count changes (rarely, past the warm-up).
  let cachedCount: i32 = -1;
  let inverse: f64 = 0;
  let inverseLessOne: f64 = 0;
  let centred: f64 = 0;
  for (let i = 0; i < n; i++) {
    const x = at(input, i);
    if (sinceRecompute >= period) {
      recompute = true;
    } else {
      // Entering and leaving values folded into one update per sum, so each running sum has a
      // single addition per step on its dependency chain; NaN contributes 0 and no count.
      const old = i >= window ? at(input, i - window) : NaN;
      const entering = !Number.isNaN(x);
      const leaving = !Number.isNaN(old);
      const d = entering ? x - shift : 0;
      const e = leaving ? old - shift : 0;
      const d2 = d * d;
      sum1 += d - e;
      sum2 += d2 - e * e;
      maxSquare = max<f64>(maxSquare, d2);
      count += i32(entering) - i32(leaving);
      sinceRecompute++;
      if (count !== cachedCount) {
        cachedCount = count;
        inverse = 1 / f64(count);
        inverseLessOne = 1 / f64(count - 1);
      }
      centred = sum2 - sum1 * sum1 * inverse;
      // Written so that NaN recomputes too: an infinity, or a square past the f64 range, leaves
      // the sums NaN or infinite, and only a recomputation clears them once it has left the window.
      if (count > 0 && !(centred >= maxSquare * 1e-4)) recompute = true;
    }
    if (recompute) {
      recompute = false;
      sinceRecompute = 0;
      const start = max<i32>(i - window + 1, 0);
      // K: the newest finite observation, else the first one in the window, else 0 (an infinite
      // K would make every other value's deviation infinite, and its own NaN).
      shift = 0;
      if (Number.isFinite(x)) {
        shift = x;
      } else {
        for (let j = start; j <= i; j++) {
          const v = at(input, j);
          if (Number.isFinite(v)) {
            shift = v;
            break;
          }
        }
      }
      count = 0;
      sum1 = 0;
      sum2 = 0;
      maxSquare = 0;
      for (let j = start; j <= i; j++) {
        const v = at(input, j);
        if (!Number.isNaN(v)) {
          const d = v - shift;
          sum1 += d;
          const d2 = d * d;
          sum2 += d2;
          if (d2 > maxSquare) maxSquare = d2;
          count++;
        }
      }
      cachedCount = count;
      inverse = 1 / f64(count);
      inverseLessOne = 1 / f64(count - 1);
      centred = sum2 - sum1 * sum1 * inverse;
    }
    const enough = count >= minPeriods;
    if (kind === KIND_SUM) {
      put(output, i, enough ? (count === 0 ? 0 : f64(count) * shift + sum1) : NaN);
      continue;
    }
    const mean = enough && count > 0 ? shift + sum1 * inverse : NaN;
    let std: f64 = NaN;
    if (kind !== KIND_MEAN && enough && count > 1) {
      std = Math.sqrt(max<f64>(centred, 0) * inverseLessOne);
    }
    if (kind === KIND_MEAN) {
      put(output, i, mean);
    } else if (kind === KIND_STD) {
      put(output, i, std);
    } else if (kind === KIND_ZSCORE) {
      put(output, i, std > 0 ? (x - mean) / std : NaN);
    } else {
      put(output, i, mean);
      put(output2, i, std);
    }
  }
}

/**
 * Rolling min (`isMax` 0) or max (1) with a monotonic deque of indices (`deque`: `window` i32),
 * O(n) whatever the window.
 */
export function rollingExtreme(
  input: usize,
  n: i32,
  window: i32,
  minPeriods: i32,
  isMax: i32,
  output: usize,
  deque: usize,
): void {
  let head: i32 = 0; // index into the ring of the front element
  let size: i32 = 0;
  let count: i32 = 0;
  for (let i = 0; i < n; i++) {
    const x = at(input, i);
    if (i >= window) {
      const old = at(input, i - window);
      if (!Number.isNaN(old)) count--;
      if (size > 0 && load<i32>(deque + ((<usize>head) << 2)) <= i - window) {
        head = head + 1 === window ? 0 : head + 1;
        size--;
      }
    }
    if (!Number.isNaN(x)) {
      count++;
      // Drop from the back every value the new one dominates.
      while (size > 0) {
        let back = head + size - 1;
        if (back >= window) back -= window;
        const v = at(input, load<i32>(deque + ((<usize>back) << 2)));
        if (isMax ? v <= x : v >= x) size--;
        else break;
      }
      let slot = head + size;
      if (slot >= window) slot -= window;
      store<i32>(deque + ((<usize>slot) << 2), i);
      size++;
    }
    put(
      output,
      i,
      count >= minPeriods && count > 0 ? at(input, load<i32>(deque + ((<usize>head) << 2))) : NaN,
    );
  }
}

/**
 * Exponentially weighted mean exactly as pandas' `ewm(alpha, adjust, ignore_na=False).mean()`:
 * `adjust` 1 divides by the sum of weights (1-alpha)^i, 0 uses the recursion
 * y = (1-alpha) y + alpha x. NaN observations are skipped but still age the weights.
 */
export function ewmMean(input: usize, n: i32, alpha: f64, adjust: i32, minPeriods: i32, output: usize): void {
  if (n === 0) return;
  const minp = minPeriods > 1 ? minPeriods : 1;
  const oldFactor = 1 - alpha;
  const newWeight: f64 = adjust ? 1 : alpha;
  let weighted = at(input, 0);
  let nobs: i32 = !Number.isNaN(weighted) ? 1 : 0;
  put(output, 0, nobs >= minp ? weighted : NaN);
  let oldWeight: f64 = 1;
  for (let i = 1; i < n; i++) {
    const x = at(input, i);
    const observed = !Number.isNaN(x);
    if (observed) nobs++;
    if (!Number.isNaN(weighted)) {
      oldWeight *= oldFactor;
      if (observed) {
        if (weighted !== x) {
          weighted = (oldWeight * weighted + newWeight * x) / (oldWeight + newWeight);
        }
        if (adjust) oldWeight += newWeight;
        else oldWeight = 1;
      }
    } else if (observed) {
      weighted = x;
    }
    put(output, i, nobs >= minp ? weighted : NaN);
  }
}

// Scratch of `recomputeWindow`: the shifted sums of one window, computed from scratch.
let windowSum1: f64 = 0;
let windowSum2: f64 = 0;
let windowMaxSquare: f64 = 0;

/** Sums of the `window` values ending at `end` (a pointer), shifted by the value at `end`. */
function recomputeWindow(end: usize, window: i32): f64 {
  const shift = load<f64>(end);
  let sum1: f64 = 0;
  let sum2: f64 = 0;
  let maxSquare: f64 = 0;
  for (let p = end - ((<usize>(window - 1)) << 3); p <= end; p += 8) {
    const d = load<f64>(p) - shift;
    sum1 += d;
    const d2 = d * d;
    sum2 += d2;
    maxSquare = max<f64>(maxSquare, d2);
  }
  windowSum1 = sum1;
  windowSum2 = sum2;
  windowMaxSquare = maxSquare;
  return shift;
}

/**
 * The same sums as `rollingMoments` for KIND_MEAN, KIND_STD or KIND_MEAN_STD, for series without
 * NaN or infinities and full windows only: it writes positions window - 1 .. n - 1 (n >= window).
 * The outputs are split in two halves that run side by side in the two lanes of f64x2 vectors,
 * each with its own shift, recomputation and cancellation check. Returns 1, leaving the outputs
 * unspecified, when a value is NaN or infinite (the caller then runs `rollingMoments`), else 0.
 */
export function rollingMomentsDense(
  input: usize,
  n: i32,
  window: i32,
  kind: i32,
  output: usize,
  output2: usize,
): i32 {
  const outputs = n - window + 1;
  if (outputs <= 0) return 0;
  // Lane 0 ends at window - 1 + len - 1, lane 1 starts at n - len: the halves meet or overlap by one.
  const len = (outputs + 1) >> 1;
  const offsetB = (<usize>(n - len - (window - 1))) << 3;
  const back = (<usize>window) << 3;
  const inverse = f64x2.splat(1 / f64(window));
  const inverseLessOne = f64x2.splat(1 / f64(window - 1));
  const floor = f64x2.splat(1e-4);
  const zero = f64x2.splat(0);
  const period = max<i32>(window, 1024);
  const wantMean = kind !== KIND_STD;
  const wantStd = kind !== KIND_MEAN;
  const stdOut = kind === KIND_MEAN_STD ? output2 : output;
  let bad = zero;
  // Every value is seen once as the newest of a window: in a recomputation or an update.
  for (let p = input; p < input + ((<usize>(window - 1)) << 3); p += 8) {
    const v = load<f64>(p);
    if (!Number.isFinite(v)) return 1;
  }
  for (let p = input + offsetB; p < input + offsetB + ((<usize>(window - 1)) << 3); p += 8) {
    const v = load<f64>(p);
    if (!Number.isFinite(v)) return 1;
  }
  let step: i32 = 0;
  while (step < len) {
    const position = (<usize>(window - 1 + step)) << 3;
    const pa = input + position;
    const shiftA = recomputeWindow(pa, window);
    let sum1 = f64x2.splat(windowSum1);
    let sum2 = f64x2.splat(windowSum2);
    let maxSquare = f64x2.splat(windowMaxSquare);
    let shift = f64x2.splat(shiftA);
    const shiftB = recomputeWindow(pa + offsetB, window);
    sum1 = f64x2.replace_lane(sum1, 1, windowSum1);
    sum2 = f64x2.replace_lane(sum2, 1, windowSum2);
    maxSquare = f64x2.replace_lane(maxSquare, 1, windowMaxSquare);
    shift = f64x2.replace_lane(shift, 1, shiftB);
    bad = v128.or(bad, f64x2.ne(f64x2.sub(shift, shift), zero));
    let blockEnd = step + period + 1;
    if (blockEnd > len) blockEnd = len;
    let p = pa;
    let oa = position;
    let centred = f64x2.sub(sum2, f64x2.mul(f64x2.mul(sum1, sum1), inverse));
    for (;;) {
      if (wantMean) {
        const mean = f64x2.add(shift, f64x2.mul(sum1, inverse));
        v128.store64_lane(output + oa, mean, 0);
        v128.store64_lane(output + oa + offsetB, mean, 1);
      }
      if (wantStd) {
        const std = f64x2.sqrt(f64x2.mul(f64x2.max(centred, zero), inverseLessOne));
        v128.store64_lane(stdOut + oa, std, 0);
        v128.store64_lane(stdOut + oa + offsetB, std, 1);
      }
      step++;
      if (step >= blockEnd) break;
      p += 8;
      oa += 8;
      let x = v128.load64_zero(p);
      x = v128.load64_lane(p + offsetB, x, 1);
      let old = v128.load64_zero(p - back);
      old = v128.load64_lane(p - back + offsetB, old, 1);
      bad = v128.or(bad, f64x2.ne(f64x2.sub(x, x), zero));
      const d = f64x2.sub(x, shift);
      const e = f64x2.sub(old, shift);
      const d2 = f64x2.mul(d, d);
      sum1 = f64x2.add(sum1, f64x2.sub(d, e));
      sum2 = f64x2.add(sum2, f64x2.sub(d2, f64x2.mul(e, e)));
      maxSquare = f64x2.max(maxSquare, d2);
      centred = f64x2.sub(sum2, f64x2.mul(f64x2.mul(sum1, sum1), inverse));
      // Cancellation in either lane, or a square past the f64 range (NaN or infinite sums, which
      // only a recomputation clears once the value has left the window): recompute both here.
      if (!i64x2.all_true(f64x2.ge(centred, f64x2.mul(maxSquare, floor)))) break;
    }
  }
  return v128.any_true(bad) ? 1 : 0;
}
