import { join, resolve } from 'node:path';
import { INTERVALS, type Interval, isInterval, type Kline, type KlineSource } from '@crypto-anomaly/data';
import * as tf from '@tensorflow/tfjs';
import {
  type AnomalyRow,
  DETECTOR_NAMES,
  type DetectorName,
  type FeatureTable,
  type Matrix,
  type PartialRun,
  type PipelineConfig,
  type PipelineEvent,
  type PipelineResult,
  type RunPipelineOptions,
  type SplitName,
  type SplitRanges,
  type StageName,
} from './api.js';
import { type BackendInfo, type BackendPreference, selectBackend } from './backend.js';
import {
  agreementSpec,
  type LossHistory,
  lossSpec,
  priceAnomaliesSpec,
  renderChartPng,
  scoresSpec,
} from './charts.js';
import { resolvePipelineConfig } from './config.js';
import {
  ATTENTION_AUTOENCODER_FORMAT_VERSION,
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
} from './detectors/attention-autoencoder.js';
import { DENSE_AUTOENCODER_FORMAT_VERSION } from './detectors/dense-autoencoder.js';
import { ISOLATION_FOREST_FORMAT_VERSION } from './detectors/isolation-forest.js';
import { createDetector } from './detectors/registry.js';
import { CoreError } from './errors.js';
import { computeFeatures } from './features.js';
import { writeFileAtomic, writeJsonAtomic } from './io.js';
import type { DetectorScores, FittedDetector, ScoredTable, TrainedOn } from './model.js';
import { PIPELINE_FORMAT_VERSION, readManifest, TrainedPipeline } from './model.js';
import { anomaliesCsv, isoTime, processedDataCsv, type ScoredHistory, topAnomalyRows } from './outputs.js';
import { FolderSet, isInside, newRunId, prepareTarget } from './owned-folder.js';
import { chronologicalSplit, Preprocessor, splitLabels } from './preprocess.js';
import { jaccard, scoreDistribution, spearman } from './ranking.js';
import { fitThreshold } from './thresholds.js';
import { describeValue } from './validate.js';
import { CORE_VERSION, siblingVersions } from './version.js';

/** Rows per detector (and consensus) in `PipelineResult.topAnomalies`. */
const TOP_ANOMALIES = 10;

/** File names of the outputs, by detector (the names users and the CLI look for). */
export const ANOMALY_FILES: Readonly<Record<DetectorName | 'consensus', string>> = Object.freeze({
  'isolation-forest': 'anomalies_isolation_forest.csv',
  autoencoder: 'anomalies_autoencoder.csv',
  attention: 'anomalies_attention.csv',
  consensus: 'anomalies_consensus.csv',
});

export const CHART_FILES = Object.freeze({
  chartPrice: 'chart_price_anomalies.png',
  chartScores: 'chart_scores.png',
  chartLoss: 'chart_training_loss.png',
  chartAgreement: 'chart_agreement.png',
});

/** Options of `trainPipeline`: `runPipeline`'s, with the model folder required and outputs optional. */
export interface TrainPipelineOptions extends Omit<RunPipelineOptions, 'outDir' | 'modelDir'> {
  /** Folder the trained pipeline is saved in (replaced atomically if it exists). */
  modelDir: string;
  /** When given, the CSV files, summary.json and charts are written there too. */
  outDir?: string;
}

export interface TrainPipelineResult {
  modelDir: string;
  /** The trained pipeline, ready to score more candles (call `dispose()` when done). */
  pipeline: TrainedPipeline;
  /** The parsed contents of summary.json (written only when `outDir` was given). */
  summary: Record<string, unknown>;
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
  since?: number;
  until?: number;
  outDir: string;
  backend?: BackendPreference;
  /** Render the PNG charts. Default true. */
  charts?: boolean;
  onEvent?: (event: PipelineEvent) => void;
  signal?: AbortSignal;
}

