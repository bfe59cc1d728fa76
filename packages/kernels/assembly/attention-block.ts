// One transformer block of the attention autoencoder (assembly/attention-network.ts), forward
// and backward, for one window: per head softmax(Q Kᵀ / √(d/heads)) V, the output projection and
// residual, layer norm 1, the relu feed-forward layer and residual, layer norm 2. The
// architecture and the layout of a block's record and weights are module state, set once per
// call by `readArchitecture`.

import { expShifted } from './exp';
import {
  add,
  at,
  layerNorm,
  layerNormBackward,
  linear,
  linearBackward,
  matmul,
  put,
  START_OUT,
  START_ZERO,
  setTransposeScratch,
  skip,
  transpose,
  zero,
} from './network-ops';

/** The area for transposed operands (the heads' keys and values), set by each call. */
let transposed: usize = 0;

/** Sets the area for transposed operands, here and in network-ops. */
export function useTransposeScratch(pointer: usize): void {
  transposed = pointer;
  setTransposeScratch(pointer);
}

// The architecture, read from the host's int32 array at the start of each call.
export let F: i32 = 0;
export let W: i32 = 0;
export let D: i32 = 0;
export let HEADS: i32 = 0;
export let FF: i32 = 0;
export let Z: i32 = 0;
export let BLOCKS: i32 = 0;

// Where each part lies (floats) in one block's record and in one block's weights (or their
// gradient): q is at 0 in the record, the query kernel at 0 in the weights, its bias after it.
export let R_K: i32 = 0;
export let R_V: i32 = 0;
export let R_ATTENTION: i32 = 0;
export let R_MERGED: i32 = 0;
export let R_XHAT1: i32 = 0;
export let R_INV1: i32 = 0;
export let R_H1: i32 = 0;
export let R_U: i32 = 0;
export let R_XHAT2: i32 = 0;
export let R_INV2: i32 = 0;
export let R_H2: i32 = 0;
export let P_KEY: i32 = 0;
export let P_VALUE: i32 = 0;
export let P_OUTPUT: i32 = 0;
export let P_NORM1: i32 = 0;
export let P_FF1: i32 = 0;
export let P_FF2: i32 = 0;
export let P_NORM2: i32 = 0;

export function readArchitecture(architecture: usize): void {
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
export function blockWeights(): i32 {
  return P_NORM2 + 2 * D;
}

/** Floats one window keeps per block for the backward pass. */
export function blockRecord(): i32 {
  return R_H2 + W * D;
}

/**
 * One transformer block on `input` (W × D) for one window; keeps what the backward pass needs in
 * `record` (blockRecord floats) and returns where the block's output lies in it.
 */
export function blockForward(input: usize, weights: usize, record: usize): usize {
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
  layerNorm(W, D, xhat1, inv1, gain1, skip(gain1, D), h1);
  linear(h1, W, D, FF, w1, skip(w1, D * FF), u);
  for (let i: i32 = 0; i < W * FF; i++) if (at(u, i) < 0) put(u, i, 0);
  linear(u, W, FF, D, w2, skip(w2, FF * D), xhat2);
  for (let i: i32 = 0; i < wd; i++) add(xhat2, i, at(h1, i));
  layerNorm(W, D, xhat2, inv2, gain2, skip(gain2, D), h2);
  return h2;
}

/**
 * The backward pass of `blockForward` for one window: from the output gradient `dy` (W × D) to
 * the input gradient `dx`; accumulates the block's weight gradients at `dweights`. `dy` is
 * overwritten.
 */
export function blockBackward(
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
  layerNormBackward(W, D, dy, xhat2, inv2, gain2, dgain2, skip(dgain2, D), g);
  linearBackward(u, g, W, FF, D, w2, dw2, skip(dw2, FF * D), du, false);
  for (let i: i32 = 0; i < W * FF; i++) if (at(u, i) <= 0) put(du, i, 0);
  linearBackward(h1, du, W, D, FF, w1, dw1, skip(dw1, D * FF), g, true);
  // norm1: dy = d (input + merged Wo + bo).
  layerNormBackward(W, D, g, xhat1, inv1, gain1, dgain1, skip(dgain1, D), dy);
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
