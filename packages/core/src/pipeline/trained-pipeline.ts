import { join } from 'node:path';
import type { Kline } from '@crypto-anomaly/data';
import * as tf from '@tensorflow/tfjs';
import type { DetectorName, FeatureTable, FittedThreshold, Matrix, PipelineConfig } from './api.js';
import { type BackendPreference, selectBackend } from './backend.js';
import { loadDetector, type PipelineDetector } from './detectors/registry.js';
import { CoreError } from './errors.js';
import { computeFeatures } from './features.js';
import { writeJsonAtomic } from './io.js';
import { createMatrix } from './matrix.js';
import {
  detectorFolder,
  isMissingFile,
  MANIFEST_FILE,
  modelInvalid,
  modelMismatchWarnings,
  PIPELINE_FORMAT,
  PIPELINE_FORMAT_VERSION,
  type PipelineManifest,
  RETRAIN_HINT,
  readManifest,
  type TrainedOn,
} from './model-manifest.js';
import { FolderSet, newRunId } from './owned-folder.js';
import { Preprocessor } from './preprocess.js';
import { consensusScores, type ScoreDistribution } from './ranking.js';
import { CORE_VERSION } from './version.js';

export type { PipelineManifest, TrainedOn } from './model-manifest.js';
export { PIPELINE_FORMAT, PIPELINE_FORMAT_VERSION, readManifest } from './model-manifest.js';

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

/** A fitted detector with its place in the consensus. */
export interface FittedDetector {
  detector: PipelineDetector;
  /** Its training scores' distribution, against which the consensus rank-normalises. */
  distribution: ScoreDistribution;
}

/**
 * A trained pipeline: the feature set, the preprocessor fitted on the training rows, the fitted
 * detectors and the consensus threshold. Scores new candles the same way, and saves to / loads from
 * a folder (`pipeline.json` plus one sub-folder per detector).
 */
export class TrainedPipeline {
  constructor(
    readonly config: PipelineConfig,
    readonly preprocessor: Preprocessor,
    readonly detectors: FittedDetector[],
    public consensusThreshold: FittedThreshold | undefined,
    readonly trainedOn: TrainedOn,
    readonly backend?: string,
  ) {}

  get featureNames(): readonly string[] {
    return this.preprocessor.names;
  }

  /** Preprocesses and scores a feature table with every detector; the consensus if its threshold is set. */
  async score(table: FeatureTable, options: { signal?: AbortSignal } = {}): Promise<ScoredTable> {
    assertSameFeatures(table.names, this.featureNames, 'the candles to score');
    const scaled = this.preprocessor.transform(table.matrix);
    const detectors: DetectorScores[] = [];
    for (const { detector } of this.detectors) {
      options.signal?.throwIfAborted();
      detectors.push(await scoreWith(detector, scaled));
    }
    return { scaled, detectors, consensus: this.consensusOf(detectors) };
  }

  /**
   * Computes the features of `klines` with the model's windows and scores them: the features
   * (warm-up dropped) with every detector's and the consensus' scores, flags and contributions.
   */
  async scoreKlines(
    klines: readonly Kline[],
    options: { signal?: AbortSignal } = {},
  ): Promise<ScoredTable & { table: FeatureTable }> {
    const table = computeFeatures(klines, this.config.features);
    return { table, ...(await this.score(table, options)) };
  }

  /** Scores one detector (for pipelines that report a stage per detector). */
  async scoreDetector(name: DetectorName, scaled: Matrix): Promise<DetectorScores> {
    const fitted = this.detectors.find((d) => d.detector.name === name);
    if (!fitted) throw new CoreError('INVALID_ARGUMENT', `This pipeline has no ${name} detector.`);
    return scoreWith(fitted.detector, scaled);
  }

  /** The consensus scores: mean of rank-normalised scores; flags against the consensus threshold. */
  consensusScores(detectors: readonly DetectorScores[]): Float64Array {
    return consensusScores(
      detectors.map((scored) => ({
        scores: scored.scores,
        distribution: this.detectors.find((d) => d.detector.name === scored.name)!.distribution,
      })),
    );
  }

  consensusOf(detectors: readonly DetectorScores[]): DetectorScores {
    const threshold = this.consensusThreshold;
    if (!threshold) throw new CoreError('NOT_FITTED', 'The consensus threshold is not fitted yet.');
    const scores = this.consensusScores(detectors);
    return {
      name: 'consensus',
      scores,
      threshold,
      flags: Uint8Array.from(scores, (s) => (s > threshold.value ? 1 : 0)),
      contributions: meanShares(detectors.map((d) => d.contributions)),
    };
  }

  /**
   * Saves into `dir` atomically, and only over what this program wrote: everything is written to
   * a temporary sibling folder that one rename swaps in, so an abort or crash never leaves a
   * half-saved model. `dir` must be absent, empty, or a model saved before (else
   * `TARGET_NOT_OURS`, before anything is written). `runId` ties the model to a run's outputs;
   * `partial` marks a model saved after a stop, with only the detectors that finished.
   */
  async save(dir: string, options: { runId?: string; partial?: boolean } = {}): Promise<void> {
    if (!this.consensusThreshold)
      throw new CoreError('NOT_FITTED', 'Cannot save a pipeline before it is fitted.');
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
        trainedOn: this.trainedOn,
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
   * saved pipeline. Selects the TensorFlow.js backend (`options.backend`, else `auto` if none is in
   * use yet).
   */
  static async load(dir: string, options: { backend?: BackendPreference } = {}): Promise<TrainedPipeline> {
    const manifest = await readManifest(dir);
    // A TensorFlow.js model loads into the current backend: choose one first unless the caller did.
    const needsTensorFlow = manifest.detectors.some(({ name }) => name !== 'isolation-forest');
    if (needsTensorFlow && (options.backend !== undefined || !tf.engine().backendName)) {
      await selectBackend(options.backend ?? 'auto');
    }
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
      for (const { detector } of detectors) detector.dispose?.();
      throw error;
    }
    return new TrainedPipeline(
      manifest.config,
      preprocessor,
      detectors,
      manifest.consensus.threshold,
      manifest.trainedOn,
      manifest.backend,
    );
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
    for (const { detector } of this.detectors) detector.dispose?.();
  }
}

function assertSameFeatures(actual: readonly string[], expected: readonly string[], what: string): void {
  if (actual.length !== expected.length || actual.some((name, i) => name !== expected[i])) {
    throw new CoreError(
      'MODEL_MISMATCH',
      `${what} uses the features [${actual.join(', ')}], but this version computes [${expected.join(', ')}]. ` +
        'Retrain the model with this version (crypto-anomaly train) so the feature sets match.',
    );
  }
}

async function scoreWith(detector: PipelineDetector, scaled: Matrix): Promise<DetectorScores> {
  const threshold = detector.threshold;
  if (!threshold) throw new CoreError('NOT_FITTED', `The ${detector.name} detector is not fitted.`);
  const scores = await detector.decisionFunction(scaled);
  return {
    name: detector.name,
    scores,
    threshold,
    flags: Uint8Array.from(scores, (s) => (s > threshold.value ? 1 : 0)),
    contributions: await detector.featureContributions(scaled),
  };
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
