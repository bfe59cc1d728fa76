import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeFeatures,
  detectWithPipeline,
  FOLDER_MARKER_FILE,
  isCoreError,
  type PipelineConfigInput,
  type PipelineEvent,
  type PipelineResult,
  runPipeline,
  TrainedPipeline,
  trainPipeline,
} from '../src/index.js';
import { folderTestHooks } from '../src/outputs/owned-folder.js';

const source = sampleSource({ count: 1500, seed: 5 });
// Small and quick: the wasm backend, few trees and epochs.
const config: PipelineConfigInput = {
  isolationForest: { nEstimators: 50 },
  autoencoder: { batchSize: 128 },
  attention: { windowSize: 8, modelDim: 16, heads: 2, feedForwardDim: 16, latentDim: 8, trainingStride: 4 },
};

function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trim().split('\n');
  const names = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [names[i]!, cell])));
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('runPipeline', () => {
  let outDir: string;
  let result: PipelineResult;
  const events: PipelineEvent[] = [];

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'core-pipeline-'));
    result = await runPipeline({
      source,
      symbol: 'BTCUSDT',
      interval: '1h',
      outDir,
      seed: 7,
      epochs: 3,
      backend: 'wasm',
      config,
      onEvent: (event) => events.push(event),
    });
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('reports every stage in order, the backend, the source, forest progress and epochs', () => {
    const stages = events.filter((e) => e.type === 'stage').map((e) => `${e.stage}:${e.status}`);
    expect(stages).toEqual([
      'load:start',
      'load:done',
      'features:start',
      'features:done',
      'preprocess:start',
      'preprocess:done',
      'isolation-forest:start',
      'isolation-forest:done',
      'autoencoder:start',
      'autoencoder:done',
      'attention:start',
      'attention:done',
      'consensus:start',
      'consensus:done',
      'outputs:start',
      'outputs:done',
      'charts:start',
      'charts:done',
    ]);
    for (const e of events)
      if (e.type === 'stage' && e.status === 'done') expect(e.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(events.find((e) => e.type === 'backend')).toMatchObject({ name: 'wasm' });
    expect(events.find((e) => e.type === 'source')).toMatchObject({ description: source.describe() });
    expect(events.filter((e) => e.type === 'isolation-forest-progress').at(-1)).toEqual({
      type: 'isolation-forest-progress',
      treesBuilt: 50,
      trees: 50,
    });
    expect(events.filter((e) => e.type === 'epoch' && e.detector === 'autoencoder')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'epoch' && e.detector === 'attention')).toHaveLength(3);
  });

  it("gives each detector's flags and top rows as soon as it scored, before the outputs, as the result has them", () => {
    const scored = events.filter((e) => e.type === 'scored');
    expect(scored.map((e) => e.detector).sort()).toEqual(
      ['attention', 'autoencoder', 'consensus', 'isolation-forest'].sort(),
    );
    const outputsStart = events.findIndex((e) => e.type === 'stage' && e.stage === 'outputs');
    for (const event of scored) {
      expect(events.indexOf(event)).toBeLessThan(outputsStart);
      expect(event.topAnomalies).toEqual(result.topAnomalies[event.detector]);
      expect(event.flagged).toEqual(result.summary.detectors[event.detector]!.flagged);
      expect(event.rows).toBe(result.summary.rows.scored);
    }
  });

  it('writes every file, scoring every row of the history with its split', async () => {
    const written = await readdir(outDir);
    for (const name of [
      'BTCUSDT_processed_data.csv',
      'anomalies_isolation_forest.csv',
      'anomalies_autoencoder.csv',
      'anomalies_attention.csv',
      'anomalies_consensus.csv',
      'summary.json',
      'chart_price_anomalies.png',
      'chart_scores.png',
      'chart_training_loss.png',
      'chart_agreement.png',
      'model',
    ]) {
      expect(written).toContain(name);
    }
    expect(written.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const rows = parseCsv(await readFile(join(outDir, 'anomalies_isolation_forest.csv'), 'utf8'));
    expect(rows).toHaveLength(1500 - 58); // the relative features' warm-up
    expect(rows[0]!['time']).toBe(new Date(source.market().klines[58]!.openTime).toISOString());
    expect(new Set(rows.map((r) => r['split']))).toEqual(new Set(['train', 'validation', 'test']));
    expect(rows.filter((r) => r['split'] === 'train')).toHaveLength(Math.floor(1442 * 0.7));
    const flagged = rows.filter((r) => r['is_anomaly'] === '1');
    expect(flagged.length).toBeGreaterThan(0);
    for (const row of flagged) {
      expect(Number(row['score'])).toBeGreaterThan(Number(row['threshold']));
      expect(row['top_feature_1']).toMatch(/^[a-z_]+$/);
    }
    const processed = parseCsv(await readFile(join(outDir, 'BTCUSDT_processed_data.csv'), 'utf8'));
    expect(processed).toHaveLength(1442);
    // The seed's eleven classic columns, and the scaled relative features the detectors saw.
    expect(Object.keys(processed[0]!)).toContain('rsi');
    expect(Object.keys(processed[0]!)).toContain('scaled_relative_volume');
  });

  it('summarises counts, thresholds with their method, timings, backend, versions and agreement', async () => {
    const summary = JSON.parse(await readFile(join(outDir, 'summary.json'), 'utf8'));
    expect(summary).toEqual(result.summary);
    expect(summary.rows).toMatchObject({ candles: 1500, warmupDropped: 58, scored: 1442, train: 1009 });
    expect(summary.detectors['isolation-forest'].threshold.method).toEqual({
      kind: 'contamination',
      contamination: 0.01,
    });
    expect(summary.detectors.autoencoder.training.epochsRun).toBe(3);
    expect(summary.detectors.consensus.flagged.total).toBeGreaterThan(0);
    expect(summary.detectors.consensus.method).toMatch(/^mean over isolation-forest, autoencoder, attention/);
    expect(summary.backend.name).toBe('wasm');
    expect(summary.versions.core).toMatch(/^\d+\.\d+\.\d+/);
    expect(summary.versions.kernels).toMatch(/^\d+\.\d+\.\d+/);
    expect(summary.versions.data).toMatch(/^\d+\.\d+\.\d+/);
    expect(summary.versions.formats).toEqual({
      pipeline: 1,
      isolationForest: 1,
      autoencoder: 1,
      attention: 1,
    });
    expect(Object.keys(summary.agreement.pairs)).toEqual([
      'isolation-forest / autoencoder',
      'isolation-forest / attention',
      'autoencoder / attention',
    ]);
    for (const pair of Object.values(summary.agreement.pairs) as { jaccard: number; spearman: number }[]) {
      expect(pair.jaccard).toBeGreaterThanOrEqual(0);
      expect(pair.jaccard).toBeLessThanOrEqual(1);
      expect(pair.spearman).toBeGreaterThan(0);
    }
    for (const stage of [
      'load',
      'features',
      'preprocess',
      'isolation-forest',
      'autoencoder',
      'consensus',
      'outputs',
      'charts',
    ]) {
      expect(summary.timings[stage]).toBeGreaterThanOrEqual(0);
    }
    expect(result.topAnomalies.consensus).toHaveLength(10);
    const scores = result.topAnomalies['isolation-forest'].map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });
});