/** Shared state of one run: events, timings, abort. */
class Run {
  readonly timings: Partial<Record<StageName, number>> = {};
  readonly started = performance.now();
  /** In summary.json and in the marker of every folder this run writes. */
  readonly runId = newRunId();
  backend: BackendInfo | undefined;
  /** At least one detector finished: what an abort with `keep-finished` keeps. */
  hasFinishedWork = false;
  /** Set when an abort became a partial run: the remaining stages write what finished. */
  keepingFinished = false;

  constructor(
    private readonly onEvent: ((event: PipelineEvent) => void) | undefined,
    readonly signal: AbortSignal | undefined,
    readonly onAbort: 'discard' | 'keep-finished' = 'discard',
  ) {}

  emit(event: PipelineEvent): void {
    this.onEvent?.(event);
  }

  /**
   * Throws the abort reason, unless the run keeps what finished: then it switches to writing a
   * partial run and returns (`keepingFinished`).
   */
  throwIfAborted(): void {
    if (!this.signal?.aborted || this.keepingFinished) return;
    if (this.onAbort === 'keep-finished' && this.hasFinishedWork) {
      this.keepingFinished = true;
      return;
    }
    this.signal.throwIfAborted();
  }

  /** What a partial run lacks; undefined when nothing was cut short. */
  partial(missingDetectors: DetectorName[]): PartialRun | undefined {
    return this.keepingFinished ? { missingDetectors, chartsSkipped: true } : undefined;
  }

  async stage<T>(stage: StageName, work: () => Promise<T> | T, message?: string): Promise<T> {
    this.throwIfAborted();
    this.emit({ type: 'stage', stage, status: 'start', ...(message ? { message } : {}) });
    const start = performance.now();
    try {
      const result = await work();
      const elapsedMs = performance.now() - start;
      this.timings[stage] = elapsedMs;
      this.emit({ type: 'stage', stage, status: 'done', elapsedMs });
      return result;
    } catch (error) {
      this.emit({
        type: 'stage',
        stage,
        status: 'failed',
        elapsedMs: performance.now() - start,
        message: (error as Error).message,
      });
      throw error;
    }
  }

  skip(stage: StageName, message: string): void {
    this.emit({ type: 'stage', stage, status: 'skipped', message });
  }

  /** Selects the TensorFlow.js backend once, before the first autoencoder. */
  async ensureBackend(preference: BackendPreference | undefined): Promise<BackendInfo> {
    if (!this.backend) {
      this.backend = await selectBackend(preference ?? 'auto');
      this.emit({ type: 'backend', name: this.backend.name, description: this.backend.description });
    }
    return this.backend;
  }
}

/** Checks the options every entry point shares, where they enter. */
function assertRunOptions(
  options: {
    source?: unknown;
    symbol?: unknown;
    interval?: unknown;
    outDir?: unknown;
    modelDir?: unknown;
  },
  required: { outDir: boolean; modelDir: boolean; symbol: boolean },
): void {
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
}

const STAGE_OF: Record<DetectorName, StageName> = {
  'isolation-forest': 'isolation-forest',
  autoencoder: 'autoencoder',
  attention: 'attention',
};

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
          'fetch them first or widen --since/--until.',
      );
    }
    return klines;
  });
}

