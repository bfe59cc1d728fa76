import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeFeatures,
  isCoreError,
  type PipelineConfigInput,
  TrainedPipeline,
  trainPipeline,
} from '../src/index.js';

// The smallest pipeline that still exercises every detector's files: trained once, then copied
// and damaged one way per test.
const source = sampleSource({ count: 400, seed: 11 });
const config: PipelineConfigInput = {
  isolationForest: { nEstimators: 10, maxSamples: 64 },
  autoencoder: { hiddenLayers: [4, 2], batchSize: 64 },
  attention: { windowSize: 4, modelDim: 4, heads: 1, feedForwardDim: 4, latentDim: 2, trainingStride: 8 },
};

// biome-ignore lint/suspicious/noExplicitAny: the tests damage parsed JSON at any depth.
type Json = Record<string, any>;

let root: string;
let model: string;
let copies = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'core-model-validation-'));
  model = join(root, 'model');
  const trained = await trainPipeline({
    source,
    symbol: 'BTCUSDT',
    interval: '1h',
    modelDir: model,
    seed: 1,
    epochs: 1,
    backend: 'wasm',
    config,
  });
  trained.pipeline.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh copy of the trained model folder (inside its own parent folder), returned by path. */
async function copyOfModel(): Promise<string> {
  const dir = join(root, `copy-${++copies}`, 'model');
  await cp(model, dir, { recursive: true });
  return dir;
}

async function readJson(path: string): Promise<Json> {
  return JSON.parse(await readFile(path, 'utf8')) as Json;
}

/** A copy whose pipeline.json was changed by `edit`. */
async function withManifest(edit: (manifest: Json) => void): Promise<string> {
  const dir = await copyOfModel();
  const manifest = await readJson(join(dir, 'pipeline.json'));
  edit(manifest);
  await writeFile(join(dir, 'pipeline.json'), JSON.stringify(manifest));
  return dir;
}

/** A copy whose `<detector>/<file>` JSON was changed by `edit`. */
async function withDetectorJson(detector: string, file: string, edit: (json: Json) => void): Promise<string> {
  const dir = await copyOfModel();
  const path = join(dir, detector, file);
  const json = await readJson(path);
  edit(json);
  await writeFile(path, JSON.stringify(json));
  return dir;
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  let loaded: unknown;
  try {
    loaded = await promise;
  } catch (error) {
    return error as Error;
  }
  (loaded as TrainedPipeline | undefined)?.dispose?.();
  throw new Error('expected the model to be refused, but it loaded');
}

/** Loading `dir` fails with MODEL_INVALID naming the file, the key and what to do. */
async function expectInvalid(dir: string, file: string, ...mentions: string[]): Promise<Error> {
  const error = await errorOf(TrainedPipeline.load(dir));
  expect(isCoreError(error) && error.code, error.stack).toBe('MODEL_INVALID');
  expect(error.message).toContain(join(dir, file));
  for (const mention of mentions) expect(error.message).toContain(mention);
  expect(error.message).toMatch(/trainPipeline or runPipeline/);
  return error;
}

