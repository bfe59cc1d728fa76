import { join } from 'node:path';
import type { Kline } from '@crypto-anomaly/data';
import type {
  BackendPreference,
  DetectorName,
  FeatureTable,
  FittedThreshold,
  Matrix,
  PipelineConfig,
  StageName,
  TrainedOn,
} from '../api.js';
import { useBackend } from '../backend.js';
import { loadDetector, type PipelineDetector } from '../detectors/registry.js';
import { CoreError } from '../errors.js';
import { computeFeatures } from '../features.js';
import { createMatrix, sliceRows } from '../matrix.js';
import { detectorFolder, isMissingFile, MANIFEST_FILE, modelInvalid, RETRAIN_HINT } from '../model-files.js';
import {
  modelMismatchWarnings,
  PIPELINE_FORMAT,
  PIPELINE_FORMAT_VERSION,
  type PipelineManifest,
  readManifest,
} from '../model-manifest.js';
import { writeJsonAtomic } from '../outputs/atomic-write.js';
import { FolderSet, newRunId } from '../outputs/owned-folder.js';
import { Preprocessor } from '../preprocess.js';
import { consensusScores, type ScoreDistribution } from '../ranking.js';
import { assertKnownKeys, keysOf } from '../validate.js';
import { CORE_VERSION } from '../version.js';

const MANIFEST = MANIFEST_FILE;

/** One detector's (or the consensus') scores over a feature table. */
export interface DetectorScores {
  name: DetectorName | 'consensus';
  scores: Float64Array;
  threshold: FittedThreshold;
  flags: Uint8Array;
  /** rows × features; larger = contributed more (NaN where the detector could not score). */
  contributions: Matrix;
}

/** Everything scoring a feature table gives. */
export interface ScoredTable {
  /** The preprocessed rows the detectors saw. */
  scaled: Matrix;
  detectors: DetectorScores[];
  consensus: DetectorScores;
}

/** The rows from `start` on of scores (views, no copy): what detect keeps of rows scored for context. */
export function scoredFrom(scored: ScoredTable, start: number): ScoredTable {
  const from = (scores: DetectorScores): DetectorScores => ({
    ...scores,
    scores: scores.scores.subarray(start),
    flags: scores.flags.subarray(start),
    contributions: sliceRows(scores.contributions, start, scores.contributions.rows),
  });
  return {
    scaled: sliceRows(scored.scaled, start, scored.scaled.rows),
    detectors: scored.detectors.map(from),
    consensus: from(scored.consensus),
  };
}

/** A fitted detector with its place in the consensus. */
export interface FittedDetector {
  readonly detector: PipelineDetector;
  /** Its training scores' distribution, against which the consensus rank-normalises. */
  readonly distribution: ScoreDistribution;
}

/**
 * What a pipeline fitted on a table of numbers (not on candles) was trained on: there is no
 * symbol, interval or time, only the rows (`fitTablePipeline`).
 */
export interface TableTrainedOn {
  kind: 'table';
  /** Where the rows came from, for people (a file's path). */
  source: string;
  /** Rows the column statistics were gathered over. */
  rowsRead: number;
  /** The rows fitted on: every row, the first ones (in order) or a uniform sample. */
  sample: 'all' | 'first' | 'uniform';
  rows: { train: number; validation: number };
}

/** What a trained pipeline is made of (`fitPipeline` builds it; `load` reads it back). */
export interface TrainedPipelineParts<On extends TrainedOn | TableTrainedOn = TrainedOn> {
  config: PipelineConfig;
  preprocessor: Preprocessor;
  detectors: readonly FittedDetector[];
  consensusThreshold: FittedThreshold;
  /** Candles of a symbol (`TrainedOn`), or a table of numbers (`TableTrainedOn`). */
  trainedOn: On;
  /** The TensorFlow.js backend it was trained on, when an autoencoder is in it. */
  backend?: string;
}

/**
 * Runs one step of scoring under a caller's wrapper (a pipeline reports each as a stage); the
 * default runs it as is.
 */
export type StageWrapper = <T>(stage: StageName, work: () => Promise<T> | T) => Promise<T>;

export interface ScoreOptions {
  signal?: AbortSignal;
  /**
   * False skips the per-feature contributions (they cost the forest a scoring pass per feature):
   * each `contributions` is then an empty rows × 0 matrix. Default true.
   */
  contributions?: boolean;
  /** Wraps the preprocessing, each detector and the consensus (for stage events and timings). */
  stage?: StageWrapper;
}

