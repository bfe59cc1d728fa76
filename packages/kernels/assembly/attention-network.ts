// The loss and gradient of a self-attention autoencoder's training step in one call. The network
// (core's AttentionNetwork, which defines it in TensorFlow.js ops) over windows of W steps × F
// features, model width d, `heads` heads, feed-forward width ff, latent width z:
//
//   h = x Win + bin + P                     (P: sinusoidal positions, W × d)
//   encoder blocks, each: Q, K, V = h Wq + bq, ...; per head softmax(Q Kᵀ / √(d/heads)) V;
//     h1 = norm1(h + O Wo + bo); h2 = norm2(h1 + relu(h1 W1 + b1) W2 + b2)
//   latent = tanh(flatten(h) Wb + bb); h = reshape(latent We + be) + P
//   decoder blocks as above; out = h Wout + bout
//
// The loss is the mean over windows of each window's mean squared error, with the `trimmed`
// share of windows (rounded down) of largest error left out (ties keep the earlier window).
// A TensorFlow.js step of this network is about 900 kernels whose fixed cost, not their
// arithmetic, is most of the step; here it is one call, window by window.
//
// Parameters: one flat float32 vector in core's weight order (input kernel, bias; per encoder
// block query, key, value, attention-output kernels and biases, norm1 gain and shift,
// feed-forward1 and 2 kernels and biases, norm2 gain and shift; bottleneck, expand; decoder
// blocks; output). Kernels are in × out, row-major.

import { expShifted } from './exp';

const LAYER_NORM_EPSILON: f32 = 1e-5;

function at(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}

function put(p: usize, i: i32, v: f32): void {
  store<f32>(p + ((<usize>i) << 2), v);
}

function add(p: usize, i: i32, v: f32): void {
  const q = p + ((<usize>i) << 2);
  store<f32>(q, load<f32>(q) + v);
}

function skip(p: usize, floats: i32): usize {
  return p + ((<usize>floats) << 2);
}

function zero(p: usize, floats: i32): void {
  memory.fill(p, 0, (<usize>floats) << 2);
}

// The architecture, read from the host's int32 array at the start of each call.
let F: i32 = 0;
let W: i32 = 0;
let D: i32 = 0;
let HEADS: i32 = 0;
let FF: i32 = 0;
let Z: i32 = 0;
let BLOCKS: i32 = 0;

// Where each part lies (floats) in one block's record and in one block's weights (or their
// gradient): q is at 0 in the record, the query kernel at 0 in the weights, its bias after it.
let R_K: i32 = 0;
let R_V: i32 = 0;
let R_ATTENTION: i32 = 0;
let R_MERGED: i32 = 0;
let R_XHAT1: i32 = 0;
let R_INV1: i32 = 0;
let R_H1: i32 = 0;
let R_U: i32 = 0;
let R_XHAT2: i32 = 0;
let R_INV2: i32 = 0;
let R_H2: i32 = 0;
let P_KEY: i32 = 0;
let P_VALUE: i32 = 0;
let P_OUTPUT: i32 = 0;
let P_NORM1: i32 = 0;
let P_FF1: i32 = 0;
let P_FF2: i32 = 0;
let P_NORM2: i32 = 0;

function readArchitecture(architecture: usize): void {
  F = load<i32>(architecture);
  W = load<i32>(architecture + 4);
  D = load<i32>(architecture + 8);
  HEADS = load<i32>(architecture + 12);
  FF = load<i32>(architecture + 16);
  Z = load<i32>(architecture + 20);
  BLOCKS = load<i32>(architecture + 24);
  const wd = W * D;
  R_K = wd;
  R_V = R_K + wd;
  R_ATTENTION = R_V + wd;
  R_MERGED = R_ATTENTION + HEADS * W * W;
  R_XHAT1 = R_MERGED + wd;
  R_INV1 = R_XHAT1 + wd;
  R_H1 = R_INV1 + W;
  R_U = R_H1 + wd;
  R_XHAT2 = R_U + W * FF;
  R_INV2 = R_XHAT2 + wd;
  R_H2 = R_INV2 + W;
  P_KEY = D * D + D;
  P_VALUE = P_KEY + D * D + D;
  P_OUTPUT = P_VALUE + D * D + D;
  P_NORM1 = P_OUTPUT + D * D + D;
  P_FF1 = P_NORM1 + 2 * D;
  P_FF2 = P_FF1 + D * FF + FF;
  P_NORM2 = P_FF2 + FF * D + D;
}