describe('TrainedPipeline.load validates pipeline.json', () => {
  it('loads and scores an intact copy (the control for every case below)', async () => {
    const pipeline = await TrainedPipeline.load(await copyOfModel());
    try {
      const scored = await pipeline.score(
        computeFeatures(await source.load({ symbol: 'BTCUSDT', interval: '1h' })),
      );
      expect(scored.detectors.map((d) => d.name)).toEqual(['isolation-forest', 'autoencoder', 'attention']);
      expect(scored.consensus.scores.some((s) => Number.isFinite(s))).toBe(true);
    } finally {
      pipeline.dispose();
    }
  });

  it('loads a model saved before relativeVolatilityWindow with the window it was trained with', async () => {
    const dir = await withManifest((manifest) => {
      delete manifest['featureSet'].options.relativeVolatilityWindow;
      delete manifest['config'].features.relativeVolatilityWindow;
    });
    const pipeline = await TrainedPipeline.load(dir);
    try {
      // Such a model measured its relative volatility over volatilityWindow (24) returns.
      expect(pipeline.config.features.relativeVolatilityWindow).toBe(24);
    } finally {
      pipeline.dispose();
    }
    const current = await TrainedPipeline.load(await copyOfModel());
    expect(current.config.features.relativeVolatilityWindow).toBe(8);
    current.dispose();
  });

  it.each(['config', 'consensus', 'detectors', 'preprocessor', 'trainedOn', 'featureSet'])(
    'refuses a manifest without %s, naming the key',
    async (key) => {
      const dir = await withManifest((manifest) => {
        delete manifest[key];
      });
      await expectInvalid(dir, 'pipeline.json', key);
    },
  );

  it('refuses null values, naming the key path', async () => {
    await expectInvalid(
      await withManifest((m) => {
        m['preprocessor'] = null;
      }),
      'pipeline.json',
      'preprocessor',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['detectors'][0].distribution = null;
      }),
      'pipeline.json',
      'detectors[0].distribution',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['consensus'].threshold = null;
      }),
      'pipeline.json',
      'consensus.threshold',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['trainedOn'].symbol = null;
      }),
      'pipeline.json',
      'trainedOn.symbol',
    );
  });

  it('refuses detectors: [], an unknown detector and a repeated one', async () => {
    await expectInvalid(
      await withManifest((m) => {
        m['detectors'] = [];
      }),
      'pipeline.json',
      'detectors',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['detectors'][1].name = 'lstm';
      }),
      'pipeline.json',
      'detectors[1].name',
      '"lstm"',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['detectors'][2] = { ...m['detectors'][0] };
      }),
      'pipeline.json',
      'detectors[2]',
      'isolation-forest',
    );
  });

  it('refuses a "NaN" or null threshold instead of scoring nothing', async () => {
    await expectInvalid(
      await withManifest((m) => {
        m['detectors'][1].threshold.value = 'NaN';
      }),
      'pipeline.json',
      'detectors[1].threshold.value',
      '"NaN"',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['consensus'].threshold.value = null;
      }),
      'pipeline.json',
      'consensus.threshold.value',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['detectors'][0].distribution.quantiles[3] = 'NaN';
      }),
      'pipeline.json',
      'detectors[0].distribution.quantiles[3]',
    );
  });

  it('checks config with the same rules as training, and the preprocessor’s shape', async () => {
    await expectInvalid(
      await withManifest((m) => {
        m['config'].topFeatures = 0;
      }),
      'pipeline.json',
      'config',
      'topFeatures',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['config'].features.rsiPeriod = '14';
      }),
      'pipeline.json',
      'config.features.rsiPeriod',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['preprocessor'].scale = m['preprocessor'].scale.slice(1);
      }),
      'pipeline.json',
      'preprocessor.scale',
    );
    await expectInvalid(
      await withManifest((m) => {
        m['preprocessor'].center[2] = null;
      }),
      'pipeline.json',
      'preprocessor.center[2]',
    );
  });

  it('refuses a pipeline.json that is not JSON (a truncated file), naming it', async () => {
    const dir = await copyOfModel();
    const path = join(dir, 'pipeline.json');
    await writeFile(path, (await readFile(path, 'utf8')).slice(0, 200));
    await expectInvalid(dir, 'pipeline.json', 'JSON');
  });

  it('keeps MODEL_MISMATCH for a model of another version or feature set (it is not damaged)', async () => {
    const dir = await withManifest((m) => {
      m['coreVersion'] = '7.0.0';
    });
    const error = await errorOf(TrainedPipeline.load(dir));
    expect(isCoreError(error) && error.code).toBe('MODEL_MISMATCH');
    const features = await withManifest((m) => {
      m['featureSet'].names = m['featureSet'].names.slice(1);
    });
    const featureError = await errorOf(TrainedPipeline.load(features));
    expect(isCoreError(featureError) && featureError.code).toBe('MODEL_MISMATCH');
  });
});

describe('TrainedPipeline.load reads only inside the model folder', () => {
  it('refuses a detector folder outside the model folder ("../../other")', async () => {
    const dir = await withManifest((m) => {
      m['detectors'][0].folder = '../../other';
    });
    // A perfectly good detector there: only where it is makes it wrong.
    await cp(join(dir, 'isolation-forest'), join(dir, '..', '..', 'other'), { recursive: true });
    await expectInvalid(dir, 'pipeline.json', 'detectors[0].folder', '../../other');
  });

  it.each(['isolation-forest/../isolation-forest', '/tmp', '.', ''])(
    'refuses the folder %j',
    async (folder) => {
      const dir = await withManifest((m) => {
        m['detectors'][0].folder = folder;
      });
      await expectInvalid(dir, 'pipeline.json', 'detectors[0].folder');
    },
  );

  it('refuses a detector folder that is a symbolic link to outside the model folder', async () => {
    const dir = await withManifest((m) => {
      m['detectors'][0].folder = 'linked';
    });
    const outside = join(root, `outside-${copies}`);
    await cp(join(dir, 'isolation-forest'), outside, { recursive: true });
    await symlink(outside, join(dir, 'linked'), 'dir');
    await expectInvalid(dir, 'pipeline.json', 'detectors[0].folder', 'outside');
  });

  it('refuses a weights.bin that is a symbolic link to outside the model folder', async () => {
    const dir = await copyOfModel();
    const outside = join(root, `outside-weights-${copies}.bin`);
    await cp(join(dir, 'autoencoder', 'weights.bin'), outside);
    await rm(join(dir, 'autoencoder', 'weights.bin'));
    await symlink(outside, join(dir, 'autoencoder', 'weights.bin'));
    await expectInvalid(dir, join('autoencoder', 'weights.bin'), 'outside');
  });
});

