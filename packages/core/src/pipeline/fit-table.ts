import { SeededRandom } from '@crypto-anomaly/data';
import type { BackendPreference } from '../api.js';
import {
  DETECTOR_NAMES,
  type DetectorName,
  type FittedThreshold,
  type Matrix,
  type PipelineConfig,
  type PipelineConfigInput,
  type PipelineEventListener,
  type TrainedOn,
} from '../api.js';
import { useBackend } from '../backend.js';
import { resolvePipelineConfig } from '../config.js';
import { createDetector } from '../detectors/registry.js';
import { CoreError } from '../errors.js';
import { Preprocessor } from '../preprocess.js';
import { consensusScores, scoreDistribution } from '../ranking.js';
import { fitConsensusThreshold } from '../thresholds.js';
import { assertInteger, assertKnownKeys, keysOf } from '../validate.js';
import {
  type DetectorScores,
  type FittedDetector,
  type TableTrainedOn,
  TrainedPipeline,
} from './trained-pipeline.js';

/** Most rows a `TableSample` keeps to fit on, unless told otherwise. */
export const DEFAULT_TABLE_SAMPLE_ROWS = 50_000;

/** Share of the sample the autoencoders hold out for early stopping (at least one row). */
const VALIDATION_SHARE = 0.15;

export interface TableSampleOptions {
  /** The detectors the sample is for: with attention, it is the first rows in order. */
  detectors: readonly DetectorName[];
  /** Most rows kept to fit on. Default 50,000. */
  sampleRows?: number;
  /** Seed of the uniform sample. Default 0. */
  seed?: number;
}

const TABLE_SAMPLE_KEYS = keysOf<TableSampleOptions>({ detectors: true, sampleRows: true, seed: true });

/**
 * A table too long to hold, seen once chunk by chunk: the mean and standard deviation of every
 * column over every row (Welford's update) and the rows to fit on. The sample is uniform
 * (reservoir sampling, Algorithm R), except when the attention autoencoder is among the detectors:
 * it reads windows of consecutive rows, so the sample is then the first rows, in order.
 */
export class TableSample {
  readonly names: readonly string[];
  readonly detectors: readonly DetectorName[];
  /** Rows kept at most. */
  readonly capacity: number;
  /** True when the sample is the first rows in order rather than a uniform one. */
  readonly ordered: boolean;
  #rowsRead = 0;
  readonly #mean: Float64Array;
  readonly #m2: Float64Array;
  readonly #sample: Float64Array;
  readonly #random: SeededRandom;

  constructor(names: readonly string[], options: TableSampleOptions) {
    assertKnownKeys('TableSample options', options, TABLE_SAMPLE_KEYS);
    if (names.length === 0) throw new CoreError('INVALID_ARGUMENT', 'A table needs at least one column.');
    if (options.detectors.length === 0) {
      throw new CoreError('INVALID_ARGUMENT', 'detectors must name at least one detector.');
    }
    for (const name of options.detectors) {
      if (!DETECTOR_NAMES.includes(name)) {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `detectors names "${name}", which is not one of ${DETECTOR_NAMES.join(', ')}.`,
        );
      }
    }
    this.capacity = options.sampleRows ?? DEFAULT_TABLE_SAMPLE_ROWS;
    assertInteger('sampleRows', this.capacity, 2, 2 ** 31 - 1);
    this.names = Object.freeze([...names]);
    this.detectors = Object.freeze([...new Set(options.detectors)]);
    this.ordered = this.detectors.includes('attention');
    this.#mean = new Float64Array(names.length);
    this.#m2 = new Float64Array(names.length);
    this.#sample = new Float64Array(this.capacity * names.length);
    this.#random = new SeededRandom(options.seed ?? 0);
  }

  /** Rows added so far. */
  get rowsRead(): number {
    return this.#rowsRead;
  }

  /** Rows in the sample so far. */
  get sampleRows(): number {
    return Math.min(this.#rowsRead, this.capacity);
  }

  /** Adds the next rows of the table, in order (raw values, one column per name). */
  add(chunk: Matrix): void {
    const cols = this.names.length;
    if (chunk.cols !== cols || chunk.data.length !== chunk.rows * cols) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `The chunk has ${chunk.cols} columns (${chunk.data.length} values for ${chunk.rows} rows); ` +
          `the table has ${cols}: ${this.names.join(', ')}.`,
      );
    }
    const values = chunk.data;
    for (let r = 0; r < chunk.rows; r++) {
      const n = ++this.#rowsRead;
      for (let c = 0; c < cols; c++) {
        const x = values[r * cols + c]!;
        const delta = x - this.#mean[c]!;
        this.#mean[c]! += delta / n;
        this.#m2[c]! += delta * (x - this.#mean[c]!);
      }
      const seen = n - 1;
      // Algorithm R: every row ends up in the sample with the same probability.
      const slot =
        seen < this.capacity
          ? seen
          : this.ordered
            ? this.capacity
            : Math.floor(this.#random.next() * (seen + 1));
      if (slot < this.capacity) this.#sample.set(values.subarray(r * cols, (r + 1) * cols), slot * cols);
    }
  }

  /** The sampled rows, raw. */
  sample(): Matrix {
    const cols = this.names.length;
    return { data: this.#sample.slice(0, this.sampleRows * cols), rows: this.sampleRows, cols };
  }

  /** Standard scaling by every row's mean and standard deviation so far. */
  preprocessor(): Preprocessor {
    const n = this.#rowsRead;
    if (n < 2) {
      throw new CoreError('TOO_FEW_ROWS', `The table has ${n} row(s); at least 2 are needed to scale it.`);
    }
    // A constant column scales by 1: it then contributes nothing instead of dividing by zero.
    const scale = Array.from(this.#m2, (m2) => {
      const sd = Math.sqrt(m2 / (n - 1));
      return sd > 0 ? sd : 1;
    });
    return Preprocessor.standard(this.names, this.#mean, scale);
  }
}

