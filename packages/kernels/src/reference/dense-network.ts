// Plain TypeScript twin of the dense network kernel's loss, written the obvious way (float64,
// row by row). The tests hold the kernel's loss to it, and its gradient to this loss's central
// differences.

import type { DenseKernelActivation } from '../dense-network.js';

export const ACTIVATIONS: Record<DenseKernelActivation, (z: number) => number> = {
  relu: (z) => Math.max(z, 0),
  tanh: Math.tanh,
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
};

/** The mean squared reconstruction error of rows x through the network (linear output layer). */
export function denseLoss(
  sizes: number[],
  activation: DenseKernelActivation,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
): number {
  const cols = sizes[0]!;
  const rows = x.length / cols;
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    let h = Array.from({ length: cols }, (_, i) => x[r * cols + i]!);
    let offset = 0;
    for (let l = 1; l < sizes.length; l++) {
      const [n, m] = [sizes[l - 1]!, sizes[l]!];
      const out = Array.from({ length: m }, (_, j) => {
        let z = params[offset + n * m + j]!;
        for (let i = 0; i < n; i++) z += h[i]! * params[offset + i * m + j]!;
        return l < sizes.length - 1 ? ACTIVATIONS[activation](z) : z;
      });
      offset += n * m + m;
      h = out;
    }
    for (let i = 0; i < cols; i++) sum += (h[i]! - x[r * cols + i]!) ** 2;
  }
  return sum / (rows * cols);
}