describe('each detector validates its own files', () => {
  it.each(['autoencoder', 'attention'])(
    'a truncated %s weights.bin names the file and the expected and actual bytes',
    async (detector) => {
      const dir = await copyOfModel();
      const path = join(dir, detector, 'weights.bin');
      const { size } = await stat(path);
      await truncate(path, size - 12);
      await expectInvalid(dir, join(detector, 'weights.bin'), String(size), String(size - 12));
    },
  );

  it.each(['autoencoder', 'attention'])('refuses NaN weights in %s/weights.bin', async (detector) => {
    const dir = await copyOfModel();
    const path = join(dir, detector, 'weights.bin');
    const bytes = await readFile(path);
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setFloat32(8, Number.NaN, true);
    await writeFile(path, bytes);
    await expectInvalid(dir, join(detector, 'weights.bin'), 'NaN');
  });

  it('refuses a model.json without its weights manifest, naming it', async () => {
    const dir = await withDetectorJson('autoencoder', 'model.json', (json) => {
      delete json['weightsManifest'];
    });
    await expectInvalid(dir, join('autoencoder', 'model.json'), 'weightsManifest');
  });

  it('refuses a model.json whose attention architecture is malformed', async () => {
    const dir = await withDetectorJson('attention', 'model.json', (json) => {
      json['modelTopology'].architecture.heads = 3;
    });
    await expectInvalid(dir, join('attention', 'model.json'), 'heads');
  });

  it.each(['autoencoder', 'attention', 'isolation-forest'])(
    'refuses a "NaN" threshold in %s/detector.json',
    async (detector) => {
      const dir = await withDetectorJson(detector, 'detector.json', (json) => {
        json['threshold'].value = 'NaN';
      });
      await expectInvalid(dir, join(detector, 'detector.json'), 'threshold.value');
    },
  );

  it('refuses a detector.json threshold that disagrees with pipeline.json', async () => {
    const dir = await withDetectorJson('autoencoder', 'detector.json', (json) => {
      json['threshold'].value = json['threshold'].value * 2;
    });
    await expectInvalid(dir, 'pipeline.json', 'detectors[1].threshold');
  });

  it('refuses a malformed isolation forest, naming its detector.json', async () => {
    await expectInvalid(
      await withDetectorJson('isolation-forest', 'detector.json', (json) => {
        json['forest'].leaves = json['forest'].leaves.slice(0, 40);
      }),
      join('isolation-forest', 'detector.json'),
      'forest',
    );
    await expectInvalid(
      await withDetectorJson('isolation-forest', 'detector.json', (json) => {
        json['forest'] = null;
      }),
      join('isolation-forest', 'detector.json'),
      'forest',
    );
    await expectInvalid(
      await withDetectorJson('isolation-forest', 'detector.json', (json) => {
        json['medians'] = json['medians'].slice(1);
      }),
      join('isolation-forest', 'detector.json'),
      'medians',
    );
  });

  it('refuses an isolation forest with non-finite leaves', async () => {
    const dir = await withDetectorJson('isolation-forest', 'detector.json', (json) => {
      const leaves = Buffer.from(json['forest'].leaves, 'base64');
      leaves.writeDoubleLE(Number.NaN, 0);
      json['forest'].leaves = leaves.toString('base64');
    });
    await expectInvalid(dir, join('isolation-forest', 'detector.json'), 'forest.leaves');
  });

  it('refuses a detector folder that is missing, naming it', async () => {
    const dir = await copyOfModel();
    await rm(join(dir, 'attention'), { recursive: true });
    await mkdir(join(dir, 'attention'));
    const error = await errorOf(TrainedPipeline.load(dir));
    expect(isCoreError(error) && error.code).toBe('MODEL_INVALID');
    expect(error.message).toContain(join(dir, 'attention', 'detector.json'));
  });
});

describe('TrainedPipeline.mismatchWarnings', () => {
  it('warns when the model is used on another symbol or interval', async () => {
    const pipeline = await TrainedPipeline.load(model);
    try {
      expect(TrainedPipeline.mismatchWarnings(pipeline, { symbol: 'BTCUSDT', interval: '1h' })).toEqual([]);
      const warnings = TrainedPipeline.mismatchWarnings(pipeline, { symbol: 'ETHUSDT', interval: '4h' });
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/BTCUSDT.*ETHUSDT/);
      expect(warnings[1]).toMatch(/1h.*4h/);
      // The manifest alone (what the CLI reads before loading) answers the same.
      const manifest = await readJson(join(model, 'pipeline.json'));
      expect(
        TrainedPipeline.mismatchWarnings(manifest as never, { symbol: 'ETHUSDT', interval: '4h' }),
      ).toEqual(warnings);
    } finally {
      pipeline.dispose();
    }
  });
});