describe('persistence', () => {
  const dirs: string[] = [];
  let modelDir: string;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'core-model-'));
    dirs.push(dir);
    modelDir = join(dir, 'model');
    const trained = await trainPipeline({
      source,
      symbol: 'BTCUSDT',
      interval: '1h',
      modelDir,
      seed: 3,
      epochs: 2,
      backend: 'wasm',
      config,
    });
    trained.pipeline.dispose();
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('a loaded pipeline scores identically, and detect writes the same scores', async () => {
    const klines = await source.load({ symbol: 'BTCUSDT', interval: '1h' });
    const table = computeFeatures(klines);
    const first = await TrainedPipeline.load(modelDir);
    const second = await TrainedPipeline.load(modelDir);
    const a = await first.score(table);
    const b = await second.score(table);
    for (let i = 0; i < a.detectors.length; i++) {
      expect(Array.from(b.detectors[i]!.scores)).toEqual(Array.from(a.detectors[i]!.scores));
    }
    expect(Array.from(b.consensus.scores)).toEqual(Array.from(a.consensus.scores));
    const viaKlines = await second.scoreKlines(klines);
    expect(viaKlines.table.matrix.rows).toBe(table.matrix.rows);
    expect(Array.from(viaKlines.consensus.scores)).toEqual(Array.from(a.consensus.scores));
    first.dispose();
    second.dispose();

    const outDir = await mkdtemp(join(tmpdir(), 'core-detect-'));
    dirs.push(outDir);
    const detectEvents: PipelineEvent[] = [];
    const detected = await detectWithPipeline({
      modelDir,
      source,
      outDir,
      charts: false,
      backend: 'wasm',
      onEvent: (event) => detectEvents.push(event),
    });
    const rows = parseCsv(await readFile(detected.files['autoencoder']!, 'utf8'));
    expect(rows.map((r) => Number(r['score']))).toEqual(Array.from(a.detectors[1]!.scores));
    expect(rows.filter((r) => r['split'] === 'train')).toHaveLength(1009);
    expect(detected.summary['mode']).toBe('detect');
    // Every file listed was written into outDir; the model read is not among them.
    expect(detected.files['model']).toBeUndefined();
    expect(Object.values(detected.files).every((path) => path.startsWith(outDir))).toBe(true);
    // detect tells a UI each detector's flags before the outputs, as a run does.
    const scoredEvents = detectEvents.filter(
      (e): e is Extract<PipelineEvent, { type: 'scored' }> => e.type === 'scored',
    );
    expect(scoredEvents.map((e) => e.detector)).toEqual([...a.detectors.map((d) => d.name), 'consensus']);
    const autoencoderEvent = scoredEvents[1]!;
    expect(autoencoderEvent.flagged.total).toBe(rows.filter((r) => r['is_anomaly'] === '1').length);
    const outputsAt = detectEvents.findIndex(
      (e) => e.type === 'stage' && e.stage === 'outputs' && e.status === 'start',
    );
    expect(outputsAt).toBeGreaterThan(0);
    expect(detectEvents.indexOf(scoredEvents.at(-1)!)).toBeLessThan(outputsAt);
  });

  it('has no look-ahead end to end: later candles never change an earlier row’s scores', async () => {
    const klines = await source.load({ symbol: 'BTCUSDT', interval: '1h' });
    const pipeline = await TrainedPipeline.load(modelDir);
    try {
      const full = await pipeline.scoreKlines(klines);
      const prefix = await pipeline.scoreKlines(klines.slice(0, 700));
      const rows = prefix.table.matrix.rows;
      for (let d = 0; d < full.detectors.length; d++) {
        const a = full.detectors[d]!.scores.subarray(0, rows);
        const b = prefix.detectors[d]!.scores;
        for (let i = 0; i < rows; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
      }
      const consensus = full.consensus.scores.subarray(0, rows);
      for (let i = 0; i < rows; i++) expect(prefix.consensus.scores[i]).toBeCloseTo(consensus[i]!, 5);
    } finally {
      pipeline.dispose();
    }
  });

  it('detect labels rows after the training history as test, and honours since / until', async () => {
    const klines = source.market().klines;
    const dir = await mkdtemp(join(tmpdir(), 'core-until-'));
    dirs.push(dir);
    const until = klines[1000]!.openTime;
    const trained = await trainPipeline({
      source,
      symbol: 'BTCUSDT',
      interval: '1h',
      until,
      modelDir: join(dir, 'model'),
      epochs: 1,
      backend: 'wasm',
      config: { ...config, detectors: ['isolation-forest', 'autoencoder'] },
    });
    expect(trained.pipeline.trainedOn.to).toBe(klines[999]!.openTime);
    trained.pipeline.dispose();
    const detected = await detectWithPipeline({
      modelDir: join(dir, 'model'),
      source,
      since: klines[500]!.openTime,
      outDir: join(dir, 'out'),
      charts: false,
    });
    const rows = parseCsv(await readFile(detected.files['consensus']!, 'utf8'));
    // Every candle from since is scored: the 58 before it that the features read are loaded too.
    expect(rows).toHaveLength(1000);
    expect(rows[0]!['time']).toBe(new Date(klines[500]!.openTime).toISOString());
    expect(detected.summary['rows']).toMatchObject({ warmupDropped: 58, candles: 1058 });
    const after = rows.filter((r) => Date.parse(r['time']!) >= until);
    expect(after).toHaveLength(500);
    expect(new Set(after.map((r) => r['split']))).toEqual(new Set(['test']));
    expect(rows.filter((r) => r['split'] === 'train').length).toBeGreaterThan(0);
    // And scored as in a detect over the whole history.
    const whole = await detectWithPipeline({
      modelDir: join(dir, 'model'),
      source,
      outDir: join(dir, 'whole'),
      charts: false,
    });
    const wholeRows = parseCsv(await readFile(whole.files['consensus']!, 'utf8'));
    const byTime = new Map(wholeRows.map((r) => [r['time'], r['score']]));
    expect(rows.map((r) => r['score'])).toEqual(rows.map((r) => byTime.get(r['time'])));
  });

  it('refuses a model from another version or feature set, saying what to do', async () => {
    const manifestPath = join(modelDir, 'pipeline.json');
    const original = await readFile(manifestPath, 'utf8');
    try {
      await writeFile(manifestPath, JSON.stringify({ ...JSON.parse(original), coreVersion: '7.0.0' }));
      const versionError = await errorOf(TrainedPipeline.load(modelDir));
      expect(isCoreError(versionError) && versionError.code).toBe('MODEL_MISMATCH');
      expect((versionError as Error).message).toMatch(/7\.0\.0.*Retrain/s);

      const manifest = JSON.parse(original);
      manifest.featureSet.names = manifest.featureSet.names.slice(1);
      await writeFile(manifestPath, JSON.stringify(manifest));
      const featureError = await errorOf(TrainedPipeline.load(modelDir));
      expect(isCoreError(featureError) && featureError.code).toBe('MODEL_MISMATCH');
      expect((featureError as Error).message).toMatch(/features/);
    } finally {
      await writeFile(manifestPath, original);
    }
    const missing = await errorOf(TrainedPipeline.load(join(modelDir, 'nothing-here')));
    expect(isCoreError(missing) && missing.code).toBe('IO');
  });
});

