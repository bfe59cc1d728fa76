import { CoreError } from '../errors.js';

/**
 * A seeded pseudo-random generator (mulberry32) returning floats in [0, 1). Weights and batch
 * orders come from it rather than from TensorFlow.js, so the same seed gives the same initial
 * weights and the same batches on every backend.
 */
export function createRandom(seed: number): () => number {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Glorot (Xavier) uniform weights for a `fanIn × fanOut` kernel, as Keras initialises Dense. */
export function glorotUniform(fanIn: number, fanOut: number, random: () => number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const weights = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < weights.length; i++) weights[i] = (random() * 2 - 1) * limit;
  return weights;
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace(values: Int32Array, random: () => number): Int32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = values[i]!;
    values[i] = values[j]!;
    values[j] = swap;
  }
  return values;
}

export function assertSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new CoreError('INVALID_ARGUMENT', `seed must be an integer, got ${seed}. Use for example 42.`);
  }
  return seed;
}
