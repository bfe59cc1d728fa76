import { availableParallelism } from 'node:os';
import type { BackendPreference } from '../api.js';
import {
  DETECTOR_NAMES,
  type DetectorName,
  type FeatureTable,
  type Matrix,
  type PipelineConfig,
  type PipelineEvent,
  type SplitName,
  type SplitRanges,
  type StageName,
} from '../api.js';
import { preferenceOf } from '../backend.js';
import { DEFAULT_ATTENTION_AUTOENCODER_OPTIONS } from '../detectors/attention-autoencoder.js';
import { createDetector } from '../detectors/registry.js';
import { topAnomalyRows } from '../outputs/csv.js';
import { chronologicalSplit, Preprocessor, splitLabels } from '../preprocess.js';
import { scoreDistribution } from '../ranking.js';
import { fitConsensusThreshold } from '../thresholds.js';
import { TOP_ANOMALIES } from './artifacts.js';
import { fitInThread } from './fit-thread.js';
import type { Run } from './run.js';
import { countFlags } from './summary.js';
import {
  consensusOf,
  consensusScoresOf,
  type DetectorScores,
  detectorScores,
  type FittedDetector,
  type ScoredTable,
  scoreWithDetector,
  TrainedPipeline,
} from './trained-pipeline.js';

/** What a fit is told beyond the feature table. */
export interface FitOptions {
  config: PipelineConfig;
  symbol: string;
  interval: TrainedPipeline['trainedOn']['interval'];
  /** `describe()` of the source the candles came from (saved with the model). */
  source: string;
  backend?: BackendPreference;
  /**
   * Fit the attention autoencoder in a worker thread (its own TensorFlow.js backend) while the
   * other detectors fit in this one: same results, on two cores. Default: when the machine has
   * more than one core, another detector is configured and there are 2000 training rows or more.
   */
  threads?: boolean;
}

/** A fitted pipeline, with what fitting it computed on the way (the outputs are made of it). */
export interface FitResult {
  pipeline: TrainedPipeline;
  ranges: SplitRanges;
  /** Every row of the table, scored during the fit (no second scoring pass). */
  scored: ScoredTable;
  /** Configured detectors a stopped run lacks (`onAbort: 'keep-finished'`). */
  missingDetectors: DetectorName[];
}

const STAGE_OF: Record<DetectorName, StageName> = {
  'isolation-forest': 'isolation-forest',
  autoencoder: 'autoencoder',
  attention: 'attention',
};