describe('thresholds and options', () => {
  it('uses the configured threshold method, says so, and can skip the model and the charts', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'core-pot-'));
    try {
      const result = await runPipeline({
        source,
        symbol: 'BTCUSDT',
        interval: '1h',
        outDir,
        modelDir: false,
        charts: false,
        config: {
          detectors: ['isolation-forest'],
          isolationForest: { nEstimators: 50 },
          threshold: { kind: 'pot', riskQuantile: 0.005, initialQuantile: 0.95 },
        },
      });
      const detectors = result.summary['detectors'] as Record<
        string,
        { threshold: { method: { kind: string }; description: string } }
      >;
      for (const name of ['isolation-forest', 'consensus']) {
        expect(detectors[name]!.threshold.method.kind).toBe('pot');
        expect(detectors[name]!.threshold.description).toMatch(/peaks over threshold/);
      }
      expect((await readdir(outDir)).sort()).toEqual([
        '.crypto-anomaly.json',
        'BTCUSDT_processed_data.csv',
        'anomalies_consensus.csv',
        'anomalies_isolation_forest.csv',
        'summary.json',
      ]);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });

  it("says a DSPOT model's threshold is judged as saved in detect, where it does not adapt", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'core-dspot-detect-'));
    try {
      const config = {
        detectors: ['isolation-forest'],
        isolationForest: { nEstimators: 30 },
        threshold: { kind: 'dspot' },
      };
      const run = await runPipeline({
        source,
        symbol: 'BTCUSDT',
        interval: '1h',
        outDir: join(dir, 'run'),
        charts: false,
        config: config as PipelineConfigInput,
      });
      const detected = await detectWithPipeline({
        source,
        modelDir: join(dir, 'run', 'model'),
        outDir: join(dir, 'detect'),
        charts: false,
      });
      const described = (summary: unknown) =>
        (summary as { detectors: Record<string, { threshold: { description: string } }> }).detectors[
          'isolation-forest'
        ]!.threshold.description;
      expect(described(run.summary)).toMatch(/then adapts row by row/);
      expect(described(detected.summary)).not.toMatch(/then adapts row by row/);
      expect(described(detected.summary)).toMatch(/detect judges every row against this saved value/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('bad options', () => {
  it('are refused where they enter, by name', async () => {
    const base = {
      source,
      symbol: 'BTCUSDT',
      interval: '1h' as const,
      outDir: join(tmpdir(), 'never-written'),
    };
    for (const [options, pattern] of [
      [{ ...base, source: undefined }, /source must be a KlineSource/],
      [{ ...base, symbol: '' }, /symbol must be/],
      [{ ...base, interval: '7h' }, /interval must be one of/],
      [{ ...base, outDir: undefined }, /outDir must be a folder path/],
      [{ ...base, config: { detectors: ['lstm'] } }, /config.detectors/],
    ] as const) {
      const error = await errorOf(runPipeline(options as never));
      expect(isCoreError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(pattern);
    }
    const noModel = await errorOf(detectWithPipeline({ source, outDir: base.outDir } as never));
    expect((noModel as Error).message).toMatch(/modelDir must be a folder path/);
    // No options at all: a CoreError naming what to give, not a TypeError on undefined.source.
    for (const [call, message] of [
      [
        () => runPipeline(undefined as never),
        /^runPipeline takes one options object \{ source, symbol, interval, outDir, … \}, got undefined\.$/,
      ],
      [
        () => trainPipeline(null as never),
        /^trainPipeline takes one options object \{ source, symbol, interval, modelDir, … \}, got null\.$/,
      ],
      [
        () => detectWithPipeline('model' as never),
        /^detectWithPipeline takes one options object \{ source, outDir, modelDir, … \}, got "model"\.$/,
      ],
    ] as const) {
      const error = await errorOf(call());
      expect(isCoreError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(message);
    }
    // A misspelt option is refused before anything loads, as a misspelt config key is.
    const misspelt = await errorOf(runPipeline({ ...base, seeds: 3 } as never));
    expect(isCoreError(misspelt) && misspelt.code).toBe('INVALID_ARGUMENT');
    expect((misspelt as Error).message).toMatch(
      /^unknown key seeds in runPipeline options \(the keys there are seed, source, symbol, /,
    );
    const { outDir: _outDir, ...trainBase } = base;
    const train = await errorOf(trainPipeline({ ...trainBase, modelDir: base.outDir, epoch: 1 } as never));
    expect((train as Error).message).toMatch(
      /^unknown key epoch in trainPipeline options \(the keys there are epochs, /,
    );
    // trainPipeline trains one model on the whole split: a walkForward there did nothing.
    const folds = await errorOf(
      trainPipeline({ ...trainBase, modelDir: base.outDir, walkForward: true } as never),
    );
    expect((folds as Error).message).toMatch(/^unknown key walkForward in trainPipeline options/);
    const detect = await errorOf(
      detectWithPipeline({ source, outDir: base.outDir, modelDir: base.outDir, chart: false } as never),
    );
    expect((detect as Error).message).toMatch(
      /^unknown key chart in detectWithPipeline options \(the keys there are charts, /,
    );
    const fold = await errorOf(runPipeline({ ...base, walkForward: { window: '1y' } } as never));
    expect((fold as Error).message).toMatch(
      /^unknown key window in runPipeline options.walkForward \(the keys there are trainWindow, step\)\.$/,
    );
  });
});

describe('aborting', () => {
  it('stops at the next batch and leaves no half-written file', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'core-abort-'));
    try {
      const controller = new AbortController();
      const error = await errorOf(
        runPipeline({
          source,
          symbol: 'BTCUSDT',
          interval: '1h',
          outDir,
          epochs: 50,
          backend: 'wasm',
          config,
          signal: controller.signal,
          onEvent: (event) => {
            if (event.type === 'epoch' && event.epoch === 2) controller.abort();
          },
        }),
      );
      expect((error as Error).name).toBe('AbortError');
      expect(await readdir(outDir)).toEqual([]);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

/** Every file under `dir`, '/'-separated, sorted. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

async function readJson(path: string) {
  return JSON.parse(await readFile(path, 'utf8'));
}

const forestOnly: PipelineConfigInput = { ...config, detectors: ['isolation-forest'] };

describe('owned folders: never replace what the program did not write', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'core-owned-'));
  });
  afterAll(async () => {
    delete folderTestHooks.beforeSwap;
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a model or output folder holding a user file before training, leaving it untouched', async () => {
    const folder = join(dir, 'user');
    await mkdir(folder);
    await writeFile(join(folder, 'in.csv'), 'my data');
    const events: PipelineEvent[] = [];
    const base = { source, symbol: 'BTCUSDT', interval: '1h' as const, config: forestOnly, charts: false };
    // Each call starts when the previous one is done: a rejection nobody awaits yet would be an
    // unhandled one (which ends the process once TensorFlow.js' wasm backend is loaded).
    for (const call of [
      () => trainPipeline({ ...base, modelDir: folder, onEvent: (e) => events.push(e) }),
      () => runPipeline({ ...base, outDir: folder, onEvent: (e) => events.push(e) }),
      () => runPipeline({ ...base, outDir: join(dir, 'fresh'), modelDir: folder }),
    ]) {
      const error = await errorOf(call());
      expect(isCoreError(error) && error.code).toBe('TARGET_NOT_OURS');
      expect((error as Error).message).toMatch(/in\.csv/);
    }
    expect(events).toEqual([]);
    expect(await readdir(folder)).toEqual(['in.csv']);
    expect(await readFile(join(folder, 'in.csv'), 'utf8')).toBe('my data');
    expect((await readdir(dir)).sort()).toEqual(['user']);
  });

  it('refuses outputs and model in one folder, or one inside the other, before training', async () => {
    const base = { source, symbol: 'BTCUSDT', interval: '1h' as const, config: forestOnly, charts: false };
    const out = join(dir, 'same');
    for (const [outDir, modelDir] of [
      [out, out],
      [join(out, 'inner'), out],
      [out, join(out, 'sub', 'model')],
    ] as const) {
      const error = await errorOf(trainPipeline({ ...base, outDir, modelDir }));
      expect(isCoreError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(/overlap/);
    }
    const detectError = await errorOf(
      detectWithPipeline({ source, modelDir: join(out, 'model'), outDir: out }),
    );
    expect((detectError as Error).message).toMatch(/would replace the model/);
    expect(existsSync(out)).toBe(false);
    // The same folders reached through a symbolic link (latest -> runs/btc) overlap too.
    const run = join(dir, 'runs', 'btc');
    await mkdir(join(run, 'model'), { recursive: true });
    await symlink(run, join(dir, 'latest'));
    const linked = await errorOf(
      detectWithPipeline({ source, modelDir: join(dir, 'latest', 'model'), outDir: run }),
    );
    expect((linked as Error).message).toMatch(/would replace the model/);
    expect(existsSync(join(run, 'model'))).toBe(true);
  });

  it('a second run swaps in a whole new set: every file belongs to its run id', async () => {
    const outDir = join(dir, 'runs');
    const options = { source, symbol: 'BTCUSDT', interval: '1h' as const, outDir, config: forestOnly };
    const first = await runPipeline({ ...options, charts: true });
    const second = await runPipeline({ ...options, charts: false });
    expect(second.runId).not.toBe(first.runId);
    const marker = await readJson(join(outDir, FOLDER_MARKER_FILE));
    const summary = await readJson(join(outDir, 'summary.json'));
    expect(marker).toMatchObject({ kind: 'outputs', runId: second.runId, partial: false });
    expect(summary).toMatchObject({ runId: second.runId, partial: false });
    expect(await readJson(join(outDir, 'model', FOLDER_MARKER_FILE))).toMatchObject({
      kind: 'model',
      runId: second.runId,
    });
    // The first run's charts are gone with its set: nothing is left over from it.
    const files = await filesIn(outDir);
    expect(files.filter((file) => file !== FOLDER_MARKER_FILE)).toEqual(marker.files);
    expect(files.some((file) => file.endsWith('.png'))).toBe(false);
    expect(Object.values(second.files).every((path) => existsSync(path))).toBe(true);
    expect(await readdir(dir)).not.toContain(expect.stringMatching(/^\.runs\./));
  });

  it('a crash between writing the set and swapping it in leaves the previous set whole', async () => {
    const outDir = join(dir, 'runs');
    const before = await filesIn(outDir);
    const previous = await readJson(join(outDir, 'summary.json'));
    folderTestHooks.beforeSwap = () => {
      throw new Error('simulated crash before the swap');
    };
    const error = await errorOf(
      runPipeline({ source, symbol: 'BTCUSDT', interval: '1h', outDir, config: forestOnly, charts: false }),
    );
    delete folderTestHooks.beforeSwap;
    expect((error as Error).message).toMatch(/simulated crash/);
    expect(await filesIn(outDir)).toEqual(before);
    expect(await readJson(join(outDir, 'summary.json'))).toEqual(previous);
    expect((await readdir(dir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});

describe('stopping with onAbort: keep-finished', () => {
  /** A full run into `outDir`, stopped (keep-finished) at the autoencoder's second epoch. */
  const stoppedAtSecondEpoch = (outDir: string, events: PipelineEvent[]) => {
    const controller = new AbortController();
    return runPipeline({
      source,
      symbol: 'BTCUSDT',
      interval: '1h',
      outDir,
      epochs: 50,
      backend: 'wasm',
      config,
      signal: controller.signal,
      onAbort: 'keep-finished',
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'epoch' && event.epoch === 2) controller.abort();
      },
    });
  };

  it('keeps the detectors that finished: a complete set marked partial, naming the missing ones', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'core-partial-'));
    try {
      const events: PipelineEvent[] = [];
      const result = await stoppedAtSecondEpoch(outDir, events);
      expect(result.partial).toEqual({ missingDetectors: ['autoencoder', 'attention'], chartsSkipped: true });
      const summary = await readJson(join(outDir, 'summary.json'));
      expect(summary).toMatchObject({
        runId: result.runId,
        partial: true,
        missingDetectors: ['autoencoder', 'attention'],
      });
      expect(Object.keys(summary.detectors)).toEqual(['isolation-forest', 'consensus']);
      const marker = await readJson(join(outDir, FOLDER_MARKER_FILE));
      expect(marker).toMatchObject({ runId: result.runId, partial: true });
      expect((await filesIn(outDir)).filter((file) => file !== FOLDER_MARKER_FILE)).toEqual(marker.files);
      expect(marker.files.filter((file: string) => !file.startsWith('model/'))).toEqual([
        'BTCUSDT_processed_data.csv',
        'anomalies_consensus.csv',
        'anomalies_isolation_forest.csv',
        'summary.json',
      ]);
      const model = await TrainedPipeline.load(join(outDir, 'model'));
      expect(model.detectors.map((d) => d.detector.name)).toEqual(['isolation-forest']);
      model.dispose();
      const stages = events.filter((e) => e.type === 'stage').map((e) => `${e.stage}:${e.status}`);
      expect(stages).toContain('attention:skipped');
      expect(stages).toContain('charts:skipped');
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });

  it('never swaps a partial set in over a complete one: the stop writes nothing and says so', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'core-partial-over-'));
    try {
      const complete = await runPipeline({
        source,
        symbol: 'BTCUSDT',
        interval: '1h',
        outDir,
        config: forestOnly,
        charts: false,
      });
      const before = await readJson(join(outDir, FOLDER_MARKER_FILE));
      const events: PipelineEvent[] = [];
      const error = await errorOf(stoppedAtSecondEpoch(outDir, events));
      expect((error as Error).name).toBe('AbortError');
      expect(await readJson(join(outDir, FOLDER_MARKER_FILE))).toEqual(before);
      expect((await readJson(join(outDir, 'summary.json'))).runId).toBe(complete.runId);
      const warning = events.find((event) => event.type === 'log' && event.level === 'warn');
      expect(warning && 'message' in warning && warning.message).toMatch(
        /kept the complete set already in .* nothing of this run was written/,
      );
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