function rowsOf(X: Matrix, start: number, end: number): Matrix {
  return { data: X.data.subarray(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
}

/** Trains every configured detector on the training rows, reporting a stage each. */
async function train(
  run: Run,
  options: RunPipelineOptions | TrainPipelineOptions,
  config: PipelineConfig,
  klines: Kline[],
  sourceDescription: string,
): Promise<{
  pipeline: TrainedPipeline;
  table: FeatureTable;
  ranges: SplitRanges;
  scored: ScoredTable;
  missingDetectors: DetectorName[];
}> {
  const table = await run.stage('features', () => computeFeatures(klines, config.features));
  const { ranges, preprocessor, scaled } = await run.stage('preprocess', () => {
    const ranges = chronologicalSplit(table.matrix.rows, config.split);
    const preprocessor = Preprocessor.fit(
      rowsOf(table.matrix, 0, ranges.train.end),
      table.names,
      config.preprocess,
    );
    return { ranges, preprocessor, scaled: preprocessor.transform(table.matrix) };
  });
  const trainRows = rowsOf(scaled, ranges.train.start, ranges.train.end);
  const validationRows = rowsOf(scaled, ranges.validation.start, ranges.validation.end);
  const fitted: FittedDetector[] = [];
  const scores: DetectorScores[] = [];
  const missingDetectors: DetectorName[] = [];
  const pipeline = new TrainedPipeline(config, preprocessor, fitted, undefined, {
    symbol: options.symbol,
    interval: options.interval,
    source: sourceDescription,
    from: table.times[0]!,
    to: table.times[table.times.length - 1]!,
    rows: {
      train: ranges.train.end - ranges.train.start,
      validation: ranges.validation.end - ranges.validation.start,
      test: ranges.test.end - ranges.test.start,
    },
    validationFrom: table.times[ranges.validation.start]!,
    testFrom: ranges.test.end > ranges.test.start ? table.times[ranges.test.start]! : null,
  });
  try {
    for (const name of DETECTOR_NAMES) {
      if (!config.detectors.includes(name)) {
        run.skip(STAGE_OF[name], `${name} is not in config.detectors`);
        continue;
      }
      run.throwIfAborted();
      if (run.keepingFinished) {
        missingDetectors.push(name);
        run.skip(STAGE_OF[name], 'stopped before it trained; keeping the detectors that finished');
        continue;
      }
      try {
        if (name !== 'isolation-forest') await run.ensureBackend(options.backend);
        if (name === 'attention' && config.attention['trainingStride'] === undefined) {
          config.attention['trainingStride'] = automaticTrainingStride(
            trainRows.rows,
            config.attention['windowSize'],
          );
        }
        await run.stage(STAGE_OF[name], async () => {
          const detector = createDetector(name, config);
          try {
            await detector.fit(trainRows, {
              validation: validationRows,
              ...(options.onEvent ? { onEvent: options.onEvent } : {}),
              ...(options.signal ? { signal: options.signal } : {}),
            });
          } catch (error) {
            detector.dispose?.();
            throw error;
          }
          const entry: FittedDetector = { detector, distribution: { quantiles: [] } };
          fitted.push(entry);
          const result = await pipeline.scoreDetector(name, scaled);
          entry.distribution = scoreDistribution(
            result.scores.subarray(ranges.train.start, ranges.train.end),
          );
          scores.push(result);
          run.hasFinishedWork = true;
        });
      } catch (error) {
        // Stopped mid-training: the detectors that finished are kept when the run asks for it.
        run.throwIfAborted();
        if (!run.keepingFinished) throw error;
        missingDetectors.push(name);
      }
    }
    const consensus = await run.stage('consensus', () => {
      const consensusScores = pipeline.consensusScores(scores);
      pipeline.consensusThreshold = fitThreshold(
        consensusScores.subarray(ranges.train.start, ranges.train.end),
        config.threshold,
      );
      return pipeline.consensusOf(scores);
    });
    return { pipeline, table, ranges, scored: { scaled, detectors: scores, consensus }, missingDetectors };
  } catch (error) {
    pipeline.dispose();
    throw error;
  }
}

/** Training windows per epoch the automatic attention stride aims at. */
const ATTENTION_WINDOWS_PER_EPOCH = 800;

/**
 * The attention autoencoder's default training stride: about 800 windows per epoch (an epoch over
 * every overlapping window of the sample's 3,500 training rows took ~7 s on one core here, 30 of
 * them most of a 4-minute run), but never more than the window, so every training row is still
 * seen each epoch.
 */
export function automaticTrainingStride(trainRows: number, windowSize: unknown): number {
  const window =
    typeof windowSize === 'number' ? windowSize : DEFAULT_ATTENTION_AUTOENCODER_OPTIONS.windowSize;
  return Math.max(1, Math.min(window, Math.ceil(trainRows / ATTENTION_WINDOWS_PER_EPOCH)));
}

interface OutputContext {
  mode: 'run' | 'train' | 'detect';
  symbol: string;
  interval: Interval;
  source: string;
  outDir: string;
  modelDir: string | undefined;
  charts: boolean;
  /** Configured detectors a partial run lacks. */
  missingDetectors: DetectorName[];
}

/** The model folder of a run when it is the default `<outDir>/model`: then it is part of the set. */
function nestedModel(outDir: string, modelDir: string | undefined): boolean {
  return modelDir !== undefined && resolve(modelDir) === join(resolve(outDir), 'model');
}

/**
 * Refuses, before any work, folders that would overwrite each other: outputs and model in one
 * folder, or one inside the other (except the default `<outDir>/model`); for `detect`, outputs
 * that would replace the model it reads.
 */
export function assertSeparateFolders(
  mode: 'run' | 'train' | 'detect',
  outDir: string | undefined,
  modelDir: string | undefined,
) {
  if (outDir === undefined || modelDir === undefined) return;
  const [out, model] = [resolve(outDir), resolve(modelDir)];
  const clash =
    mode === 'detect'
      ? isInside(model, out) || isInside(out, model)
      : model === out || isInside(out, model) || (isInside(model, out) && !nestedModel(out, model));
  if (clash) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      mode === 'detect'
        ? `outDir ${out} and modelDir ${model} overlap: writing the outputs would replace the model being read. ` +
            'Write the outputs to another folder.'
        : `outDir ${out} and modelDir ${model} overlap: each would replace the other. Use two separate ` +
            'folders (the model may be <outDir>/model).',
    );
  }
}

