import { join, resolve } from 'node:path';
import {
  INTERVALS,
  type Interval,
  intervalToMilliseconds,
  isInterval,
  type Kline,
  type KlineSource,
} from '@crypto-anomaly/data';
import type { BackendPreference } from '../api.js';
import {
  DETECTOR_NAMES,
  type PartialRun,
  type PipelineEvent,
  type PipelineResult,
  type RunPipelineOptions,
  type RunSummary,
  type SplitName,
  type TrainedOn,
} from '../api.js';
import { assertBackendPreference } from '../backend.js';
import { resolvePipelineConfig } from '../config.js';
import { CoreError } from '../errors.js';
import { computeFeatures, sliceFeatureTable, warmupRowsFor } from '../features.js';
import { assertModelInterval, isTrainedOn, modelMismatchWarnings, readManifest } from '../model-manifest.js';
import { ChartPool } from '../outputs/chart-pool.js';
import { splitLabels } from '../preprocess.js';
import { assertKnownKeys, describeValue, keysOf } from '../validate.js';
import { prepareFolders, writeArtifacts } from './artifacts.js';
import { fitPipeline, scoredEvent } from './fit.js';
import { judgeInTimeOrder } from './row-thresholds.js';
import { Run } from './run.js';
import { scoredFrom, TrainedPipeline } from './trained-pipeline.js';
import { WALK_FORWARD_KEYS, walkForward } from './walk-forward.js';

/**
 * Options of `trainPipeline`: `runPipeline`'s, with the model folder required and outputs optional,
 * and no `walkForward` (a model is trained once, on the whole split).
 */
export interface TrainPipelineOptions
  extends Omit<RunPipelineOptions, 'outDir' | 'modelDir' | 'walkForward'> {
  /** Folder the trained pipeline is saved in (replaced atomically if it exists). */
  modelDir: string;
  /** When given, the CSV files, summary.json and charts are written there too. */
  outDir?: string;
}

export interface TrainPipelineResult {
  modelDir: string;
  /** The trained pipeline, ready to score more candles (call `dispose()` when done). */
  pipeline: TrainedPipeline;
  /** What summary.json holds (written only when `outDir` was given); timings always. */
  summary: RunSummary | { runId: string; timings: Record<string, number> };
  /** Present when `outDir` was given. */
  outputs?: PipelineResult;
  /** Id of this run, in the model's marker (and summary.json). */
  runId: string;
  /** Present when an abort kept what had finished (`onAbort: 'keep-finished'`). */
  partial?: PartialRun;
}

/** Options of `detectWithPipeline`: score candles with a saved pipeline, write the outputs. */
export interface DetectOptions {
  /** Folder written by `trainPipeline` / `runPipeline` (default `<outDir>/model` there). */
  modelDir: string;
  source: KlineSource;
  /** Default: the symbol the model was trained on. */
  symbol?: string;
  /** Default: the interval the model was trained on. */
  interval?: Interval;
  /**
   * Score candles of another interval than the model's `trainedOn`. Default false: refused
   * (MODEL_MISMATCH), since the model's windows count candles of its own interval and its
   * thresholds were fitted to them. Another symbol is scored with a warning either way.
   */
  allowOtherInterval?: boolean;
  since?: number;
  until?: number;
  outDir: string;
  backend?: BackendPreference;
  /** Render the PNG charts. Default true. */
  charts?: boolean;
  onEvent?: (event: PipelineEvent) => void;
  signal?: AbortSignal;
}

const TRAIN_PIPELINE_KEYS = keysOf<TrainPipelineOptions>({
  source: true,
  symbol: true,
  interval: true,
  since: true,
  until: true,
  outDir: true,
  seed: true,
  backend: true,
  epochs: true,
  config: true,
  modelDir: true,
  charts: true,
  onEvent: true,
  signal: true,
  onAbort: true,
});
/** runPipeline's: trainPipeline's and the walk-forward (trainPipeline fits one model). */
const RUN_PIPELINE_KEYS = [
  ...TRAIN_PIPELINE_KEYS,
  ...keysOf<Omit<RunPipelineOptions, keyof TrainPipelineOptions>>({ walkForward: true }),
];
const DETECT_KEYS = keysOf<DetectOptions>({
  modelDir: true,
  source: true,
  symbol: true,
  interval: true,
  allowOtherInterval: true,
  since: true,
  until: true,
  outDir: true,
  backend: true,
  charts: true,
  onEvent: true,
  signal: true,
});

