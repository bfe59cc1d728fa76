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

/** Floats of scratch `attentionLossGradient` needs for `batch` windows (the last `batch`: their weights). */
export function attentionScratchFloats(architecture: usize, batch: i32): i32 {
  readArchitecture(architecture);
  return batch * windowRecord() + temporaries() + transposedFloats() + batch;
}

/**
 * Forward through the `BLOCKS` blocks from `input`, each keeping its record one after the other
 * from `records`; returns where the last block's output lies.
 */
function blocksForward(input: usize, records: usize, weights: usize): usize {
  const block = blockRecord();
  const size = blockWeights();
  let h = input;
  for (let n: i32 = 0; n < BLOCKS; n++)
    h = blockForward(h, skip(weights, n * size), skip(records, n * block));
  return h;
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
  const wf = W * F;
  const record = windowRecord();
  const blocks = BLOCKS * blockRecord();
  // Where each part lies (floats) in the parameters (and the gradient), in core's weight order.
  const inputBias = F * D;
  const encoder = inputBias + D;
  const bottleneck = encoder + BLOCKS * blockWeights();
  const expand = bottleneck + wd * Z + Z;
  const decoder = expand + Z * wd + wd;
  const output = decoder + BLOCKS * blockWeights();
  const parameterCount = output + D * F + F;
  // Where each part lies in a window's record: the input projection h0, the encoder blocks, the
  // decoder blocks, the latent code, the expanded code, the reconstruction. A blocks' input is
  // h0 or the expanded code; each later block's input ends the record before it.
  const encoderRecords = wd;
  const decoderRecords = encoderRecords + blocks;
  const latentAt = decoderRecords + blocks;
  const expandedAt = latentAt + Z;
  const outAt = expandedAt + wd;
  const temp = skip(scratch, batch * record);
  const transposed = skip(temp, temporaries());
  useTransposeScratch(transposed);
  const weightsOf = skip(transposed, transposedFloats());
  // Forward, window by window; each keeps its record.
  for (let b: i32 = 0; b < batch; b++) {
    const window = skip(x, b * wf);
    const r = skip(scratch, b * record);
    linear(window, W, F, D, params, skip(params, inputBias), r);
    for (let i: i32 = 0; i < wd; i++) add(r, i, at(positions, i));
    const encoded = blocksForward(r, skip(r, encoderRecords), skip(params, encoder));
    const latent = skip(r, latentAt);
    linear(encoded, 1, wd, Z, skip(params, bottleneck), skip(params, bottleneck + wd * Z), latent);
    for (let i: i32 = 0; i < Z; i++) put(latent, i, Mathf.tanh(at(latent, i)));
    const expanded = skip(r, expandedAt);
    linear(latent, 1, Z, wd, skip(params, expand), skip(params, expand + Z * wd), expanded);
    for (let i: i32 = 0; i < wd; i++) add(expanded, i, at(positions, i));
    const decoded = blocksForward(expanded, skip(r, decoderRecords), skip(params, decoder));
    const out = skip(r, outAt);
    linear(decoded, W, D, F, skip(params, output), skip(params, output + D * F), out);
    let sum: f64 = 0;
    for (let i: i32 = 0; i < wf; i++) {
      const difference = <f64>(at(out, i) - at(window, i));
      sum += difference * difference;
    }
    put(errors, b, <f32>(sum / <f64>wf));
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
  // Backward, window by window, for the windows that count. The temporaries: blockBackward's
  // (5·W·d + W·ff + W·W floats), then two W × d gradients that take turns, the latent's, the output's.
  zero(gradient, parameterCount);
  const gA = skip(temp, 5 * wd + W * FF + W * W);
  const gB = skip(gA, wd);
  const dLatent = skip(gB, wd);
  const dOut = skip(dLatent, Z);
  for (let b: i32 = 0; b < batch; b++) {
    const weight = at(weightsOf, b);
    if (weight === 0) continue;
    const window = skip(x, b * wf);
    const r = skip(scratch, b * record);
    const latent = skip(r, latentAt);
    const expanded = skip(r, expandedAt);
    const out = skip(r, outAt);
    const factor: f32 = (weight * 2) / <f32>wf;
    for (let i: i32 = 0; i < wf; i++) put(dOut, i, (at(out, i) - at(window, i)) * factor);
    // The last decoder block's output (the end of its record) is the output layer's input.
    const decoded = skip(r, latentAt - wd);
    linearBackward(
      decoded,
      dOut,
      W,
      D,
      F,
      skip(params, output),
      skip(gradient, output),
      skip(gradient, output + D * F),
      gA,
      false,
    );
    const dExpanded = blocksBackward(
      expanded,
      skip(r, decoderRecords),
      skip(params, decoder),
      skip(gradient, decoder),
      gA,
      gB,
      temp,
    );
    // Expand: expanded = latent We + be + P; latent = tanh(flattened Wb + bb).
    linearBackward(
      latent,
      dExpanded,
      1,
      Z,
      wd,
      skip(params, expand),
      skip(gradient, expand),
      skip(gradient, expand + Z * wd),
      dLatent,
      false,
    );
    for (let i: i32 = 0; i < Z; i++) {
      const l = at(latent, i);
      put(dLatent, i, at(dLatent, i) * (1 - l * l));
    }
    // The last encoder block's output is the bottleneck's input; its gradient goes into the
    // expanded code's buffer, now free.
    const encoded = skip(r, decoderRecords - wd);
    const dEncoded = dExpanded;
    linearBackward(
      encoded,
      dLatent,
      1,
      wd,
      Z,
      skip(params, bottleneck),
      skip(gradient, bottleneck),
      skip(gradient, bottleneck + wd * Z),
      dEncoded,
      false,
    );
    const dInput = blocksBackward(
      r,
      skip(r, encoderRecords),
      skip(params, encoder),
      skip(gradient, encoder),
      dEncoded,
      dEncoded === gA ? gB : gA,
      temp,
    );
    linearBackward(window, dInput, W, F, D, params, gradient, skip(gradient, inputBias), 0, false);
  }
  return loss;
}
