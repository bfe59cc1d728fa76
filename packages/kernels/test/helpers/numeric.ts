/** A reproducible input: sin(i · frequency + seed) · scale. */
export function seeded(length: number, seed: number, scale = 1, frequency = 1.3): Float32Array {
  return Float32Array.from({ length }, (_, i) => Math.sin(i * frequency + seed) * scale);
}

/** The central differences of `loss` at `at`, one parameter at a time (step 1e-5). */
export function centralDifferences(loss: (parameters: Float64Array) => number, at: Float64Array): number[] {
  const step = 1e-5;
  return Array.from(at, (_, p) => {
    const plus = Float64Array.from(at);
    const minus = Float64Array.from(at);
    plus[p]! += step;
    minus[p]! -= step;
    return (loss(plus) - loss(minus)) / (2 * step);
  });
}