/** Floats of one block's weights. */
function blockWeights(): i32 {
  return P_NORM2 + 2 * D;
}

/** Floats one window keeps per block for the backward pass. */
function blockRecord(): i32 {
  return R_H2 + W * D;
}

/** Floats one window keeps for the backward pass. */
function windowRecord(): i32 {
  return 2 * W * D + 2 * BLOCKS * blockRecord() + Z + W * F;
}

/** Floats of per-window gradient buffers. */
function temporaries(): i32 {
  return 7 * W * D + W * FF + W * W + Z + W * F;
}

/** Floats of the area for transposed operands: the largest kernel, or a head's keys. */
function transposedFloats(): i32 {
  return max(max(W * D * Z, D * FF), max(max(F * D, D * D), W * D));
}

/** Floats of scratch `attentionLossGradient` needs for `batch` windows. */
export function attentionScratchFloats(architecture: usize, batch: i32): i32 {
  readArchitecture(architecture);
  return batch * windowRecord() + temporaries() + transposedFloats() + 2 * batch;
}

const START_ZERO: i32 = 0;
const START_BIAS: i32 = 1;
const START_OUT: i32 = 2;

/**
 * out[r, j] = start + Σ_i a[r, i] b[i, j] for r < rows, j < m, i < n, where a[r, i] lies at
 * a + (r·aRow + i·aCol) floats (so a transposed operand needs no copy), b's rows are `bStride`
 * apart and contiguous, out's rows `outStride` apart; start is 0, bias[j] or out's own value
 * (`mode`). When m is a multiple of 4 the columns go four at a time (f32x4), two rows at once,
 * so that the sums are independent chains rather than one waiting on the last.
 */
function matmul(
  a: usize,
  aRow: i32,
  aCol: i32,
  rows: i32,
  n: i32,
  b: usize,
  bStride: i32,
  m: i32,
  out: usize,
  outStride: i32,
  bias: usize,
  mode: i32,
): void {
  const aStep = (<usize>aCol) << 2;
  const bStep = (<usize>bStride) << 2;
  if ((m & 3) !== 0) {
    for (let r: i32 = 0; r < rows; r++) {
      const o = skip(out, r * outStride);
      for (let j: i32 = 0; j < m; j++) {
        let sum: f32 = mode === START_BIAS ? at(bias, j) : mode === START_OUT ? at(o, j) : 0;
        let ap = skip(a, r * aRow);
        let bp = skip(b, j);
        for (let i: i32 = 0; i < n; i++) {
          sum += load<f32>(ap) * load<f32>(bp);
          ap += aStep;
          bp += bStep;
        }
        put(o, j, sum);
      }
    }
    return;
  }
  let r: i32 = 0;
  for (; r + 1 < rows; r += 2) {
    const o0 = skip(out, r * outStride);
    const o1 = skip(o0, outStride);
    for (let j: i32 = 0; j < m; j += 4) {
      let s0 = f32x4.splat(0);
      let s1 = s0;
      if (mode === START_BIAS) {
        s0 = v128.load(skip(bias, j));
        s1 = s0;
      } else if (mode === START_OUT) {
        s0 = v128.load(skip(o0, j));
        s1 = v128.load(skip(o1, j));
      }
      let a0 = skip(a, r * aRow);
      let a1 = skip(a0, aRow);
      let bp = skip(b, j);
      for (let i: i32 = 0; i < n; i++) {
        const w = v128.load(bp);
        s0 = f32x4.add(s0, f32x4.mul(f32x4.splat(load<f32>(a0)), w));
        s1 = f32x4.add(s1, f32x4.mul(f32x4.splat(load<f32>(a1)), w));
        a0 += aStep;
        a1 += aStep;
        bp += bStep;
      }
      v128.store(skip(o0, j), s0);
      v128.store(skip(o1, j), s1);
    }
  }
  if (r < rows) {
    const o0 = skip(out, r * outStride);
    for (let j: i32 = 0; j < m; j += 4) {
      let s0 = f32x4.splat(0);
      if (mode === START_BIAS) s0 = v128.load(skip(bias, j));
      else if (mode === START_OUT) s0 = v128.load(skip(o0, j));
      let a0 = skip(a, r * aRow);
      let bp = skip(b, j);
      for (let i: i32 = 0; i < n; i++) {
        s0 = f32x4.add(s0, f32x4.mul(f32x4.splat(load<f32>(a0)), v128.load(bp)));
        a0 += aStep;
        bp += bStep;
      }
      v128.store(skip(o0, j), s0);
    }
  }
}

