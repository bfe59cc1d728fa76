// The loss and gradient of a dense autoencoder's training step in one call: forward through every
// layer, the mean squared reconstruction error, and the backward pass, over float32 rows. A
// TensorFlow.js step of the same network runs about a hundred small kernels whose fixed cost,
// not their arithmetic, is the step's time; here it is one call.
//
// Parameters are one flat float32 vector: per layer, the kernel (in × out, row-major), then the
// bias (out). Hidden layers use `activation`; the output layer is linear.

import { exp1 } from './exp';
import { at, put } from './network-ops';

export const ACTIVATION_RELU: i32 = 0;
export const ACTIVATION_TANH: i32 = 1;
export const ACTIVATION_ELU: i32 = 2;
export const ACTIVATION_SIGMOID: i32 = 3;

function widthAt(sizes: usize, layer: i32): i32 {
  return load<i32>(sizes + ((<usize>layer) << 2));
}

function activate(z: f32, activation: i32): f32 {
  if (activation === ACTIVATION_SIGMOID) return 1 / (1 + exp1(-z));
  if (activation === ACTIVATION_RELU) return z > 0 ? z : 0;
  if (activation === ACTIVATION_TANH) return Mathf.tanh(z);
  return z > 0 ? z : exp1(z) - 1; // elu
}

/** d activation / dz, written with the activation's output h. */
function derivative(h: f32, activation: i32): f32 {
  if (activation === ACTIVATION_SIGMOID) return h * (1 - h);
  if (activation === ACTIVATION_RELU) return h > 0 ? 1 : 0;
  if (activation === ACTIVATION_TANH) return 1 - h * h;
  return h > 0 ? 1 : h + 1; // elu
}

/** Floats of scratch `denseLossGradient` needs for `rows` rows. */
export function denseScratchFloats(sizes: usize, layers: i32, rows: i32): i32 {
  let outputs: i32 = 0;
  let widest: i32 = 0;
  for (let l: i32 = 0; l <= layers; l++) {
    const width = widthAt(sizes, l);
    if (l > 0) outputs += width;
    if (width > widest) widest = width;
  }
  return rows * (outputs + 2 * widest);
}

/**
 * Mean squared reconstruction error of `rows` rows at `x` (rows × sizes[0]) through the network of
 * `layers` layers with widths sizes[0..layers] (int32) and parameters at `params`; writes the
 * gradient of that mean with respect to every parameter to `gradient` (same layout as `params`)
 * and returns the mean. `scratch`: `denseScratchFloats` floats.
 */
export function denseLossGradient(
  sizes: usize,
  layers: i32,
  activation: i32,
  params: usize,
  x: usize,
  rows: i32,
  scratch: usize,
  gradient: usize,
): f64 {
  // Forward: each layer's output stored after the previous one in scratch.
  let input = x;
  let output = scratch;
  let offset: usize = 0; // of the layer's kernel in params
  for (let l: i32 = 0; l < layers; l++) {
    const fanIn = widthAt(sizes, l);
    const fanOut = widthAt(sizes, l + 1);
    const kernel = params + (offset << 2);
    const bias = kernel + ((<usize>(fanIn * fanOut)) << 2);
    const hidden = l < layers - 1;
    for (let r: i32 = 0; r < rows; r++) {
      const row = input + ((<usize>(r * fanIn)) << 2);
      const out = output + ((<usize>(r * fanOut)) << 2);
      for (let j: i32 = 0; j < fanOut; j++) put(out, j, at(bias, j));
      for (let i: i32 = 0; i < fanIn; i++) {
        const value = at(row, i);
        const weights = kernel + ((<usize>(i * fanOut)) << 2);
        for (let j: i32 = 0; j < fanOut; j++) put(out, j, at(out, j) + value * at(weights, j));
      }
      if (hidden) for (let j: i32 = 0; j < fanOut; j++) put(out, j, activate(at(out, j), activation));
    }
    offset += <usize>(fanIn * fanOut + fanOut);
    input = output;
    output += (<usize>(rows * fanOut)) << 2;
  }
  // `input` now holds the reconstruction; two delta buffers follow the outputs.
  const cols = widthAt(sizes, 0);
  let widest: i32 = 0;
  for (let l: i32 = 0; l <= layers; l++) widest = max(widest, widthAt(sizes, l));
  let delta = output;
  let next = delta + ((<usize>(rows * widest)) << 2);
  const count = rows * cols;
  const scale = <f32>(2.0 / <f64>count);
  let loss: f64 = 0;
  for (let k: i32 = 0; k < count; k++) {
    const difference = at(input, k) - at(x, k);
    loss += <f64>difference * <f64>difference;
    put(delta, k, difference * scale);
  }
  // Backward, last layer first.
  let layerOutput = input;
  for (let l: i32 = layers - 1; l >= 0; l--) {
    const fanIn = widthAt(sizes, l);
    const fanOut = widthAt(sizes, l + 1);
    offset -= <usize>(fanIn * fanOut + fanOut);
    const kernel = params + (offset << 2);
    const kernelGradient = gradient + (offset << 2);
    const biasGradient = kernelGradient + ((<usize>(fanIn * fanOut)) << 2);
    const layerInput = l === 0 ? x : layerOutput - ((<usize>(rows * fanIn)) << 2);
    if (l < layers - 1) {
      for (let k: i32 = 0; k < rows * fanOut; k++) {
        put(delta, k, at(delta, k) * derivative(at(layerOutput, k), activation));
      }
    }
    for (let k: i32 = 0; k < fanIn * fanOut + fanOut; k++) put(kernelGradient, k, 0);
    for (let r: i32 = 0; r < rows; r++) {
      const d = delta + ((<usize>(r * fanOut)) << 2);
      const h = layerInput + ((<usize>(r * fanIn)) << 2);
      for (let j: i32 = 0; j < fanOut; j++) put(biasGradient, j, at(biasGradient, j) + at(d, j));
      for (let i: i32 = 0; i < fanIn; i++) {
        const value = at(h, i);
        const g = kernelGradient + ((<usize>(i * fanOut)) << 2);
        for (let j: i32 = 0; j < fanOut; j++) put(g, j, at(g, j) + value * at(d, j));
      }
      if (l > 0) {
        const back = next + ((<usize>(r * fanIn)) << 2);
        for (let i: i32 = 0; i < fanIn; i++) {
          const weights = kernel + ((<usize>(i * fanOut)) << 2);
          let sum: f32 = 0;
          for (let j: i32 = 0; j < fanOut; j++) sum += at(d, j) * at(weights, j);
          put(back, i, sum);
        }
      }
    }
    const swap = delta;
    delta = next;
    next = swap;
    layerOutput = layerInput;
  }
  return loss / <f64>count;
}
