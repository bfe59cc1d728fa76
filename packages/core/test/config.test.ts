import { describe, expect, it } from 'vitest';
import {
  automaticTrainingStride,
  DEFAULT_PIPELINE_CONFIG,
  isCoreError,
  resolvePipelineConfig,
} from '../src/index.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isCoreError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('pipeline config', () => {
  it('fills documented defaults and passes seed, epochs and threshold to the detectors', () => {
    const config = resolvePipelineConfig({}, { seed: 9, epochs: 4 });
    expect(config.detectors).toEqual(['isolation-forest', 'autoencoder', 'attention']);
    expect(config.split).toEqual({ train: 0.7, validation: 0.15 });
    expect(config.features).toEqual({ volatilityWindow: 24, volumeWindow: 24, rsiPeriod: 14 });
    expect(config.isolationForest).toMatchObject({ seed: 9 });
    expect(config.autoencoder).toMatchObject({ seed: 9, epochs: 4 });
    expect(config.attention).toMatchObject({
      seed: 9,
      epochs: 4,
      threshold: DEFAULT_PIPELINE_CONFIG.threshold,
    });
  });

  it('lets a section override the shortcuts', () => {
    const pot = { kind: 'pot', riskQuantile: 0.001, initialQuantile: 0.95 } as const;
    const config = resolvePipelineConfig(
      { threshold: pot, autoencoder: { epochs: 2, seed: 1 } },
      { epochs: 4 },
    );
    expect(config.autoencoder).toMatchObject({ epochs: 2, seed: 1, threshold: pot });
    expect(config.isolationForest).toMatchObject({ threshold: pot });
  });

  it('refuses unknown sections, detectors and bad values by name', () => {
    expect(codeOf(() => resolvePipelineConfig({ bogus: {} } as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => resolvePipelineConfig({ detectors: ['lstm'] as never }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => resolvePipelineConfig({ detectors: [] }))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(() => resolvePipelineConfig({ threshold: { kind: 'contamination', contamination: 2 } })),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => resolvePipelineConfig({ split: { train: 0 } }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => resolvePipelineConfig({}, { epochs: 0 }))).toBe('INVALID_ARGUMENT');
  });

  it('has one contamination rule, (0, 0.5), for the engine and its light entry the CLI reads', async () => {
    const light = await import('@crypto-anomaly/core/validate');
    for (const value of [0.5, 0, -1, 0.7, Number.NaN]) {
      expect(light.isContamination(value)).toBe(false);
      expect(
        codeOf(() => resolvePipelineConfig({ threshold: { kind: 'contamination', contamination: value } })),
      ).toBe('INVALID_ARGUMENT');
    }
    for (const value of [0.01, 0.25, 0.4999]) {
      expect(light.isContamination(value)).toBe(true);
      expect(
        codeOf(() => resolvePipelineConfig({ threshold: { kind: 'contamination', contamination: value } })),
      ).toBeUndefined();
    }
    expect(() => light.assertContamination('contamination', 0.5)).toThrow(
      /contamination must be in \(0, 0\.5\), e\.g\. 0\.01 to flag 1% of rows, got 0\.5/,
    );
  });

  it('picks the attention stride for about 800 windows an epoch, at most the window', () => {
    expect(automaticTrainingStride(500, 24)).toBe(1);
    expect(automaticTrainingStride(3483, 24)).toBe(5);
    expect(automaticTrainingStride(51_000, 24)).toBe(24);
  });
});