const SCORE_KEYS = keysOf<ScoreOptions>({ signal: true, contributions: true, stage: true });

const runDirectly: StageWrapper = async (_stage, work) => work();

/**
 * A trained pipeline: the feature set, the preprocessor fitted on the training rows, the fitted
 * detectors and the consensus threshold, fixed once fitted. It is the one way rows get scored:
 * a whole table (`score`), a series of candles (`scoreKlines`) or rows already preprocessed
 * (`scoreScaled`, what a chunked reader of a long file calls, carrying `contextRows` rows over).
 * Saves to / loads from a folder (`pipeline.json` plus one sub-folder per detector).
 */
export class TrainedPipeline<On extends TrainedOn | TableTrainedOn = TrainedOn> {
  readonly config: PipelineConfig;
  readonly preprocessor: Preprocessor;
  readonly detectors: readonly FittedDetector[];
  readonly consensusThreshold: FittedThreshold;
  readonly trainedOn: On;
  readonly backend: string | undefined;

  constructor(parts: TrainedPipelineParts<On>) {
    if (parts.detectors.length === 0) {
      throw new CoreError('NOT_FITTED', 'A trained pipeline needs at least one fitted detector.');
    }
    this.config = parts.config;
    this.preprocessor = parts.preprocessor;
    this.detectors = Object.freeze([...parts.detectors]);
    this.consensusThreshold = parts.consensusThreshold;
    this.trainedOn = parts.trainedOn;
    this.backend = parts.backend;
  }

  get featureNames(): readonly string[] {
    return this.preprocessor.names;
  }

  /** Rows before a row that scoring it reads (the attention window less one; 0 without attention). */
  get contextRows(): number {
    return Math.max(0, ...this.detectors.map(({ detector }) => detector.contextRows));
  }

  /** Preprocesses and scores rows of this pipeline's features (a table pipeline's: its columns). */
  async score(
    table: { readonly names: readonly string[]; readonly matrix: Matrix },
    options: ScoreOptions = {},
  ): Promise<ScoredTable> {
    assertKnownKeys('score options', options, SCORE_KEYS);
    assertSameFeatures(table.names, this.featureNames, 'the candles to score');
    const stage = options.stage ?? runDirectly;
    const scaled = await stage('preprocess', () => this.preprocessor.transform(table.matrix));
    return this.scoreScaled(scaled, options);
  }

  /** Scores rows already preprocessed by this pipeline's preprocessor. */
  async scoreScaled(scaled: Matrix, options: ScoreOptions = {}): Promise<ScoredTable> {
    assertKnownKeys('scoreScaled options', options, SCORE_KEYS);
    const stage = options.stage ?? runDirectly;
    const detectors: DetectorScores[] = [];
    for (const { detector } of this.detectors) {
      options.signal?.throwIfAborted();
      detectors.push(await stage(detector.name, () => scoreWithDetector(detector, scaled, options)));
    }
    options.signal?.throwIfAborted();
    const consensus = await stage('consensus', () =>
      consensusOf(this.detectors, detectors, this.consensusThreshold),
    );
    return { scaled, detectors, consensus };
  }

  /**
   * Computes the features of `klines` with the model's windows and scores them: the features
   * (warm-up dropped) with every detector's and the consensus' scores, flags and contributions.
   */
  async scoreKlines(
    klines: readonly Kline[],
    options: ScoreOptions = {},
  ): Promise<ScoredTable & { table: FeatureTable }> {
    assertKnownKeys('scoreKlines options', options, SCORE_KEYS);
    const stage = options.stage ?? runDirectly;
    const table = await stage('features', () => computeFeatures(klines, this.config.features));
    return { table, ...(await this.score(table, options)) };
  }

  /** Scores one detector (for pipelines that report a stage per detector). */
  async scoreDetector(name: DetectorName, scaled: Matrix): Promise<DetectorScores> {
    const fitted = this.detectors.find((d) => d.detector.name === name);
    if (!fitted) throw new CoreError('INVALID_ARGUMENT', `This pipeline has no ${name} detector.`);
    return scoreWithDetector(fitted.detector, scaled);
  }