/**
 * Every check of the folders a run will write, before it loads or trains anything: separate
 * folders, each absent, empty or ours (`TARGET_NOT_OURS`), and creatable (`TARGET_NOT_WRITABLE`).
 */
async function prepareFolders(
  mode: OutputContext['mode'],
  outDir: string | undefined,
  modelDir: string | undefined,
): Promise<void> {
  assertSeparateFolders(mode, outDir, modelDir);
  if (outDir !== undefined) await prepareTarget(outDir, 'outputs');
  if (
    modelDir !== undefined &&
    mode !== 'detect' &&
    !(outDir !== undefined && nestedModel(outDir, modelDir))
  ) {
    await prepareTarget(modelDir, 'model');
  }
}

/**
 * Writes the whole set (CSV files, the model when it lives in `<outDir>/model`, the charts,
 * summary.json) into a temporary sibling of `outDir`, then swaps it in with one rename: a reader
 * sees the previous set or this one, never a mix. A model elsewhere is saved (and swapped) first.
 */
async function writeOutputs(
  run: Run,
  context: OutputContext,
  pipeline: TrainedPipeline,
  table: FeatureTable,
  splits: SplitName[],
  scored: ScoredTable,
  warmup: { candles: number },
): Promise<PipelineResult> {
  const files: Record<string, string> = {};
  const all = [...scored.detectors, scored.consensus];
  const histories = all.map(
    (s): ScoredHistory => ({
      times: table.times,
      close: table.close,
      splits,
      scores: s.scores,
      threshold: s.threshold.value,
      flags: s.flags,
      contributions: s.contributions,
      featureNames: table.names,
      topFeatures: pipeline.config.topFeatures,
    }),
  );
  const set = await FolderSet.open(context.outDir, 'outputs', run.runId);
  const outDir = set.target;
  try {
    await run.stage('outputs', async () => {
      const processedName = `${context.symbol.toUpperCase()}_processed_data.csv`;
      files['processedData'] = set.finalPath(processedName);
      await writeFileAtomic(
        set.stagingPath(processedName),
        processedDataCsv(table.times, table.close, splits, table.names, table.matrix, scored.scaled),
      );
      for (let i = 0; i < all.length; i++) {
        run.throwIfAborted();
        const name = all[i]!.name;
        files[name] = set.finalPath(ANOMALY_FILES[name]);
        await writeFileAtomic(set.stagingPath(ANOMALY_FILES[name]), anomaliesCsv(histories[i]!));
      }
      if (context.modelDir) {
        const nested = nestedModel(outDir, context.modelDir);
        const save = { runId: run.runId, partial: run.keepingFinished };
        if (context.mode !== 'detect') {
          await pipeline.save(nested ? set.stagingPath('model') : context.modelDir, save);
        }
        files['model'] = resolve(context.modelDir);
      }
    });
    if (context.charts && !run.keepingFinished) {
      await run.stage('charts', async () => {
        // The first row of each later split in this history, if it has any.
        const firstOf = (split: SplitName) => {
          const index = splits.indexOf(split);
          return index > 0 ? { [split]: table.times[index]! } : {};
        };
        const boundaries = { ...firstOf('validation'), ...firstOf('test') };
        const panels = all.map((s) => ({
          name: s.name,
          scores: s.scores,
          threshold: s.threshold.value,
          flags: s.flags,
        }));
        const chartFiles: [keyof typeof CHART_FILES, Parameters<typeof renderChartPng>[0]][] = [
          ['chartPrice', priceAnomaliesSpec(context.symbol, table.times, table.close, panels, boundaries)],
          ['chartScores', scoresSpec(table.times, panels, boundaries)],
        ];
        const losses = lossHistories(pipeline);
        if (losses.length > 0) chartFiles.push(['chartLoss', lossSpec(losses)]);
        const agreement = agreementOf(scored);
        if (agreement.detectors.length > 1) {
          chartFiles.push([
            'chartAgreement',
            agreementSpec(agreement.detectors, agreement.jaccard, agreement.spearman),
          ]);
        }
        for (const [role, spec] of chartFiles) {
          // Stopped while drawing: the charts drawn so far stay, the rest is skipped.
          run.throwIfAborted();
          if (run.keepingFinished) break;
          await writeFileAtomic(set.stagingPath(CHART_FILES[role]), await renderChartPng(spec));
          files[role] = set.finalPath(CHART_FILES[role]);
        }
      });
    } else {
      run.skip('charts', context.charts ? 'stopped early: skipped to finish promptly' : 'charts disabled');
    }
    const partial = run.partial(context.missingDetectors);
    files['summary'] = set.finalPath('summary.json');
    // summary.json once, last, with every file of the set and every stage's timing.
    const summary = buildSummary(run, context, pipeline, table, splits, scored, warmup);
    summary['files'] = { ...files };
    await writeJsonAtomic(set.stagingPath('summary.json'), summary);
    await set.commit({ partial: partial !== undefined });
    const topAnomalies = Object.fromEntries(
      all.map((s, i) => [s.name, topAnomalyRows(histories[i]!, TOP_ANOMALIES)]),
    ) as Record<DetectorName | 'consensus', AnomalyRow[]>;
    return { outDir, files, summary, topAnomalies, runId: run.runId, ...(partial ? { partial } : {}) };
  } catch (error) {
    await set.discard();
    throw error;
  }
}