function rowsOf(X: Matrix, start: number, end: number): Matrix {
  return { data: X.data.subarray(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
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

/**
 * Fits the pipeline on a feature table: the chronological split, the preprocessor on the training
 * rows, each configured detector (a stage each, scoring every row as it finishes), then the
 * consensus threshold on the training rows' consensus scores. Returns an immutable
 * `TrainedPipeline`; `config` is not changed (the automatic attention stride goes into the
 * pipeline's own copy).
 */
export async function fitPipeline(run: Run, table: FeatureTable, options: FitOptions): Promise<FitResult> {
  const { ranges, preprocessor, scaled } = await run.stage('preprocess', () => {
    const ranges = chronologicalSplit(table.matrix.rows, options.config.split);
    const preprocessor = Preprocessor.fit(
      rowsOf(table.matrix, 0, ranges.train.end),
      table.names,
      options.config.preprocess,
    );
    return { ranges, preprocessor, scaled: preprocessor.transform(table.matrix) };
  });
  const trainRows = rowsOf(scaled, ranges.train.start, ranges.train.end);
  const validationRows = rowsOf(scaled, ranges.validation.start, ranges.validation.end);
  const config = withAutomaticSettings(options.config, trainRows.rows);
  const splits = splitLabels(ranges, table.matrix.rows);
  const fitted: FittedDetector[] = [];
  const scores: DetectorScores[] = [];
  const missingDetectors: DetectorName[] = [];
  const finished = new Map<DetectorName, { fitted: FittedDetector; scores: DetectorScores }>();
  const inThread = threadedDetector(config, options, trainRows.rows);
  // Stops the thread's training when a detector fitting here fails.
  const stopThread = new AbortController();
  const threadSignal = run.signal ? AbortSignal.any([run.signal, stopThread.signal]) : stopThread.signal;
  const fitOne = async (name: DetectorName): Promise<void> => {
    if (!config.detectors.includes(name)) {
      run.skip(STAGE_OF[name], `${name} is not in config.detectors`);
      return;
    }
    run.throwIfAborted();
    if (run.keepingFinished) {
      missingDetectors.push(name);
      run.skip(STAGE_OF[name], 'stopped before it trained; keeping the detectors that finished');
      return;
    }
    try {
      if (name !== 'isolation-forest' && !run.backend) await run.ensureBackend(options.backend);
      await run.stage(STAGE_OF[name], async () => {
        let result: DetectorScores;
        let detector: FittedDetector['detector'];
        if (name === inThread) {
          const thread = await fitInThread(
            {
              name: inThread,
              config,
              scaled,
              train: ranges.train,
              validation: ranges.validation,
              backend: preferenceOf(run.backend!),
            },
            { onEvent: (event) => run.emit(event), signal: threadSignal },
          );
          detector = thread.detector;
          result = detectorScores(detector, thread.scores, thread.contributions);
        } else {
          detector = createDetector(name, config);
          try {
            await detector.fit(trainRows, {
              validation: validationRows,
              onEvent: (event) => run.emit(event),
              ...(run.signal ? { signal: run.signal } : {}),
            });
          } catch (error) {
            detector.dispose();
            throw error;
          }
          result = await scoreWithDetector(detector, scaled);
        }
        finished.set(name, {
          fitted: {
            detector,
            distribution: scoreDistribution(result.scores.subarray(ranges.train.start, ranges.train.end)),
          },
          scores: result,
        });
        run.emit(scoredEvent(table, splits, result, config.topFeatures));
        run.hasFinishedWork = true;
      });
    } catch (error) {
      // Stopped mid-training: the detectors that finished are kept when the run asks for it.
      run.throwIfAborted();
      if (!run.keepingFinished) throw error;
      missingDetectors.push(name);
    }
  };
  try {
    let threadFailure: { error: unknown } | undefined;
    let threadDone: Promise<void> | undefined;
    if (inThread) {
      // Chosen before the thread starts, so the thread gets the same backend and starts at once.
      await run.ensureBackend(options.backend);
      // Settled here so that its rejection is never unhandled while the others fit.
      threadDone = fitOne(inThread).catch((error: unknown) => {
        threadFailure = { error };
      });
    }
    try {
      for (const name of DETECTOR_NAMES) if (name !== inThread) await fitOne(name);
    } catch (error) {
      stopThread.abort(error);
      await threadDone;
      throw error;
    }
    await threadDone;
    if (threadFailure) throw threadFailure.error;
    // In the detectors' order, whichever finished first.
    missingDetectors.sort((a, b) => DETECTOR_NAMES.indexOf(a) - DETECTOR_NAMES.indexOf(b));
    for (const name of DETECTOR_NAMES) {
      const done = finished.get(name);
      if (done) {
        fitted.push(done.fitted);
        scores.push(done.scores);
      }
    }
    const { consensusThreshold, consensus } = await run.stage('consensus', () => {
      const consensusScores = consensusScoresOf(fitted, scores);
      const consensusThreshold = fitConsensusThreshold(
        consensusScores.subarray(ranges.train.start, ranges.train.end),
        config.threshold,
      );
      return { consensusThreshold, consensus: consensusOf(fitted, scores, consensusThreshold) };
    });
    run.emit(scoredEvent(table, splits, consensus, config.topFeatures));
    const pipeline = new TrainedPipeline({
      config,
      preprocessor,
      detectors: fitted,
      consensusThreshold,
      trainedOn: {
        symbol: options.symbol,
        interval: options.interval,
        source: options.source,
        from: table.times[0]!,
        to: table.times[table.times.length - 1]!,
        rows: {
          train: ranges.train.end - ranges.train.start,
          validation: ranges.validation.end - ranges.validation.start,
          test: ranges.test.end - ranges.test.start,
        },
        validationFrom: table.times[ranges.validation.start]!,
        testFrom: ranges.test.end > ranges.test.start ? table.times[ranges.test.start]! : null,
      },
      ...(run.backend ? { backend: run.backend.name } : {}),
    });
    return { pipeline, ranges, scored: { scaled, detectors: scores, consensus }, missingDetectors };
  } catch (error) {
    for (const { fitted } of finished.values()) fitted.detector.dispose();
    throw error;
  }
}

/**
 * Training rows from which the attention autoencoder gets its own thread by default: below, its
 * fit is short and starting a thread with TensorFlow.js in it (about 1.5 s CPU) does not pay.
 */
const THREAD_FROM_TRAINING_ROWS = 2000;

/** The detector fitted in a worker thread, if any: the attention autoencoder, on two cores or more. */
function threadedDetector(
  config: PipelineConfig,
  options: FitOptions,
  trainRows: number,
): 'attention' | undefined {
  const others = config.detectors.filter((name) => name !== 'attention').length;
  const threads = options.threads ?? (availableParallelism() > 1 && trainRows >= THREAD_FROM_TRAINING_ROWS);
  return threads && others > 0 && config.detectors.includes('attention') ? 'attention' : undefined;
}

/** A detector's flags and top rows, for a UI to show as soon as it has scored (fit and detect). */
export function scoredEvent(
  table: FeatureTable,
  splits: readonly SplitName[],
  scored: DetectorScores,
  topFeatures: number,
): PipelineEvent {
  const threshold = scored.threshold.value;
  const history = {
    times: table.times,
    close: table.close,
    splits,
    scores: scored.scores,
    threshold,
    flags: scored.flags,
    contributions: scored.contributions,
    featureNames: table.names,
    topFeatures,
  };
  return {
    type: 'scored',
    detector: scored.name,
    rows: scored.scores.length,
    threshold,
    flagged: countFlags(scored.flags, splits),
    topAnomalies: topAnomalyRows(history, TOP_ANOMALIES),
  };
}

/** The config the detectors are built from: settings left automatic resolved for this table. */
function withAutomaticSettings(config: PipelineConfig, trainRows: number): PipelineConfig {
  if (!config.detectors.includes('attention') || config.attention['trainingStride'] !== undefined) {
    return config;
  }
  return {
    ...config,
    attention: {
      ...config.attention,
      trainingStride: automaticTrainingStride(trainRows, config.attention['windowSize']),
    },
  };
}