/** to[j, i] = from[i, j] for `rows` × `cols` floats at `from` whose rows are `stride` apart. */
function transpose(from: usize, rows: i32, cols: i32, stride: i32, to: usize): void {
  for (let i: i32 = 0; i < rows; i++) {
    for (let j: i32 = 0; j < cols; j++) put(to, j * rows + i, at(from, i * stride + j));
  }
}

/** A scratch area for transposed operands (set by each call). */
let transposed: usize = 0;

/** out[r, j] = b[j] + Σ_i x[r, i] w[i, j], for `rows` rows. */
function linear(x: usize, rows: i32, n: i32, m: i32, w: usize, b: usize, out: usize): void {
  matmul(x, n, 1, rows, n, w, m, m, out, m, b, START_BIAS);
}

/**
 * The backward pass of `linear` for the output gradient dy: dw += xᵀ dy, db += Σ_r dy, and, when
 * dx is not 0, dx = dy wᵀ (or dx += dy wᵀ with `accumulate`).
 */
function linearBackward(
  x: usize,
  dy: usize,
  rows: i32,
  n: i32,
  m: i32,
  w: usize,
  dw: usize,
  db: usize,
  dx: usize,
  accumulate: bool,
): void {
  // xᵀ as the left operand: element (i, r) of xᵀ is x[r·n + i].
  matmul(x, 1, n, n, rows, dy, m, m, dw, m, 0, START_OUT);
  for (let r: i32 = 0; r < rows; r++) {
    const g = skip(dy, r * m);
    for (let j: i32 = 0; j < m; j++) add(db, j, at(g, j));
  }
  if (dx === 0) return;
  transpose(w, n, m, m, transposed);
  matmul(dy, m, 1, rows, m, transposed, n, n, dx, n, 0, accumulate ? START_OUT : START_ZERO);
}

/**
 * Layer normalization of `xhat`'s W rows of width D, in place: xhat becomes the normalized rows,
 * `inv` each row's 1/√(variance + ε), and `out` = gain · xhat + shift.
 */
function layerNorm(xhat: usize, inv: usize, gain: usize, shift: usize, out: usize): void {
  for (let r: i32 = 0; r < W; r++) {
    const row = skip(xhat, r * D);
    let mean: f32 = 0;
    for (let j: i32 = 0; j < D; j++) mean += at(row, j);
    mean /= <f32>D;
    let variance: f32 = 0;
    for (let j: i32 = 0; j < D; j++) {
      const c = at(row, j) - mean;
      variance += c * c;
    }
    variance /= <f32>D;
    const scale: f32 = 1 / Mathf.sqrt(variance + LAYER_NORM_EPSILON);
    put(inv, r, scale);
    const o = skip(out, r * D);
    for (let j: i32 = 0; j < D; j++) {
      const normalized = (at(row, j) - mean) * scale;
      put(row, j, normalized);
      put(o, j, at(gain, j) * normalized + at(shift, j));
    }
  }
}