function lossHistories(pipeline: TrainedPipeline): LossHistory[] {
  const out: LossHistory[] = [];
  for (const { detector } of pipeline.detectors) {
    const history = (detector as { history?: { loss: number[]; valLoss: number[] } }).history;
    if (history && history.loss.length > 0) {
      out.push({
        detector: detector.name,
        epochs: history.loss.map((loss, i) => ({ epoch: i + 1, loss, valLoss: history.valLoss[i]! })),
      });
    }
  }
  return out;
}

function timingsOf(run: Run): Record<string, number> {
  const timings: Record<string, number> = {};
  for (const [stage, ms] of Object.entries(run.timings)) timings[stage] = Math.round(ms);
  timings['total'] = Math.round(performance.now() - run.started);
  return timings;
}

function countFlags(flags: Uint8Array, splits: readonly SplitName[]): Record<SplitName | 'total', number> {
  const counts = { total: 0, train: 0, validation: 0, test: 0 };
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] === 1) {
      counts.total++;
      counts[splits[i]!]++;
    }
  }
  return counts;
}

function buildSummary(
  run: Run,
  context: OutputContext,
  pipeline: TrainedPipeline,
  table: FeatureTable,
  splits: SplitName[],
  scored: ScoredTable,
  warmup: { candles: number },
): Record<string, unknown> {
  const agreement = agreementOf(scored);
  const names = agreement.detectors;
  const { total: _all, ...rowsPerSplit } = countFlags(new Uint8Array(splits.length).fill(1), splits);
  const detectors: Record<string, unknown> = {};
  for (const s of [...scored.detectors, scored.consensus]) {
    const fitted = pipeline.detectors.find((d) => d.detector.name === s.name)?.detector as
      | { history?: Record<string, unknown> }
      | undefined;
    const history = fitted?.history;
    detectors[s.name] = {
      ...(s.name === 'consensus'
        ? {
            method:
              `mean over ${names.join(', ')} of each score's percentile among that detector's ` +
              'training scores',
          }
        : {}),
      threshold: s.threshold,
      flagged: countFlags(s.flags, splits),
      ...(history && context.mode !== 'detect'
        ? {
            training: {
              epochsRun: history['epochsRun'],
              bestEpoch: history['bestEpoch'],
              bestValLoss: history['bestValLoss'],
              stoppedEarly: history['stoppedEarly'],
              samplesPerSecond: history['samplesPerSecond'],
              elapsedMs: history['elapsedMs'],
            },
          }
        : {}),
    };
  }
  return {
    runId: run.runId,
    mode: context.mode,
    partial: run.keepingFinished,
    ...(run.keepingFinished ? { missingDetectors: context.missingDetectors } : {}),
    symbol: context.symbol,
    interval: context.interval,
    source: context.source,
    createdAt: new Date().toISOString(),
    versions: {
      core: CORE_VERSION,
      ...siblingVersions(),
      tensorflow: tf.version['tfjs-core'],
      node: process.version,
      formats: {
        pipeline: PIPELINE_FORMAT_VERSION,
        isolationForest: ISOLATION_FOREST_FORMAT_VERSION,
        autoencoder: DENSE_AUTOENCODER_FORMAT_VERSION,
        attention: ATTENTION_AUTOENCODER_FORMAT_VERSION,
      },
    },
    backend: run.backend ? { name: run.backend.name, description: run.backend.description } : null,
    rows: {
      candles: warmup.candles + table.matrix.rows,
      warmupDropped: warmup.candles,
      scored: table.matrix.rows,
      ...rowsPerSplit,
    },
    range: { from: isoTime(table.times[0]!), to: isoTime(table.times[table.times.length - 1]!) },
    trainedOn: pipeline.trainedOn,
    features: table.names,
    config: pipeline.config,
    detectors,
    agreement,
    timings: timingsOf(run),
  };
}