/** How a table pipeline is fitted, beyond its sample. */
export interface FitTableOptions {
  /**
   * The threshold and the detectors' sections, as in a pipeline config; the detectors are the
   * sample's. A section's own `seed` and `threshold` win over the pipeline's. An autoencoder
   * without `hiddenLayers`, or an attention autoencoder without `latentDim`, gets a bottleneck
   * of half the columns (their defaults suit the 11 candle features; a network as wide as its
   * input learns the identity and reconstructs outliers too).
   */
  config?: Omit<PipelineConfigInput, 'detectors' | 'features' | 'split' | 'preprocess'>;
  /** The seed of every detector that sets none. Default 0. */
  seed?: number;
  /** Most epochs of the autoencoders that set none. */
  epochs?: number;
  /** TensorFlow.js backend for the autoencoders. Default: the one in use, else `auto`. */
  backend?: BackendPreference;
  /** Where the rows came from, for people (saved as `trainedOn.source`). */
  source?: string;
  onEvent?: PipelineEventListener;
  /** Aborting stops at the next batch or detector, throwing the signal's reason. */
  signal?: AbortSignal;
}

const FIT_TABLE_KEYS = keysOf<FitTableOptions>({
  config: true,
  seed: true,
  epochs: true,
  backend: true,
  source: true,
  onEvent: true,
  signal: true,
});
const FIT_TABLE_CONFIG_KEYS = keysOf<NonNullable<FitTableOptions['config']>>({
  threshold: true,
  isolationForest: true,
  autoencoder: true,
  attention: true,
  topFeatures: true,
});

/**
 * Fits a pipeline on a table of numbers: the preprocessor is the standard scaling of every row
 * read; each detector is fitted on the scaled sample (the forest on all of it, the autoencoders on
 * all but its last 15%, which they validate on), reporting a stage each; the consensus ranks each
 * detector's scores among its scores on the sample, with a threshold fitted on the sample's
 * consensus. Score the table with `TableScorer`.
 */
export async function fitTablePipeline(
  table: TableSample,
  options: FitTableOptions = {},
): Promise<TrainedPipeline<TableTrainedOn>> {
  assertKnownKeys('fitTablePipeline options', options, FIT_TABLE_KEYS);
  // The table's own detectors, split and scaling are used; the rest of a pipeline config is not.
  assertKnownKeys('fitTablePipeline options.config', options.config, FIT_TABLE_CONFIG_KEYS);
  const cols = table.names.length;
  const preprocessor = table.preprocessor();
  const config = tableConfig(table, options);
  const signal = options.signal;
  const emit: PipelineEventListener = (event) => options.onEvent?.(event);
  let backend: string | undefined;
  if (config.detectors.some((name) => name !== 'isolation-forest')) {
    const info = await useBackend(options.backend);
    backend = info.name;
    emit({ type: 'backend', name: info.name, description: info.description });
  }
  const sampleRows = table.sampleRows;
  const sample = preprocessor.transform(table.sample());
  const how = sampleRows === table.rowsRead ? 'all' : table.ordered ? 'first' : 'uniform';
  emit({
    type: 'log',
    level: 'info',
    message:
      `read ${table.rowsRead} rows; fitting on ` +
      `${how === 'all' ? 'all of them' : how === 'first' ? `the first ${sampleRows}` : `a uniform sample of ${sampleRows}`} ` +
      `(columns: ${table.names.join(', ')})`,
  });
  // The last rows of the sample validate (early stopping): random rows of a uniform sample, the
  // most recent ones of an ordered block.
  const validationRows = Math.max(1, Math.floor(sampleRows * VALIDATION_SHARE));
  const trainRows = sampleRows - validationRows;
  const train: Matrix = { data: sample.data.subarray(0, trainRows * cols), rows: trainRows, cols };
  const validation: Matrix = {
    data: sample.data.subarray(trainRows * cols),
    rows: validationRows,
    cols,
  };
  const fitted: FittedDetector[] = [];
  const sampleScores: Float64Array[] = [];
  try {
    for (const name of config.detectors) {
      signal?.throwIfAborted();
      const detector = createDetector(name, config);
      const started = performance.now();
      emit({ type: 'stage', stage: name, status: 'start' });
      try {
        await detector.fit(name === 'isolation-forest' ? sample : train, {
          validation,
          onEvent: emit,
          ...(signal ? { signal } : {}),
        });
        signal?.throwIfAborted();
      } catch (error) {
        detector.dispose();
        throw error;
      }
      emit({
        type: 'stage',
        stage: name,
        status: 'done',
        elapsedMs: performance.now() - started,
        message: detector.threshold?.description ?? '',
      });
      const scores = await detector.decisionFunction(sample);
      fitted.push({ detector, distribution: scoreDistribution(scores) });
      sampleScores.push(scores);
    }
    const consensusThreshold = fitConsensusThreshold(
      consensusScores(fitted.map(({ distribution }, i) => ({ scores: sampleScores[i]!, distribution }))),
      config.threshold,
    );
    return new TrainedPipeline({
      config,
      preprocessor,
      detectors: fitted,
      consensusThreshold,
      trainedOn: {
        kind: 'table',
        source: options.source ?? 'a table',
        rowsRead: table.rowsRead,
        sample: how,
        rows: { train: trainRows, validation: validationRows },
      },
      ...(backend ? { backend } : {}),
    });
  } catch (error) {
    for (const { detector } of fitted) detector.dispose();
    throw error;
  }
}

