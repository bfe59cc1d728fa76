import { describe, expect, it } from 'vitest';
import {
  type DenseKernelActivation,
  DenseLossGradient,
  denseParameterCount,
  KernelError,
} from '../src/index.js';
import { ACTIVATIONS, denseLoss as referenceLoss } from '../src/reference/dense-network.js';
import { centralDifferences, seeded as seededAt } from './helpers/numeric.js';

const seeded = (length: number, seed: number, scale = 1) => seededAt(length, seed, scale, 1.7);

describe('DenseLossGradient', () => {
  const sizes = [5, 7, 3, 7, 5];
  const x = seeded(8 * 5, 1);

  for (const activation of Object.keys(ACTIVATIONS) as DenseKernelActivation[]) {
    it(`matches a float64 forward pass and its central differences (${activation})`, () => {
      const kernel = new DenseLossGradient(sizes, activation);
      const params = seeded(denseParameterCount(sizes), 2, 0.6);
      const gradient = new Float32Array(params.length);
      const loss = kernel.compute(params, x, gradient);
      const exact = Float64Array.from(params);
      expect(loss).toBeCloseTo(referenceLoss(sizes, activation, exact, x), 5);
      const numeric = centralDifferences((at) => referenceLoss(sizes, activation, at, x), exact);
      const scale = Math.max(...numeric.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      for (let p = 0; p < params.length; p++) {
        // relu's kink: a parameter whose nudge flips a unit has no single derivative; none here.
        expect(Math.abs(gradient[p]! - numeric[p]!)).toBeLessThan(2e-4 * scale);
      }
    });
  }

  it('gives the same result whatever batches it saw before (its buffers grow and are reused)', () => {
    const params = seeded(denseParameterCount(sizes), 3, 0.5);
    const fresh = (rows: number) => {
      const gradient = new Float32Array(params.length);
      const loss = new DenseLossGradient(sizes, 'sigmoid').compute(params, x.subarray(0, rows * 5), gradient);
      return { loss, gradient };
    };
    const reused = new DenseLossGradient(sizes, 'sigmoid');
    for (const rows of [2, 8, 3, 8]) {
      const gradient = new Float32Array(params.length);
      const loss = reused.compute(params, x.subarray(0, rows * 5), gradient);
      const expected = fresh(rows);
      expect(loss).toBe(expected.loss);
      expect(gradient).toEqual(expected.gradient);
    }
  });

  it('refuses a shape it cannot compute, naming it', () => {
    expect(() => new DenseLossGradient([5], 'relu')).toThrow(/at least two positive integer widths/);
    expect(() => new DenseLossGradient([5, 0, 5], 'relu')).toThrow(KernelError);
    expect(() => new DenseLossGradient([5, 2, 5], 'swish' as DenseKernelActivation)).toThrow(
      /activation must be one of relu, tanh, elu, sigmoid, got "swish"/,
    );
    const kernel = new DenseLossGradient([5, 2, 5], 'relu');
    const params = new Float32Array(denseParameterCount([5, 2, 5]));
    expect(() => kernel.compute(params.subarray(1), x, new Float32Array(params.length))).toThrow(
      /must hold 27 values, got 26 and 27/,
    );
    expect(() => kernel.compute(params, x.subarray(1), new Float32Array(params.length))).toThrow(
      /whole rows of 5 values/,
    );
    expect(() => new DenseLossGradient([5, 2, 4], 'relu')).toThrow(/output is as wide as its input/);
  });
});
