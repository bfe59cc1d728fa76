import { describe, expect, it } from 'vitest';
import {
  type AttentionKernelArchitecture,
  AttentionLossGradient,
  attentionParameterCount,
  KernelError,
} from '../src/index.js';
import { attentionLoss as referenceLoss } from '../src/reference/attention-network.js';
import { centralDifferences, seeded } from './helpers/numeric.js';

const small: AttentionKernelArchitecture = {
  featureCount: 3,
  windowSize: 4,
  modelDim: 4,
  heads: 2,
  feedForwardDim: 5,
  latentDim: 2,
  blocks: 1,
};

describe('AttentionLossGradient', () => {
  for (const [name, architecture, trimmed] of [
    ['one block a side, untrimmed', small, 0],
    ['two blocks a side, two of five windows trimmed', { ...small, blocks: 2 }, 0.4],
  ] as const) {
    it(`matches a float64 forward pass and its central differences: ${name}`, () => {
      const kernel = new AttentionLossGradient(architecture);
      const count = attentionParameterCount(architecture);
      expect(kernel.parameterCount).toBe(count);
      const params = seeded(count, 2, 0.5);
      const positions = seeded(architecture.windowSize * architecture.modelDim, 5, 0.3);
      const x = seeded(5 * architecture.windowSize * architecture.featureCount, 7);
      const gradient = new Float32Array(count);
      const loss = kernel.compute(params, positions, x, trimmed, gradient);
      const exact = Float64Array.from(params);
      expect(loss).toBeCloseTo(referenceLoss(architecture, exact, positions, x, trimmed), 5);
      const numeric = centralDifferences(
        (at) => referenceLoss(architecture, at, positions, x, trimmed),
        exact,
      );
      const scale = Math.max(...numeric.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      for (let p = 0; p < count; p++) expect(Math.abs(gradient[p]! - numeric[p]!)).toBeLessThan(1e-3 * scale);
    });
  }

  it('refuses a shape or input it cannot compute, naming it', () => {
    expect(() => new AttentionLossGradient({ ...small, heads: 3 })).toThrow(/divisible by heads \(3\)/);
    expect(() => new AttentionLossGradient({ ...small, blocks: 0 })).toThrow(KernelError);
    const kernel = new AttentionLossGradient(small);
    const params = new Float32Array(kernel.parameterCount);
    const positions = new Float32Array(16);
    const x = new Float32Array(24);
    expect(() => kernel.compute(params, positions, x.subarray(1), 0, params)).toThrow(
      /whole windows of 4 × 3/,
    );
    expect(() => kernel.compute(params, positions.subarray(1), x, 0, params)).toThrow(/positions must hold/);
    expect(() => kernel.compute(params, positions, x, 1, params)).toThrow(/trimmedShare must be in \[0, 1\)/);
    expect(() => kernel.compute(params.subarray(1), positions, x, 0, params)).toThrow(/must hold/);
  });
});
