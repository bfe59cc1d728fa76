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

import {
  BLOCKS,
  blockBackward,
  blockForward,
  blockRecord,
  blockWeights,
  D,
  F,
  FF,
  readArchitecture,
  useTransposeScratch,
  W,
  Z,
} from './attention-block';
import { add, at, linear, linearBackward, put, skip, zero } from './network-ops';

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

/**
 * Back through the `BLOCKS` blocks whose records start at `records` (the first block's input at
 * `input`, each later one's the output kept at the end of the record before), from the output
 * gradient in `dy`, with `dx` as the other buffer; returns the buffer holding the input's gradient.
 */
function blocksBackward(
  input: usize,
  records: usize,
  weights: usize,
  dweights: usize,
  dy: usize,
  dx: usize,
  temp: usize,
): usize {
  const block = blockRecord();
  const size = blockWeights();
  for (let n: i32 = BLOCKS - 1; n >= 0; n--) {
    const recordAt = skip(records, n * block);
    const blockInput = n === 0 ? input : recordAt - ((<usize>(W * D)) << 2);
    blockBackward(blockInput, skip(weights, n * size), skip(dweights, n * size), recordAt, dy, dx, temp);
    const swap = dy;
    dy = dx;
    dx = swap;
  }
  return dy;
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
  const transposed = skip(temp, temporaries());
  useTransposeScratch(transposed);
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
    const dExpanded = blocksBackward(
      expanded,
      skip(r, wd + BLOCKS * block),
      decoder,
      dDecoder,
      gA,
      gB,
      blockTemp,
    );
    // Expand: expanded = latent We + be + P; latent = tanh(flattened Wb + bb).
    linearBackward(latent, dExpanded, 1, Z, wd, expand, dExpand, skip(dExpand, Z * wd), dLatent, false);
    for (let i: i32 = 0; i < Z; i++) {
      const l = at(latent, i);
      put(dLatent, i, at(dLatent, i) * (1 - l * l));
    }
    const lastEncoder = BLOCKS > 0 ? skip(r, wd + BLOCKS * block - wd) : r;
    // The flattened encoder output's gradient goes into the expanded one's buffer, now free.
    const dEncoded = dExpanded;
    linearBackward(
      lastEncoder,
      dLatent,
      1,
      wd,
      Z,
      bottleneck,
      dBottleneck,
      skip(dBottleneck, wd * Z),
      dEncoded,
      false,
    );
    const dInput = blocksBackward(
      r,
      skip(r, wd),
      encoder,
      dEncoder,
      dEncoded,
      dEncoded === gA ? gB : gA,
      blockTemp,
    );
    linearBackward(window, dInput, W, F, D, inputKernel, dInputKernel, skip(dInputKernel, F * D), 0, false);
  }
  return loss;
}