/** Pairwise agreement of the detectors: Jaccard of flagged rows, Spearman of scores. */
function agreementOf(scored: ScoredTable) {
  const names = scored.detectors.map((d) => d.name);
  const jaccardMatrix = scored.detectors.map((a) =>
    scored.detectors.map((b) => round(jaccard(a.flags, b.flags))),
  );
  const spearmanMatrix = scored.detectors.map((a) =>
    scored.detectors.map((b) => round(a === b ? 1 : spearman(a.scores, b.scores))),
  );
  const pairs: Record<string, { jaccard: number; spearman: number }> = {};
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      pairs[`${names[i]} / ${names[j]}`] = {
        jaccard: jaccardMatrix[i]![j]!,
        spearman: spearmanMatrix[i]![j]!,
      };
    }
  }
  return { detectors: names, pairs, jaccard: jaccardMatrix, spearman: spearmanMatrix };
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 10_000) / 10_000 : value;
}

/** What trainPipeline and runPipeline share: resolve the config, load the candles, train. */
async function loadAndTrain(options: TrainPipelineOptions | RunPipelineOptions) {
  const run = new Run(options.onEvent, options.signal, options.onAbort);
  const config = resolvePipelineConfig(options.config, {
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
  });
  const klines = await loadCandles(run, options.source, options);
  const source = options.source.describe();
  return { run, source, ...(await train(run, options, config, klines, source)) };
}

/**
 * Trains the pipeline on a source's candles and saves it to `modelDir`; writes the outputs too
 * when `outDir` is given. Emits the same events as `runPipeline`.
 */
