// Quantiles by selection (O(n) expected), with numpy's default 'linear' interpolation, and
// clipping: the two halves of winsorization.

import { nextBelow, seedStream } from './random';

function at(pointer: usize, index: i32): f64 {
  return load<f64>(pointer + ((<usize>index) << 3));
}

function swap(pointer: usize, i: i32, j: i32): void {
  const a = pointer + ((<usize>i) << 3);
  const b = pointer + ((<usize>j) << 3);
  const t = load<f64>(a);
  store<f64>(a, load<f64>(b));
  store<f64>(b, t);
}

/**
 * Rearranges values[lo, hi) (no NaN) so that values[k] is the k-th smallest, everything before it
 * is <= and everything after it >=. Median-of-three pivots; after too many rounds, random pivots
 * (introselect's guard against adversarial inputs).
 */
export function selectKth(values: usize, lo: i32, hi: i32, k: i32): void {
  let left = lo;
  let right = hi - 1;
  let rounds = 0;
  let budget = 8;
  for (let m = hi - lo; m > 1; m >>= 1) budget += 2;
  while (right > left) {
    let pivotIndex: i32;
    if (rounds++ < budget) {
      const mid = left + ((right - left) >> 1);
      const a = at(values, left);
      const b = at(values, mid);
      const c = at(values, right);
      pivotIndex = a < b ? (b < c ? mid : a < c ? right : left) : a < c ? left : b < c ? right : mid;
    } else {
      if (rounds === budget + 1) seedStream(0x5e1ec7, 0, u32(k));
      pivotIndex = left + nextBelow(right - left + 1);
    }
    const pivot = at(values, pivotIndex);
    // Hoare partition around the pivot value.
    let i = left;
    let j = right;
    while (i <= j) {
      while (at(values, i) < pivot) i++;
      while (at(values, j) > pivot) j--;
      if (i <= j) {
        swap(values, i, j);
        i++;
        j--;
      }
    }
    // Now values[left..j] <= pivot <= values[i..right], and values(j, i) == pivot.
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

function minOf(values: usize, lo: i32, hi: i32): f64 {
  let m = at(values, lo);
  for (let i = lo + 1; i < hi; i++) {
    const v = at(values, i);
    if (v < m) m = v;
  }
  return m;
}

// numpy's _lerp: a + (b-a) t, computed from b's side when t >= 0.5.
function lerp(a: f64, b: f64, t: f64): f64 {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

const SAMPLED_MIN_ROWS: i32 = 100_000;
const SAMPLE_SIZE: i32 = 20_000;

/**
 * Floyd-Rivest style shortcut for long columns: a random sample brackets each target rank between
 * two pivots with a margin of six standard deviations of the sample rank; one pass over the column
 * counts the values below each bracket and collects those inside it; the exact order statistics
 * are then selected among the (few) collected values. The result is exact: when a bracket misses
 * its rank (or its buffer overflows) it returns false and the caller selects over the whole column.
 */
function sampledQuantiles(
  x: usize,
  rows: i32,
  cols: i32,
  column: i32,
  qLow: f64,
  qHigh: f64,
  scratch: usize,
  out: usize,
): bool {
  const stride = (<usize>cols) << 3;
  const base = x + ((<usize>column) << 3);
  // Sample with replacement at seeded random rows (NaN skipped).
  seedStream(0x9a3b1e, u32(rows), u32(column));
  let s: i32 = 0;
  for (let i = 0; i < SAMPLE_SIZE; i++) {
    const v = load<f64>(base + <usize>nextBelow(rows) * stride);
    if (!Number.isNaN(v)) {
      store<f64>(scratch + ((<usize>s) << 3), v);
      s++;
    }
  }
  if (s < 1000) return false;
  // The rest of scratch holds the two candidate buffers; one pass counts and collects, exactly
  // as the streamed path (bracketChunk over chunks) does.
  const capacity = (rows - SAMPLE_SIZE) >> 1;
  const lowBuffer = scratch + ((<usize>SAMPLE_SIZE) << 3);
  const highBuffer = lowBuffer + ((<usize>capacity) << 3);
  bracketStart(scratch, s, qLow, qHigh, SAMPLED_STATE);
  bracketChunk(base, rows, cols, SAMPLED_STATE, lowBuffer, highBuffer, capacity);
  return bracketFinish(qLow, qHigh, SAMPLED_STATE, lowBuffer, highBuffer, out) !== 0;
}

/** The bracket state of sampledQuantiles (layout as for bracketStart). */
const SAMPLED_STATE: usize = memory.data(64, 16);

let bracketA: f64 = 0;
let bracketB: f64 = 0;

/** Pivots around the sample rank of q, into bracketA/bracketB (-/+Infinity at the ends). */
function bracket(sample: usize, s: i32, q: f64): bool {
  const rank = q * f64(s - 1);
  const margin = i32(Math.ceil(6 * Math.sqrt(f64(s) * q * (1 - q)))) + 8;
  const lo = i32(Math.floor(rank)) - margin;
  const hi = i32(Math.ceil(rank)) + margin;
  if (lo <= 0) {
    bracketA = -Infinity;
  } else {
    selectKth(sample, 0, s, lo);
    bracketA = at(sample, lo);
  }
  if (hi >= s - 1) {
    bracketB = Infinity;
  } else {
    selectKth(sample, 0, s, hi);
    bracketB = at(sample, hi);
  }
  return true;
}

/** Whether order statistics k and k + 1 (or k alone, at the end) lie among the collected values. */
function inBracket(k: i32, m: i32, less: i32, count: i32): bool {
  if (k < less) return false;
  if (k + 1 >= m) return k < less + count;
  return k + 1 < less + count;
}

function pickFrom(buffer: usize, count: i32, k: i32, fraction: f64): f64 {
  selectKth(buffer, 0, count, k);
  const a = at(buffer, k);
  const b = k + 1 < count ? minOf(buffer, k + 1, count) : a;
  return lerp(a, b, fraction);
}

/**
 * Lower and upper quantiles (qLow <= qHigh) of column `column` of the row-major rows x cols
 * matrix at `x`, NaN skipped (as numpy's nanquantile), into out[0], out[1]. `scratch` holds
 * `rows` float64 values. Both NaN when the column has no values.
 */
export function columnQuantiles(
  x: usize,
  rows: i32,
  cols: i32,
  column: i32,
  qLow: f64,
  qHigh: f64,
  scratch: usize,
  out: usize,
): void {
  if (rows >= SAMPLED_MIN_ROWS && sampledQuantiles(x, rows, cols, column, qLow, qHigh, scratch, out)) return;
  let m: i32 = 0;
  const stride = (<usize>cols) << 3;
  let p = x + ((<usize>column) << 3);
  for (let r = 0; r < rows; r++) {
    const v = load<f64>(p);
    p += stride;
    if (!Number.isNaN(v)) {
      store<f64>(scratch + ((<usize>m) << 3), v);
      m++;
    }
  }
  if (m === 0) {
    store<f64>(out, NaN);
    store<f64>(out, NaN, 8);
    return;
  }
  const hHigh = f64(m - 1) * qHigh;
  const kHigh = i32(Math.floor(hHigh));
  selectKth(scratch, 0, m, kHigh);
  const aHigh = at(scratch, kHigh);
  const bHigh = kHigh + 1 < m ? minOf(scratch, kHigh + 1, m) : aHigh;
  const hLow = f64(m - 1) * qLow;
  const kLow = i32(Math.floor(hLow));
  let aLow: f64;
  let bLow: f64;
  if (kLow === kHigh) {
    aLow = aHigh;
    bLow = bHigh;
  } else {
    // Everything below kHigh is <= values[kHigh]: select within that prefix only.
    selectKth(scratch, 0, kHigh + 1, kLow);
    aLow = at(scratch, kLow);
    bLow = minOf(scratch, kLow + 1, kHigh + 1);
  }
  store<f64>(out, lerp(aLow, bLow, hLow - f64(kLow)));
  store<f64>(out, lerp(aHigh, bHigh, hHigh - f64(kHigh)), 8);
}

/** out[r, c] = min(max(x[r, c], lower[c]), upper[c]); NaN stays NaN. `out` may equal `x`. */
export function clipColumns(x: usize, rows: i32, cols: i32, lower: usize, upper: usize, out: usize): void {
  if (cols === 1) {
    const lo = load<f64>(lower);
    const hi = load<f64>(upper);
    const total = (<usize>rows) << 3;
    for (let i: usize = 0; i < total; i += 8) {
      store<f64>(out + i, min(max(load<f64>(x + i), lo), hi));
    }
    return;
  }
  let i: usize = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const o = (<usize>c) << 3;
      store<f64>(out + i, min(max(load<f64>(x + i), load<f64>(lower + o)), load<f64>(upper + o)));
      i += 8;
    }
  }
}

// Streaming form of the sampled quantiles, for one long contiguous series that the host hands
// over in cache-sized chunks (so it never copies the whole series into WASM memory). `state`:
// f64 [lowA, lowB, highA, highB] then i32 [m, lowLess, highLess, lowCount, highCount, overflow].

/** Brackets from a sample of `s` values (rearranged in place); zeroes the counters. */
export function bracketStart(sample: usize, s: i32, qLow: f64, qHigh: f64, state: usize): void {
  bracket(sample, s, qLow);
  store<f64>(state, bracketA);
  store<f64>(state, bracketB, 8);
  bracket(sample, s, qHigh);
  store<f64>(state, bracketA, 16);
  store<f64>(state, bracketB, 24);
  memory.fill(state + 32, 0, 24);
}

/**
 * Counts and collects one chunk of `n` values (NaN skipped) against the brackets in `state`,
 * `stride` values apart (1 for a contiguous series, the column count for a matrix column).
 */
export function bracketChunk(
  values: usize,
  n: i32,
  stride: i32,
  state: usize,
  lowBuffer: usize,
  highBuffer: usize,
  capacity: i32,
): void {
  const lowA = load<f64>(state);
  const lowB = load<f64>(state, 8);
  const highA = load<f64>(state, 16);
  const highB = load<f64>(state, 24);
  let lowCount = load<i32>(state, 44);
  let highCount = load<i32>(state, 48);
  if (load<i32>(state, 52)) return;
  const vLowA = f64x2.splat(lowA);
  const vLowB = f64x2.splat(lowB);
  const vHighA = f64x2.splat(highA);
  const vHighB = f64x2.splat(highB);
  let lowLessLanes = i64x2.splat(0);
  let highLessLanes = i64x2.splat(0);
  let nanLanes = i64x2.splat(0);
  let overflow = 0;
  let r = 0;
  let p = values;
  const step = (<usize>stride) << 3;
  // Two values per SIMD step where they are contiguous; a strided column goes value by value.
  const paired = stride === 1 ? n : 0;
  for (; r + 2 <= paired; r += 2) {
    const v = v128.load(p);
    p += 16;
    lowLessLanes = i64x2.sub(lowLessLanes, f64x2.lt(v, vLowA));
    highLessLanes = i64x2.sub(highLessLanes, f64x2.lt(v, vHighA));
    nanLanes = i64x2.sub(nanLanes, f64x2.ne(v, v));
    const inLow = v128.and(f64x2.ge(v, vLowA), f64x2.le(v, vLowB));
    const inHigh = v128.and(f64x2.ge(v, vHighA), f64x2.le(v, vHighB));
    if (v128.any_true(v128.or(inLow, inHigh))) {
      for (let lane = 0; lane < 2; lane++) {
        const x = load<f64>(p - 16 + ((<usize>lane) << 3));
        if (x >= lowA && x <= lowB) {
          if (lowCount >= capacity) overflow = 1;
          else {
            store<f64>(lowBuffer + ((<usize>lowCount) << 3), x);
            lowCount++;
          }
        }
        if (x >= highA && x <= highB) {
          if (highCount >= capacity) overflow = 1;
          else {
            store<f64>(highBuffer + ((<usize>highCount) << 3), x);
            highCount++;
          }
        }
      }
    }
  }
  let lowLess = i32(i64x2.extract_lane(lowLessLanes, 0) + i64x2.extract_lane(lowLessLanes, 1));
  let highLess = i32(i64x2.extract_lane(highLessLanes, 0) + i64x2.extract_lane(highLessLanes, 1));
  let m = r - i32(i64x2.extract_lane(nanLanes, 0) + i64x2.extract_lane(nanLanes, 1));
  for (; r < n; r++) {
    const x = load<f64>(p);
    p += step;
    if (Number.isNaN(x)) continue;
    m++;
    // Most values lie below both brackets (lowA <= highA): one compare settles them.
    if (x < lowA) {
      lowLess++;
      highLess++;
      continue;
    }
    if (x <= lowB) {
      if (lowCount >= capacity) overflow = 1;
      else {
        store<f64>(lowBuffer + ((<usize>lowCount) << 3), x);
        lowCount++;
      }
    }
    if (x < highA) {
      highLess++;
    } else if (x <= highB) {
      if (highCount >= capacity) overflow = 1;
      else {
        store<f64>(highBuffer + ((<usize>highCount) << 3), x);
        highCount++;
      }
    }
  }
  store<i32>(state, load<i32>(state, 32) + m, 32);
  store<i32>(state, load<i32>(state, 36) + lowLess, 36);
  store<i32>(state, load<i32>(state, 40) + highLess, 40);
  store<i32>(state, lowCount, 44);
  store<i32>(state, highCount, 48);
  store<i32>(state, overflow, 52);
}

/**
 * The two quantiles from the collected values into out[0], out[1]; returns 0 when a bracket
 * missed its rank or overflowed (then select over the whole series instead), and NaN bounds
 * with 1 when the series had no values.
 */
export function bracketFinish(
  qLow: f64,
  qHigh: f64,
  state: usize,
  lowBuffer: usize,
  highBuffer: usize,
  out: usize,
): i32 {
  const m = load<i32>(state, 32);
  if (m === 0) {
    store<f64>(out, NaN);
    store<f64>(out, NaN, 8);
    return 1;
  }
  if (load<i32>(state, 52)) return 0;
  const lowLess = load<i32>(state, 36);
  const highLess = load<i32>(state, 40);
  const lowCount = load<i32>(state, 44);
  const highCount = load<i32>(state, 48);
  const hLow = f64(m - 1) * qLow;
  const hHigh = f64(m - 1) * qHigh;
  if (!inBracket(i32(Math.floor(hLow)), m, lowLess, lowCount)) return 0;
  if (!inBracket(i32(Math.floor(hHigh)), m, highLess, highCount)) return 0;
  store<f64>(out, pickFrom(lowBuffer, lowCount, i32(Math.floor(hLow)) - lowLess, hLow - Math.floor(hLow)));
  store<f64>(
    out,
    pickFrom(highBuffer, highCount, i32(Math.floor(hHigh)) - highLess, hHigh - Math.floor(hHigh)),
    8,
  );
  return 1;
}