/** The backward pass of `layerNorm`: from dy (W × D) to dx; accumulates the gain's and shift's gradients. */
function layerNormBackward(
  dy: usize,
  xhat: usize,
  inv: usize,
  gain: usize,
  dgain: usize,
  dshift: usize,
  dx: usize,
): void {
  for (let r: i32 = 0; r < W; r++) {
    const g = skip(dy, r * D);
    const h = skip(xhat, r * D);
    let sum: f32 = 0;
    let dot: f32 = 0;
    for (let j: i32 = 0; j < D; j++) {
      const gy = at(g, j);
      add(dgain, j, gy * at(h, j));
      add(dshift, j, gy);
      const gx = gy * at(gain, j);
      sum += gx;
      dot += gx * at(h, j);
    }
    sum /= <f32>D;
    dot /= <f32>D;
    const scale = at(inv, r);
    const out = skip(dx, r * D);
    for (let j: i32 = 0; j < D; j++) put(out, j, scale * (at(g, j) * at(gain, j) - sum - at(h, j) * dot));
  }
}

/**
 * One transformer block on `input` (W × D) for one window; keeps what the backward pass needs in
 * `record` (blockRecord floats) and returns where the block's output lies in it.
 */
function blockForward(input: usize, weights: usize, record: usize): usize {
  const wd = W * D;
  const q = record;
  const k = skip(record, R_K);
  const v = skip(record, R_V);
  const attention = skip(record, R_ATTENTION);
  const merged = skip(record, R_MERGED);
  const xhat1 = skip(record, R_XHAT1);
  const inv1 = skip(record, R_INV1);
  const h1 = skip(record, R_H1);
  const u = skip(record, R_U);
  const xhat2 = skip(record, R_XHAT2);
  const inv2 = skip(record, R_INV2);
  const h2 = skip(record, R_H2);
  const wq = weights;
  const wk = skip(weights, P_KEY);
  const wv = skip(weights, P_VALUE);
  const wo = skip(weights, P_OUTPUT);
  const gain1 = skip(weights, P_NORM1);
  const w1 = skip(weights, P_FF1);
  const w2 = skip(weights, P_FF2);
  const gain2 = skip(weights, P_NORM2);
  linear(input, W, D, D, wq, skip(wq, D * D), q);
  linear(input, W, D, D, wk, skip(wk, D * D), k);
  linear(input, W, D, D, wv, skip(wv, D * D), v);
  const headDim = D / HEADS;
  const scale: f32 = 1 / Mathf.sqrt(<f32>headDim);
  for (let head: i32 = 0; head < HEADS; head++) {
    const c0 = head * headDim;
    const a = skip(attention, head * W * W);
    // scores = q_h k_hᵀ (k_hᵀ copied: headDim × W), then a softmax per row, scaled.
    transpose(skip(k, c0), W, headDim, D, transposed);
    matmul(skip(q, c0), D, 1, W, headDim, transposed, W, W, a, W, 0, START_ZERO);
    for (let t: i32 = 0; t < W; t++) {
      const row = skip(a, t * W);
      let largest: f32 = -Infinity;
      for (let s: i32 = 0; s < W; s++) {
        const score = at(row, s) * scale;
        put(row, s, score);
        if (score > largest) largest = score;
      }
      const total = expShifted(row, W, largest);
      const norm: f32 = 1 / total;
      for (let s: i32 = 0; s < W; s++) put(row, s, at(row, s) * norm);
    }
    // merged_h = attention v_h.
    matmul(a, W, 1, W, W, skip(v, c0), D, headDim, skip(merged, c0), D, 0, START_ZERO);
  }
  // h1 = norm1(input + merged Wo + bo); the sum is normalized in place in xhat1.
  linear(merged, W, D, D, wo, skip(wo, D * D), xhat1);
  for (let i: i32 = 0; i < wd; i++) add(xhat1, i, at(input, i));
  layerNorm(xhat1, inv1, gain1, skip(gain1, D), h1);
  linear(h1, W, D, FF, w1, skip(w1, D * FF), u);
  for (let i: i32 = 0; i < W * FF; i++) if (at(u, i) < 0) put(u, i, 0);
  linear(u, W, FF, D, w2, skip(w2, FF * D), xhat2);
  for (let i: i32 = 0; i < wd; i++) add(xhat2, i, at(h1, i));
  layerNorm(xhat2, inv2, gain2, skip(gain2, D), h2);
  return h2;
}

