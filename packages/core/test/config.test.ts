import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pipelineConfigSchema } from '../src/config-schema.js';
import { resolveFeatureOptions } from '../src/features.js';
import {
  automaticTrainingStride,
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
  DEFAULT_DENSE_AUTOENCODER_OPTIONS,
  DEFAULT_ISOLATION_FOREST_OPTIONS,
  DEFAULT_PIPELINE_CONFIG,
  isCoreError,
  resolvePipelineConfig,
} from '../src/index.js';
import { assertContamination } from '../src/validate.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return isCoreError(error) ? error.message : String(error);
  }
  throw new Error('expected a failure');
}

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
    expect(config.features).toEqual({
      set: 'relative',
      volatilityWindow: 24,
      volumeWindow: 24,
      rsiPeriod: 14,
      levelWindow: 50,
      relativeVolatilityWindow: 8,
    });
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

  it('names a wrong key by its path, with what is accepted and the value given', () => {
    expect(messageOf(() => resolvePipelineConfig({ split: { train: 2 } }))).toBe(
      'config.split.train: must be a number in (0, 1), e.g. 0.7, got 2.',
    );
    expect(messageOf(() => resolvePipelineConfig({ bogus: {} } as never))).toMatch(
      /^unknown key config\.bogus \(the keys there are features, split, preprocess, threshold, detectors, isolationForest, autoencoder, attention, topFeatures\)/,
    );
    expect(messageOf(() => resolvePipelineConfig({ isolationForest: { trees: 3 } as never }))).toMatch(
      /^unknown key config\.isolationForest\.trees \(the keys there are nEstimators, maxSamples,/,
    );
    expect(
      messageOf(() => resolvePipelineConfig({ detectors: ['isolation-forest', 'lstm'] as never })),
    ).toMatch(/^config\.detectors\[1\]: .*"attention".*, got "lstm"\.$/);
    expect(messageOf(() => resolvePipelineConfig({ features: { rsiPeriod: '14' as never } }))).toBe(
      'config.features.rsiPeriod: must be an integer in [2, 10000], got "14".',
    );
    expect(messageOf(() => resolvePipelineConfig({ threshold: { kind: 'quantile' } as never }))).toMatch(
      /^config\.threshold\.kind: must be \{ "kind": "contamination" \| "fixed" \| "pot" \| "spot" \| "dspot", … \}, got "quantile"\.$/,
    );
    expect(
      messageOf(() =>
        resolvePipelineConfig({ threshold: { kind: 'pot', riskQuantile: 0.05, initialQuantile: 0.98 } }),
      ),
    ).toMatch(/^config\.threshold\.riskQuantile: must be below 1 - initialQuantile \(0\.02\)/);
    expect(messageOf(() => resolvePipelineConfig({ split: { train: 0.9, validation: 0.2 } }))).toMatch(
      /^config\.split\.validation: must leave split\.train \+ split\.validation <= 1/,
    );
    expect(messageOf(() => resolvePipelineConfig({ autoencoder: { epochs: 0 } }))).toMatch(
      /^config\.autoencoder\.epochs: must be an integer >= 1, got 0\.$/,
    );
    expect(messageOf(() => resolvePipelineConfig(5 as never))).toBe('config: must be an object, got 5.');
    // Every problem, not only the first.
    expect(
      messageOf(() => resolvePipelineConfig({ topFeatures: 12, preprocess: { scaler: 'minmax' as never } })),
    ).toMatch(
      /config\.preprocess\.scaler: .*; config\.topFeatures: must be an integer in \[1, 11\], got 12\.$/,
    );
  });

  it('checks a config with the schema core exports, so a file and a call read alike', async () => {
    const light = await import('../src/index.js');
    const bad = { split: { train: 2 }, isolationForest: { trees: 3 } };
    const parsed = light.pipelineConfigSchema.safeParse(bad, { reportInput: true });
    expect(parsed.success).toBe(false);
    const lines = light.describeConfigIssues(light.pipelineConfigSchema, parsed.error!.issues, 'config');
    expect(lines).toHaveLength(2);
    expect(messageOf(() => resolvePipelineConfig(bad as never))).toBe(`${lines.join('; ')}.`);
    // Nested in a bigger file the same lines carry the file's own path.
    const file = z.strictObject({ pipeline: light.pipelineConfigSchema });
    const inFile = file.safeParse({ pipeline: bad }, { reportInput: true });
    expect(light.describeConfigIssues(file, inFile.error!.issues)).toEqual(
      lines.map((line) => line.replace('config.', 'pipeline.')),
    );
  });

  it("lists the detectors' own option names and the features' window bounds", () => {
    const keysOf = (section: 'isolationForest' | 'autoencoder' | 'attention') => {
      const schema = pipelineSection(section);
      return Object.keys(schema.shape).sort();
    };
    expect(keysOf('isolationForest')).toEqual(Object.keys(DEFAULT_ISOLATION_FOREST_OPTIONS).sort());
    expect(keysOf('autoencoder')).toEqual(Object.keys(DEFAULT_DENSE_AUTOENCODER_OPTIONS).sort());
    expect(keysOf('attention')).toEqual(Object.keys(DEFAULT_ATTENTION_AUTOENCODER_OPTIONS).sort());
    for (const rsiPeriod of [1, 2, 10_000, 10_001]) {
      const bySchema = codeOf(() => resolvePipelineConfig({ features: { rsiPeriod } }));
      expect(codeOf(() => resolveFeatureOptions({ rsiPeriod }))).toBe(bySchema);
    }
  });

  it('accepts what it resolved, as a saved model is checked on load', () => {
    const resolved = resolvePipelineConfig(
      { threshold: { kind: 'pot', riskQuantile: 0.001, initialQuantile: 0.95 }, topFeatures: 11 },
      { seed: 3, epochs: 2 },
    );
    expect(resolvePipelineConfig(resolved as never)).toEqual(resolved);
  });

  it('has one contamination rule, (0, 0.5), for the engine and the CLI', async () => {
    const light = await import('../src/index.js');
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
    expect(() => assertContamination('contamination', 0.5)).toThrow(
      /contamination must be in \(0, 0\.5\), e\.g\. 0\.01 to flag 1% of rows, got 0\.5/,
    );
  });

  it('picks the attention stride for about 800 windows an epoch, at most the window', () => {
    expect(automaticTrainingStride(500, 24)).toBe(1);
    expect(automaticTrainingStride(3483, 24)).toBe(5);
    expect(automaticTrainingStride(51_000, 24)).toBe(24);
  });
});

/** A detector section of the schema, through its optional and partial wrappers. */
function pipelineSection(name: 'isolationForest' | 'autoencoder' | 'attention'): z.ZodObject {
  const section = (pipelineConfigSchema.shape[name] as z.ZodOptional).unwrap();
  if (!(section instanceof z.ZodObject)) throw new Error(`${name} is not an object schema`);
  return section;
}