export async function trainPipeline(options: TrainPipelineOptions): Promise<TrainPipelineResult> {
  assertRunOptions(options, { outDir: false, modelDir: true, symbol: true });
  await prepareFolders('train', options.outDir || undefined, options.modelDir);
  const { run, source, pipeline, table, ranges, scored, missingDetectors } = await loadAndTrain(options);
  const splits = splitLabels(ranges, table.matrix.rows);
  try {
    if (options.outDir) {
      const outputs = await writeOutputs(
        run,
        {
          mode: 'train',
          symbol: options.symbol,
          interval: options.interval,
          source,
          outDir: options.outDir,
          modelDir: options.modelDir,
          charts: options.charts ?? true,
          missingDetectors,
        },
        pipeline,
        table,
        splits,
        scored,
        { candles: table.warmupRows },
      );
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
    run.skip('charts', 'no outDir given');
    const partial = run.partial(missingDetectors);
    return {
      modelDir: resolve(options.modelDir),
      pipeline,
      summary: { runId: run.runId, timings: timingsOf(run) },
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
  assertRunOptions(options, { outDir: true, modelDir: false, symbol: true });
  const modelDir =
    options.modelDir === false ? undefined : (options.modelDir ?? join(options.outDir, 'model'));
  await prepareFolders('run', options.outDir, modelDir);
  const { run, source, pipeline, table, ranges, scored, missingDetectors } = await loadAndTrain(options);
  try {
    return await writeOutputs(
      run,
      {
        mode: 'run',
        symbol: options.symbol,
        interval: options.interval,
        source,
        outDir: options.outDir,
        modelDir,
        charts: options.charts ?? true,
        missingDetectors,
      },
      pipeline,
      table,
      splitLabels(ranges, table.matrix.rows),
      scored,
      { candles: table.warmupRows },
    );
  } finally {
    pipeline.dispose();
  }
}

/**
 * Scores a source's candles with a saved pipeline (no training) and writes the same outputs as
 * `runPipeline`. Rows inside the model's training period keep their split label; later rows are
 * `test`.
 */
export async function detectWithPipeline(options: DetectOptions): Promise<PipelineResult> {
  assertRunOptions(options, { outDir: true, modelDir: true, symbol: false });
  await prepareFolders('detect', options.outDir, options.modelDir);
  const run = new Run(options.onEvent, options.signal);
  // The backend first: loading a TensorFlow.js model would otherwise initialise the default one.
  const manifest = await readManifest(options.modelDir);
  if (manifest.detectors.some(({ name }) => name !== 'isolation-forest')) {
    await run.ensureBackend(options.backend);
  }
  const pipeline = await TrainedPipeline.load(options.modelDir);
  try {
    const symbol = options.symbol ?? pipeline.trainedOn.symbol;
    const interval = options.interval ?? pipeline.trainedOn.interval;
    const klines = await loadCandles(run, options.source, {
      symbol,
      interval,
      ...(options.since !== undefined ? { since: options.since } : {}),
      ...(options.until !== undefined ? { until: options.until } : {}),
    });
    const table = await run.stage('features', () => computeFeatures(klines, pipeline.config.features));
    const scaled = await run.stage('preprocess', () => pipeline.preprocessor.transform(table.matrix));
    const scores: DetectorScores[] = [];
    for (const name of DETECTOR_NAMES) {
      if (!pipeline.detectors.some((d) => d.detector.name === name)) {
        run.skip(STAGE_OF[name], `the saved model has no ${name}`);
        continue;
      }
      scores.push(
        await run.stage(
          STAGE_OF[name],
          () => pipeline.scoreDetector(name, scaled),
          'scoring with the saved model',
        ),
      );
    }
    const consensus = await run.stage('consensus', () => pipeline.consensusOf(scores));
    const splits = labelsByTime(table.times, pipeline.trainedOn);
    return await writeOutputs(
      run,
      {
        mode: 'detect',
        symbol,
        interval,
        source: options.source.describe(),
        outDir: options.outDir,
        modelDir: options.modelDir,
        charts: options.charts ?? true,
        missingDetectors: [],
      },
      pipeline,
      table,
      splits,
      { scaled, detectors: scores, consensus },
      { candles: table.warmupRows },
    );
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