/**
 * The backward pass of `blockForward` for one window: from the output gradient `dy` (W × D) to
 * the input gradient `dx`; accumulates the block's weight gradients at `dweights`. `dy` is
 * overwritten.
 */
function blockBackward(
  input: usize,
  weights: usize,
  dweights: usize,
  record: usize,
  dy: usize,
  dx: usize,
  temp: usize,
): void {
  const wd = W * D;
  const q = record;
  const k = skip(record, R_K);
  const v = skip(record, R_V);
  const attention = skip(record, R_ATTENTION);
  const merged = skip(record, R_MERGED);
  const xhat1 = skip(record, R_XHAT1);
  const inv1 = skip(record, R_INV1);
  const h1 = skip(record, R_H1);
  const u = skip(record, R_U);
  const xhat2 = skip(record, R_XHAT2);
  const inv2 = skip(record, R_INV2);
  const wq = weights;
  const wk = skip(weights, P_KEY);
  const wv = skip(weights, P_VALUE);
  const wo = skip(weights, P_OUTPUT);
  const gain1 = skip(weights, P_NORM1);
  const w1 = skip(weights, P_FF1);
  const w2 = skip(weights, P_FF2);
  const gain2 = skip(weights, P_NORM2);
  const dwq = dweights;
  const dwk = skip(dweights, P_KEY);
  const dwv = skip(dweights, P_VALUE);
  const dwo = skip(dweights, P_OUTPUT);
  const dgain1 = skip(dweights, P_NORM1);
  const dw1 = skip(dweights, P_FF1);
  const dw2 = skip(dweights, P_FF2);
  const dgain2 = skip(dweights, P_NORM2);
  const g = temp; // W × D
  const du = skip(g, wd); // W × FF
  const dmerged = skip(du, W * FF);
  const dq = skip(dmerged, wd);
  const dk = skip(dq, wd);
  const dv = skip(dk, wd);
  const da = skip(dv, wd); // W × W
  // norm2, then the feed-forward path and its residual: g = d h1.
  layerNormBackward(dy, xhat2, inv2, gain2, dgain2, skip(dgain2, D), g);
  linearBackward(u, g, W, FF, D, w2, dw2, skip(dw2, FF * D), du, false);
  for (let i: i32 = 0; i < W * FF; i++) if (at(u, i) <= 0) put(du, i, 0);
  linearBackward(h1, du, W, D, FF, w1, dw1, skip(dw1, D * FF), g, true);
  // norm1: dy = d (input + merged Wo + bo).
  layerNormBackward(g, xhat1, inv1, gain1, dgain1, skip(dgain1, D), dy);
  linearBackward(merged, dy, W, D, D, wo, dwo, skip(dwo, D * D), dmerged, false);
  // Attention, head by head.
  zero(dv, wd);
  const headDim = D / HEADS;
  const scale: f32 = 1 / Mathf.sqrt(<f32>headDim);
  for (let head: i32 = 0; head < HEADS; head++) {
    const c0 = head * headDim;
    const a = skip(attention, head * W * W);
    // d attention = dmerged_h v_hᵀ; dv_h += attentionᵀ dmerged_h.
    transpose(skip(v, c0), W, headDim, D, transposed);
    matmul(skip(dmerged, c0), D, 1, W, headDim, transposed, W, W, da, W, 0, START_ZERO);
    matmul(a, 1, W, W, W, skip(dmerged, c0), D, headDim, skip(dv, c0), D, 0, START_OUT);
    // Softmax: d score = attention (d attention − Σ attention · d attention), times the scale.
    for (let t: i32 = 0; t < W; t++) {
      const row = skip(a, t * W);
      const drow = skip(da, t * W);
      let weighted: f32 = 0;
      for (let s: i32 = 0; s < W; s++) weighted += at(drow, s) * at(row, s);
      for (let s: i32 = 0; s < W; s++) put(drow, s, at(row, s) * (at(drow, s) - weighted) * scale);
    }
    // dq_h = dscore k_h; dk_h = dscoreᵀ q_h.
    matmul(da, W, 1, W, W, skip(k, c0), D, headDim, skip(dq, c0), D, 0, START_ZERO);
    matmul(da, 1, W, W, W, skip(q, c0), D, headDim, skip(dk, c0), D, 0, START_ZERO);
  }
  // dx = dy (the residual) + dq Wqᵀ + dk Wkᵀ + dv Wvᵀ.
  memory.copy(dx, dy, (<usize>wd) << 2);
  linearBackward(input, dq, W, D, D, wq, dwq, skip(dwq, D * D), dx, true);
  linearBackward(input, dk, W, D, D, wk, dwk, skip(dwk, D * D), dx, true);
  linearBackward(input, dv, W, D, D, wv, dwv, skip(dwv, D * D), dx, true);
}