  /**
   * Saves into `dir` atomically, and only over what this program wrote: everything is written to
   * a temporary sibling folder that one rename swaps in, so an abort or crash never leaves a
   * half-saved model. `dir` must be absent, empty, or a model saved before (else
   * `TARGET_NOT_OURS`, before anything is written). `runId` ties the model to a run's outputs;
   * `partial` marks a model saved after a stop, with only the detectors that finished.
   */
  async save(dir: string, options: { runId?: string; partial?: boolean } = {}): Promise<void> {
    assertKnownKeys('save options', options, ['runId', 'partial']);
    const trainedOn: TrainedOn | TableTrainedOn = this.trainedOn;
    if ('kind' in trainedOn) {
      // A model folder describes candle features; `load` could not read a table's pipeline back.
      throw new CoreError(
        'INVALID_ARGUMENT',
        'A pipeline fitted on a table cannot be saved: only pipelines trained on candles can.',
      );
    }
    const set = await FolderSet.open(dir, 'model', options.runId ?? newRunId());
    try {
      const manifest: PipelineManifest = {
        format: PIPELINE_FORMAT,
        formatVersion: PIPELINE_FORMAT_VERSION,
        coreVersion: CORE_VERSION,
        createdAt: new Date().toISOString(),
        featureSet: { names: [...this.featureNames], options: this.config.features },
        config: this.config,
        preprocessor: this.preprocessor.toJSON(),
        detectors: this.detectors.map(({ detector, distribution }) => ({
          name: detector.name,
          folder: detector.name,
          threshold: detector.threshold!,
          distribution,
        })),
        consensus: { threshold: this.consensusThreshold },
        trainedOn,
        ...(this.backend ? { backend: this.backend } : {}),
      };
      for (const { detector } of this.detectors) await detector.save(set.stagingPath(detector.name));
      await writeJsonAtomic(set.stagingPath(MANIFEST), manifest);
    } catch (error) {
      await set.discard();
      if (error instanceof CoreError) throw error;
      throw new CoreError('IO', `Could not save the pipeline to ${set.target}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    await set.commit({ partial: options.partial ?? false });
  }

  /**
   * Loads a folder written by `save`, reading nothing outside it. Throws `MODEL_INVALID` naming the
   * file and key when a file is missing, malformed or damaged (a truncated weights.bin, a "NaN"
   * threshold, a detector folder outside the model folder), `MODEL_MISMATCH` with what to do when
   * it was saved by an incompatible version or for another feature set, `IO` when there is no
   * saved pipeline. An autoencoder loads into the TensorFlow.js backend `options.backend`, else the
   * one in use, else `auto`.
   */
  static async load(dir: string, options: { backend?: BackendPreference } = {}): Promise<TrainedPipeline> {
    assertKnownKeys('load options', options, ['backend']);
    const manifest = await readManifest(dir);
    // An autoencoder loads into the backend in use (`auto` if none): a caller's choice goes first.
    if (options.backend !== undefined) await useBackend(options.backend);
    const preprocessor = Preprocessor.fromJSON(manifest.preprocessor);
    const featureCount = manifest.featureSet.names.length;
    const detectors: FittedDetector[] = [];
    try {
      for (const [index, saved] of manifest.detectors.entries()) {
        const folder = await detectorFolder(dir, saved.folder, index);
        const detector = await loadDetector(saved.name, folder, featureCount).catch((error: unknown) => {
          if (!isMissingFile(error)) throw error;
          throw new CoreError('MODEL_INVALID', `${(error as Error).message} ${RETRAIN_HINT}`, {
            cause: error,
          });
        });
        detectors.push({ detector, distribution: saved.distribution });
        // The manifest and the detector's own file each hold the threshold: they must agree.
        if (detector.threshold?.value !== saved.threshold.value) {
          throw modelInvalid(
            join(dir, MANIFEST),
            `detectors[${index}].threshold.value is ${saved.threshold.value}, but ${join(folder, 'detector.json')} ` +
              `says ${detector.threshold?.value}: the folder mixes two models`,
          );
        }
      }
    } catch (error) {
      for (const { detector } of detectors) detector.dispose();
      throw error;
    }
    return new TrainedPipeline({
      config: manifest.config,
      preprocessor,
      detectors,
      consensusThreshold: manifest.consensus.threshold,
      trainedOn: manifest.trainedOn,
      ...(manifest.backend ? { backend: manifest.backend } : {}),
    });
  }

  /**
   * Warnings (one human line each) when a model is used on another symbol or interval than it was
   * trained on; empty when they match. Takes a `TrainedPipeline` or its manifest (`readManifest`).
   */
  static mismatchWarnings(
    model: { trainedOn: Pick<TrainedOn, 'symbol' | 'interval'> },
    use: { symbol?: string; interval?: string },
  ): string[] {
    return modelMismatchWarnings(model, use);
  }

  /** Frees the autoencoders' tensors. */
  dispose(): void {
    for (const { detector } of this.detectors) detector.dispose();
  }
}

function assertSameFeatures(actual: readonly string[], expected: readonly string[], what: string): void {
  if (actual.length !== expected.length || actual.some((name, i) => name !== expected[i])) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${what} uses the features [${actual.join(', ')}], but this version computes [${expected.join(', ')}]. ` +
        'Retrain the model with this version (trainPipeline or runPipeline) so the feature sets match.',
    );
  }
}

/** One detector's scores, flags and contributions over preprocessed rows: the one scoring step. */
export async function scoreWithDetector(
  detector: PipelineDetector,
  scaled: Matrix,
  options: Pick<ScoreOptions, 'contributions'> = {},
): Promise<DetectorScores> {
  if (!detector.threshold) throw new CoreError('NOT_FITTED', `The ${detector.name} detector is not fitted.`);
  const withContributions = options.contributions !== false;
  // One pass where the detector can (the autoencoders' scores are their contributions' means).
  const both =
    withContributions && detector.scoresWithContributions
      ? await detector.scoresWithContributions(scaled)
      : undefined;
  const scores = both?.scores ?? (await detector.decisionFunction(scaled));
  return detectorScores(
    detector,
    scores,
    both?.contributions ??
      (withContributions ? await detector.featureContributions(scaled) : createMatrix(scaled.rows, 0)),
  );
}

/** A fitted detector's scores and contributions with its threshold and the flags against it. */
export function detectorScores(
  detector: PipelineDetector,
  scores: Float64Array,
  contributions: Matrix,
): DetectorScores {
  const threshold = detector.threshold;
  if (!threshold) throw new CoreError('NOT_FITTED', `The ${detector.name} detector is not fitted.`);
  return {
    name: detector.name,
    scores,
    threshold,
    flags: Uint8Array.from(scores, (s) => (s > threshold.value ? 1 : 0)),
    contributions,
  };
}

/**
 * The consensus of detectors' scores: each score's percentile among that detector's training
 * scores, averaged; flagged above `threshold`. `fitted` gives each detector's distribution.
 */
export function consensusOf(
  fitted: readonly FittedDetector[],
  scored: readonly DetectorScores[],
  threshold: FittedThreshold,
): DetectorScores {
  const scores = consensusScoresOf(fitted, scored);
  return {
    name: 'consensus',
    scores,
    threshold,
    flags: Uint8Array.from(scores, (s) => (s > threshold.value ? 1 : 0)),
    contributions: meanShares(scored.map((d) => d.contributions)),
  };
}

/** The consensus scores alone (what its threshold is fitted on). */
export function consensusScoresOf(
  fitted: readonly FittedDetector[],
  scored: readonly DetectorScores[],
): Float64Array {
  return consensusScores(
    scored.map((s) => {
      const entry = fitted.find((d) => d.detector.name === s.name);
      if (!entry)
        throw new CoreError('INVALID_ARGUMENT', `No fitted ${s.name} detector to rank its scores by.`);
      return { scores: s.scores, distribution: entry.distribution };
    }),
  );
}

/**
 * The consensus' feature contributions: each detector's row normalised to shares summing to 1,
 * then averaged over the detectors that scored the row.
 */
function meanShares(matrices: readonly Matrix[]): Matrix {
  const first = matrices[0]!;
  const out = createMatrix(first.rows, first.cols);
  const counts = new Float64Array(first.rows);
  for (const m of matrices) {
    for (let r = 0; r < m.rows; r++) {
      let total = 0;
      for (let c = 0; c < m.cols; c++) {
        const v = m.data[r * m.cols + c]!;
        if (Number.isFinite(v) && v > 0) total += v;
      }
      if (!(total > 0)) continue;
      counts[r]!++;
      for (let c = 0; c < m.cols; c++) {
        const v = m.data[r * m.cols + c]!;
        if (Number.isFinite(v) && v > 0) out.data[r * m.cols + c]! += v / total;
      }
    }
  }
  for (let r = 0; r < out.rows; r++) {
    for (let c = 0; c < out.cols; c++) {
      out.data[r * out.cols + c] = counts[r]! > 0 ? out.data[r * out.cols + c]! / counts[r]! : Number.NaN;
    }
  }
  return out;
}