/** The pipeline config of a table: the caller's sections, with the width defaults for its columns. */
function tableConfig(table: TableSample, options: FitTableOptions): PipelineConfig {
  const cols = table.names.length;
  const config = resolvePipelineConfig(
    {
      ...options.config,
      detectors: DETECTOR_NAMES.filter((name) => table.detectors.includes(name)),
      // What the table's preprocessor does, and the share of the sample held out.
      split: { train: 1 - VALIDATION_SHARE, validation: VALIDATION_SHARE },
      preprocess: { scaler: 'standard', winsorize: false, logFeatures: [] },
    },
    { seed: options.seed ?? 0, ...(options.epochs !== undefined ? { epochs: options.epochs } : {}) },
  );
  const bottleneck = Math.max(1, Math.ceil(cols / 2));
  return {
    ...config,
    autoencoder: { hiddenLayers: [Math.min(32, 2 * cols), bottleneck], ...config.autoencoder },
    attention: { latentDim: bottleneck, ...config.attention },
  };
}

/** What a chunk of the table scored: a score and a 0/1 flag per row. */
export interface TableChunkScores {
  scores: Float64Array;
  flags: Uint8Array;
}

/**
 * Scores a long table chunk by chunk, in order, through `TrainedPipeline.scoreScaled`: each chunk
 * is scaled and preceded by the last `contextRows` scaled rows of the one before, so a windowed
 * detector scores every row as if the table were whole. A one-detector pipeline's verdict is that
 * detector's score against its threshold; with more, the consensus against its own.
 */
export class TableScorer {
  readonly #pipeline: TrainedPipeline<TrainedOn | TableTrainedOn>;
  #carry = new Float64Array(0);

  constructor(pipeline: TrainedPipeline<TrainedOn | TableTrainedOn>) {
    this.#pipeline = pipeline;
  }

  /** The threshold the flags are set by. */
  get threshold(): FittedThreshold {
    const { detectors, consensusThreshold } = this.#pipeline;
    return detectors.length === 1 ? detectors[0]!.detector.threshold! : consensusThreshold;
  }

  /** Scores the next rows of the table (raw values, the pipeline's columns). */
  async score(chunk: Matrix, options: { signal?: AbortSignal } = {}): Promise<TableChunkScores> {
    assertKnownKeys('TableScorer score options', options, ['signal']);
    const pipeline = this.#pipeline;
    const scaled = pipeline.preprocessor.transform(chunk);
    const contextRows = pipeline.contextRows;
    let rows = scaled;
    if (contextRows > 0) {
      const joined = new Float64Array(this.#carry.length + scaled.data.length);
      joined.set(this.#carry);
      joined.set(scaled.data, this.#carry.length);
      rows = { data: joined, rows: joined.length / scaled.cols, cols: scaled.cols };
      this.#carry = joined.slice(Math.max(0, joined.length - contextRows * scaled.cols));
    }
    const scored = await pipeline.scoreScaled(rows, { contributions: false, ...options });
    const verdict: DetectorScores = scored.detectors.length === 1 ? scored.detectors[0]! : scored.consensus;
    const skip = rows.rows - chunk.rows;
    return { scores: verdict.scores.subarray(skip), flags: verdict.flags.subarray(skip) };
  }
}