/**
 * Loss and gradient of a batch of `batch` windows at `x` (batch × W × F float32) for the network
 * of `architecture` (int32: F, W, d, heads, ff, z, blocks) with parameters at `params` and
 * positions at `positions` (W × d): writes the gradient to `gradient` and each window's mean
 * squared error to `errors` (batch floats), and returns the trimmed mean. `scratch`:
 * `attentionScratchFloats` floats.
 */
export function attentionLossGradient(
  architecture: usize,
  params: usize,
  positions: usize,
  x: usize,
  batch: i32,
  trimmed: f64,
  scratch: usize,
  gradient: usize,
  errors: usize,
): f64 {
  readArchitecture(architecture);
  const wd = W * D;
  const record = windowRecord();
  const block = blockRecord();
  const blockSize = blockWeights();
  const temp = skip(scratch, batch * record);
  transposed = skip(temp, temporaries());
  const weightsOf = skip(transposed, transposedFloats());
  // Parameter offsets, in core's weight order.
  const inputKernel = params;
  const encoder = skip(inputKernel, F * D + D);
  const bottleneck = skip(encoder, BLOCKS * blockSize);
  const expand = skip(bottleneck, wd * Z + Z);
  const decoder = skip(expand, Z * wd + wd);
  const outputKernel = skip(decoder, BLOCKS * blockSize);
  const parameterCount = <i32>((skip(outputKernel, D * F + F) - params) >> 2);
  // Forward, window by window; each keeps its record.
  for (let b: i32 = 0; b < batch; b++) {
    const window = skip(x, b * W * F);
    const r = skip(scratch, b * record);
    const h0 = r;
    linear(window, W, F, D, inputKernel, skip(inputKernel, F * D), h0);
    for (let i: i32 = 0; i < wd; i++) add(h0, i, at(positions, i));
    let h = h0;
    let blockAt = skip(h0, wd);
    for (let n: i32 = 0; n < BLOCKS; n++) {
      h = blockForward(h, skip(encoder, n * blockSize), blockAt);
      blockAt = skip(blockAt, block);
    }
    const latent = skip(r, wd + 2 * BLOCKS * block);
    linear(h, 1, wd, Z, bottleneck, skip(bottleneck, wd * Z), latent);
    for (let i: i32 = 0; i < Z; i++) put(latent, i, Mathf.tanh(at(latent, i)));
    const expanded = skip(latent, Z);
    linear(latent, 1, Z, wd, expand, skip(expand, Z * wd), expanded);
    for (let i: i32 = 0; i < wd; i++) add(expanded, i, at(positions, i));
    h = expanded;
    blockAt = skip(r, wd + BLOCKS * block);
    for (let n: i32 = 0; n < BLOCKS; n++) {
      h = blockForward(h, skip(decoder, n * blockSize), blockAt);
      blockAt = skip(blockAt, block);
    }
    const out = skip(expanded, wd);
    linear(h, W, D, F, outputKernel, skip(outputKernel, D * F), out);
    let sum: f64 = 0;
    for (let i: i32 = 0; i < W * F; i++) {
      const difference = <f64>(at(out, i) - at(window, i));
      sum += difference * difference;
    }
    put(errors, b, <f32>(sum / <f64>(W * F)));
  }
  // The trimmed mean's weights: 1/keep for the `keep` windows of smallest error.
  const keep = batch - <i32>Math.floor(<f64>batch * trimmed);
  let loss: f64 = 0;
  for (let b: i32 = 0; b < batch; b++) {
    const e = at(errors, b);
    let rank: i32 = 0;
    for (let o: i32 = 0; o < batch; o++) {
      const other = at(errors, o);
      if (other < e || (other === e && o < b)) rank++;
    }
    const weight: f32 = rank < keep ? 1 / <f32>keep : 0;
    put(weightsOf, b, weight);
    loss += <f64>weight * <f64>e;
  }
  // Backward, window by window, for the windows that count.
  zero(gradient, parameterCount);
  const dInputKernel = gradient;
  const dEncoder = skip(dInputKernel, F * D + D);
  const dBottleneck = skip(dEncoder, BLOCKS * blockSize);
  const dExpand = skip(dBottleneck, wd * Z + Z);
  const dDecoder = skip(dExpand, Z * wd + wd);
  const dOutputKernel = skip(dDecoder, BLOCKS * blockSize);
  const blockTemp = temp;
  const gA = skip(temp, 5 * wd + W * FF + W * W);
  const gB = skip(gA, wd);
  const dLatent = skip(gB, wd);
  const dOut = skip(dLatent, Z);
  for (let b: i32 = 0; b < batch; b++) {
    const weight = at(weightsOf, b);
    if (weight === 0) continue;
    const window = skip(x, b * W * F);
    const r = skip(scratch, b * record);
    const latent = skip(r, wd + 2 * BLOCKS * block);
    const expanded = skip(latent, Z);
    const out = skip(expanded, wd);
    const factor: f32 = (weight * 2) / <f32>(W * F);
    for (let i: i32 = 0; i < W * F; i++) put(dOut, i, (at(out, i) - at(window, i)) * factor);
    // The decoder's last output is the input of the output layer.
    const lastDecoder = BLOCKS > 0 ? skip(r, wd + 2 * BLOCKS * block - wd) : expanded;
    linearBackward(
      lastDecoder,
      dOut,
      W,
      D,
      F,
      outputKernel,
      dOutputKernel,
      skip(dOutputKernel, D * F),
      gA,
      false,
    );
    let dy = gA;
    let dx = gB;
    for (let n: i32 = BLOCKS - 1; n >= 0; n--) {
      const recordAt = skip(r, wd + (BLOCKS + n) * block);
      const input = n === 0 ? expanded : recordAt - ((<usize>wd) << 2);
      blockBackward(
        input,
        skip(decoder, n * blockSize),
        skip(dDecoder, n * blockSize),
        recordAt,
        dy,
        dx,
        blockTemp,
      );
      const swap = dy;
      dy = dx;
      dx = swap;
    }
    // Expand: expanded = latent We + be + P; latent = tanh(flattened Wb + bb).
    linearBackward(latent, dy, 1, Z, wd, expand, dExpand, skip(dExpand, Z * wd), dLatent, false);
    for (let i: i32 = 0; i < Z; i++) {
      const l = at(latent, i);
      put(dLatent, i, at(dLatent, i) * (1 - l * l));
    }
    const lastEncoder = BLOCKS > 0 ? skip(r, wd + BLOCKS * block - wd) : r;
    linearBackward(
      lastEncoder,
      dLatent,
      1,
      wd,
      Z,
      bottleneck,
      dBottleneck,
      skip(dBottleneck, wd * Z),
      dy,
      false,
    );
    for (let n: i32 = BLOCKS - 1; n >= 0; n--) {
      const recordAt = skip(r, wd + n * block);
      const input = n === 0 ? r : recordAt - ((<usize>wd) << 2);
      blockBackward(
        input,
        skip(encoder, n * blockSize),
        skip(dEncoder, n * blockSize),
        recordAt,
        dy,
        dx,
        blockTemp,
      );
      const swap = dy;
      dy = dx;
      dx = swap;
    }
    linearBackward(window, dy, W, F, D, inputKernel, dInputKernel, skip(dInputKernel, F * D), 0, false);
  }
  return loss;
}