/** Checks the options every entry point shares, where they enter; `what` is the entry point's name. */
function assertRunOptions(
  what: 'runPipeline' | 'trainPipeline' | 'detectWithPipeline',
  options: {
    source?: unknown;
    symbol?: unknown;
    interval?: unknown;
    outDir?: unknown;
    modelDir?: unknown;
    backend?: unknown;
    walkForward?: unknown;
  },
  required: { outDir: boolean; modelDir: boolean; symbol: boolean },
): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const needed = [
      'source',
      ...(required.symbol ? ['symbol', 'interval'] : []),
      ...(required.outDir ? ['outDir'] : []),
      ...(required.modelDir ? ['modelDir'] : []),
    ];
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${what} takes one options object { ${needed.join(', ')}, … }, got ${describeValue(options)}.`,
    );
  }
  const known = {
    runPipeline: RUN_PIPELINE_KEYS,
    trainPipeline: TRAIN_PIPELINE_KEYS,
    detectWithPipeline: DETECT_KEYS,
  };
  assertKnownKeys(`${what} options`, options, known[what]);
  if (typeof options.walkForward === 'object') {
    assertKnownKeys(`${what} options.walkForward`, options.walkForward, WALK_FORWARD_KEYS);
  }
  const source = options.source as Partial<KlineSource> | undefined;
  if (!source || typeof source.load !== 'function' || typeof source.describe !== 'function') {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `source must be a KlineSource (describe() and load()), got ${describeValue(options.source)}: ` +
        'use sampleSource(), csvSource(path) or storeSource(store) from @crypto-anomaly/data.',
    );
  }
  if (
    (required.symbol || options.symbol !== undefined) &&
    !(typeof options.symbol === 'string' && options.symbol)
  ) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `symbol must be a non-empty string such as "BTCUSDT", got ${describeValue(options.symbol)}.`,
    );
  }
  if ((required.symbol || options.interval !== undefined) && !isInterval(String(options.interval))) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `interval must be one of ${INTERVALS.join(', ')}, got ${describeValue(options.interval)}.`,
    );
  }
  for (const key of ['outDir', 'modelDir'] as const) {
    const value = options[key];
    if (
      (required[key] || (value !== undefined && value !== false)) &&
      !(typeof value === 'string' && value)
    ) {
      throw new CoreError('INVALID_ARGUMENT', `${key} must be a folder path, got ${describeValue(value)}.`);
    }
  }
  // Here rather than when the first autoencoder starts: after the candles loaded, or in a thread.
  if (options.backend !== undefined) assertBackendPreference('backend', options.backend);
}

async function loadCandles(
  run: Run,
  source: KlineSource,
  request: { symbol: string; interval: Interval; since?: number; until?: number },
): Promise<Kline[]> {
  return run.stage('load', async () => {
    run.emit({ type: 'source', description: source.describe() });
    const klines = await source.load({
      symbol: request.symbol,
      interval: request.interval,
      ...(request.since !== undefined ? { start: request.since } : {}),
      ...(request.until !== undefined ? { end: request.until } : {}),
    });
    if (klines.length === 0) {
      throw new CoreError(
        'TOO_FEW_ROWS',
        `${source.describe()} has no ${request.symbol} ${request.interval} candles in the requested range: ` +
          'load them into the source first, or widen since/until.',
      );
    }
    return klines;
  });
}

/** What every training run starts with: resolve the config, load the candles, compute the features. */
async function loadFeatures(run: Run, options: TrainPipelineOptions | RunPipelineOptions) {
  const config = resolvePipelineConfig(options.config, {
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
  });
  const klines = await loadCandles(run, options.source, options);
  const table = await run.stage('features', () => computeFeatures(klines, config.features));
  return { config, source: options.source.describe(), table };
}

/** What trainPipeline and runPipeline share: resolve the config, load the candles, fit. */
async function loadAndFit(options: TrainPipelineOptions | RunPipelineOptions, completeSets: string[]) {
  const run = new Run(options.onEvent, options.signal, options.onAbort);
  run.completeSets = completeSets;
  const { config, source, table } = await loadFeatures(run, options);
  const fit = await fitPipeline(run, table, {
    config,
    symbol: options.symbol,
    interval: options.interval,
    source,
    ...(options.backend ? { backend: options.backend } : {}),
  });
  // Rows after the training rows meet adaptive thresholds (spot, dspot) in time order.
  const judged = judgeInTimeOrder(fit.scored, fit.ranges.train.end);
  return {
    run,
    source,
    table,
    splits: splitLabels(fit.ranges, table.matrix.rows),
    ...fit,
    scored: judged.scored,
    rowThresholds: judged.rowThresholds,
  };
}

/**
 * Trains the pipeline on a source's candles and saves it to `modelDir`; writes the outputs too
 * when `outDir` is given. Emits the same events as `runPipeline`.
 */
export async function trainPipeline(options: TrainPipelineOptions): Promise<TrainPipelineResult> {
  assertRunOptions('trainPipeline', options, { outDir: false, modelDir: true, symbol: true });
  const completeSets = await prepareFolders('train', options.outDir || undefined, options.modelDir);
  const { run, ...fitted } = await loadAndFit(options, completeSets);
  const { pipeline, missingDetectors } = fitted;
  try {
    if (options.outDir) {
      const outputs = await writeArtifacts(run, {
        ...fitted,
        mode: 'train',
        symbol: options.symbol,
        interval: options.interval,
        outDir: options.outDir,
        modelDir: options.modelDir,
        charts: options.charts ?? true,
      });
      return {
        modelDir: resolve(options.modelDir),
        pipeline,
        summary: outputs.summary,
        outputs,
        runId: run.runId,
        ...(outputs.partial ? { partial: outputs.partial } : {}),
      };
    }
    await run.stage('outputs', () =>
      pipeline.save(options.modelDir, { runId: run.runId, partial: run.keepingFinished }),
    );
    run.skip('charts', "no outputs folder asked for (outDir; the CLI's train --outputs)");
    const partial = run.partial(missingDetectors);
    return {
      modelDir: resolve(options.modelDir),
      pipeline,
      summary: { runId: run.runId, timings: run.roundedTimings() },
      runId: run.runId,
      ...(partial ? { partial } : {}),
    };
  } catch (error) {
    pipeline.dispose();
    throw error;
  }
}

/**
 * Loads candles, computes the features, trains the three detectors on the oldest 70% (validation
 * 15%, test 15%), scores every row, and writes into `outDir` the processed data, one anomaly file
 * per detector and the consensus, summary.json, the PNG charts and the trained model (`model/`).
 */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineResult> {
  assertRunOptions('runPipeline', options, { outDir: true, modelDir: false, symbol: true });
  const modelDir =
    options.modelDir === false ? undefined : (options.modelDir ?? join(options.outDir, 'model'));
  const completeSets = await prepareFolders('run', options.outDir, modelDir);
  // Started first, its thread is ready to draw by the time the scores are in.
  const charts = (options.charts ?? true) ? ChartPool.start() : ChartPool.none();
  try {
    if (options.walkForward) return await runWalkForwardPipeline(options, modelDir, charts);
    const { run, ...fitted } = await loadAndFit(options, completeSets);
    return await writeRun(run, options, modelDir, charts, fitted);
  } finally {
    await charts.close();
  }
}

/** A run's files from what it fitted (one fit or the folds), then the pipeline is let go. */
async function writeRun(
  run: Run,
  options: RunPipelineOptions,
  modelDir: string | undefined,
  charts: ChartPool,
  fitted: Omit<
    Parameters<typeof writeArtifacts>[1],
    'mode' | 'symbol' | 'interval' | 'outDir' | 'modelDir' | 'charts'
  >,
): Promise<PipelineResult> {
  try {
    return await writeArtifacts(
      run,
      {
        mode: 'run',
        symbol: options.symbol,
        interval: options.interval,
        outDir: options.outDir,
        modelDir,
        charts: options.charts ?? true,
        ...fitted,
      },
      charts,
    );
  } finally {
    fitted.pipeline.dispose();
  }
}

/** `runPipeline` with `walkForward`: the folds (walk-forward.ts) between loading and writing. */
async function runWalkForwardPipeline(
  options: RunPipelineOptions,
  modelDir: string | undefined,
  charts: ChartPool,
): Promise<PipelineResult> {
  // Folds are not resumable pieces of one model: an abort discards the run.
  const run = new Run(options.onEvent, options.signal);
  const { config, source, table } = await loadFeatures(run, options);
  const result = await walkForward(run, table, {
    config,
    symbol: options.symbol,
    interval: options.interval,
    source,
    ...(options.backend ? { backend: options.backend } : {}),
    ...(typeof options.walkForward === 'object' ? { walkForward: options.walkForward } : {}),
  });
  return writeRun(run, options, modelDir, charts, { source, missingDetectors: [], ...result });
}

/**
 * Scores a source's candles with a saved pipeline (no training) and writes the same outputs as
 * `runPipeline`. Rows inside the model's training period keep their split label; later rows are
 * `test`, and so is every row of another symbol or interval than the model's `trainedOn`. Another
 * symbol is scored with a `warn` log event; another interval is refused unless
 * `allowOtherInterval` (then with a `warn` log event).
 */
export async function detectWithPipeline(options: DetectOptions): Promise<PipelineResult> {
  assertRunOptions('detectWithPipeline', options, { outDir: true, modelDir: true, symbol: false });
  await prepareFolders('detect', options.outDir, options.modelDir);
  const run = new Run(options.onEvent, options.signal);
  const manifest = await readManifest(options.modelDir);
  const symbol = options.symbol ?? manifest.trainedOn.symbol;
  const interval = options.interval ?? manifest.trainedOn.interval;
  assertModelInterval(manifest, { symbol, interval, allowOtherInterval: options.allowOtherInterval });
  for (const message of modelMismatchWarnings(manifest, { symbol, interval })) {
    run.emit({ type: 'log', level: 'warn', message });
  }
  // The user's backend before the model loads: its autoencoders load into the backend in use.
  if (manifest.detectors.some(({ name }) => name !== 'isolation-forest')) {
    await run.ensureBackend(options.backend);
  }
  const pipeline = await TrainedPipeline.load(options.modelDir);
  try {
    // From `since`: the candles before it that the features and the attention window read are
    // loaded too, so the first row scored is the first candle at or after `since`.
    const lead = warmupRowsFor(pipeline.config.features) + pipeline.contextRows;
    const since = options.since;
    const klines = await loadCandles(run, options.source, {
      symbol,
      interval,
      ...(since !== undefined ? { since: since - lead * intervalToMilliseconds(interval) } : {}),
      ...(options.until !== undefined ? { until: options.until } : {}),
    });
    if (since !== undefined) {
      const before = klines.findIndex((kline) => kline.openTime >= since);
      if (before === -1) {
        throw new CoreError(
          'TOO_FEW_ROWS',
          `${options.source.describe()} has no ${symbol} ${interval} candles from ${new Date(since).toISOString()}: ` +
            'load them into the source first, or move since earlier.',
        );
      }
      if (before < lead) {
        run.emit({
          type: 'log',
          level: 'info',
          message:
            `${options.source.describe()} has ${before} of the ${lead} ${interval} candles before ${new Date(since).toISOString()} ` +
            `that scoring its first candle reads: the first ${lead - before} from there warm the features up and are not scored`,
        });
      }
    }
    for (const name of DETECTOR_NAMES) {
      if (!pipeline.detectors.some((d) => d.detector.name === name)) {
        run.skip(name, `the saved model has no ${name}`);
      }
    }
    const all = await pipeline.scoreKlines(klines, {
      ...(options.signal ? { signal: options.signal } : {}),
      stage: (stage, work) =>
        run.stage(
          stage,
          work,
          (DETECTOR_NAMES as readonly string[]).includes(stage) ? 'scoring with the saved model' : undefined,
        ),
    });
    // The rows before `since` were scored for their context only.
    const first =
      since === undefined
        ? 0
        : Math.max(
            0,
            all.table.times.findIndex((time) => time >= since),
          );
    const table = sliceFeatureTable(all.table, first, all.table.matrix.rows);
    const scored = scoredFrom(all, first);
    // Other candles than the model's are all new to it, whatever their times.
    const splits = isTrainedOn(pipeline, { symbol, interval })
      ? labelsByTime(table.times, pipeline.trainedOn)
      : new Array<SplitName>(table.times.length).fill('test');
    // As a run does, each detector's flags and top rows before the outputs are written.
    for (const detector of [...scored.detectors, scored.consensus]) {
      run.emit(scoredEvent(table, splits, detector, pipeline.config.topFeatures));
    }
    return await writeArtifacts(run, {
      mode: 'detect',
      symbol,
      interval,
      source: options.source.describe(),
      outDir: options.outDir,
      modelDir: options.modelDir,
      charts: options.charts ?? true,
      missingDetectors: [],
      pipeline,
      table,
      splits,
      scored,
    });
  } finally {
    pipeline.dispose();
  }
}

/**
 * Split labels of rows scored by a saved model: rows of its training period keep the split they
 * fell in then; anything after (or before) it is new to the model, so `test`.
 */
function labelsByTime(times: Float64Array, trainedOn: TrainedOn): SplitName[] {
  return Array.from(times, (time): SplitName => {
    if (time < trainedOn.from || time > trainedOn.to) return 'test';
    if (time < trainedOn.validationFrom) return 'train';
    return trainedOn.testFrom === null || time < trainedOn.testFrom ? 'validation' : 'test';
  });
}
