import type { Interval, KlineSource } from '@crypto-anomaly/data';
import type { BackendPreference } from './backend.js';

/**
 * A row-major matrix of float64 values: `data[row * cols + col]`. The same shape as the kernels'
 * `Matrix`, so either can be passed where the other is expected.
 */
export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** The detectors the pipeline trains, by the names used in files, events and the CLI. */
export type DetectorName = 'isolation-forest' | 'autoencoder' | 'attention';

/** The pipeline's stages, in order. */
export type StageName =
  | 'load'
  | 'features'
  | 'preprocess'
  | 'isolation-forest'
  | 'autoencoder'
  | 'attention'
  | 'consensus'
  | 'outputs'
  | 'charts';

/**
 * Everything the engine reports while it works, for a UI to render. The core never prints: a
 * terminal dashboard, a plain line logger or a test subscribes to these.
 */
export type PipelineEvent =
  | { type: 'backend'; name: string; description: string }
  | { type: 'source'; description: string }
  | {
      type: 'stage';
      stage: StageName;
      status: 'start' | 'done' | 'skipped' | 'failed';
      /** Wall time of the stage, on `done`/`failed`. */
      elapsedMs?: number;
      message?: string;
    }
  | {
      type: 'epoch';
      detector: Exclude<DetectorName, 'isolation-forest'>;
      epoch: number;
      epochs: number;
      loss: number;
      valLoss: number;
      bestValLoss: number;
      samplesPerSecond: number;
      /** Estimated time to the last epoch (early stopping may end sooner). */
      etaMs: number;
      /** Epochs without improvement left before early stopping. */
      patienceLeft: number;
    }
  | {
      type: 'batch';
      detector: Exclude<DetectorName, 'isolation-forest'>;
      epoch: number;
      batch: number;
      batches: number;
      loss: number;
    }
  | {
      type: 'early-stop';
      detector: Exclude<DetectorName, 'isolation-forest'>;
      epoch: number;
      bestEpoch: number;
    }
  | { type: 'iforest-progress'; treesBuilt: number; trees: number }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

export type PipelineEventListener = (event: PipelineEvent) => void;

/**
 * How a detector's threshold is set from its scores on the training rows:
 * - `contamination`: the (1 - contamination) quantile, so that fraction of training rows is flagged;
 * - `fixed`: a given score;
 * - `pot`: peaks over threshold (extreme value theory, as in SPOT, Siffer et al. 2017): a
 *   generalized Pareto distribution is fitted to the scores above the `initialQuantile`, and the
 *   threshold is the score exceeded with probability `riskQuantile`.
 */
export type ThresholdMethod =
  | { kind: 'contamination'; contamination: number }
  | { kind: 'fixed'; value: number }
  | { kind: 'pot'; riskQuantile: number; initialQuantile: number };

/** A threshold fitted on training scores, with the method that produced it. */
export interface FittedThreshold {
  value: number;
  method: ThresholdMethod;
  /** One line for people, e.g. "99th percentile of training scores (contamination 0.01)". */
  description: string;
}

export interface RunPipelineOptions {
  /** Where the candles come from (the bundled sample market, the local store, a CSV file). */
  source: KlineSource;
  symbol: string;
  interval: Interval;
  /** Unix ms; the first candle to load. */
  since?: number;
  /** Unix ms; load candles before this time. */
  until?: number;
  /** Folder for CSV files, summary.json and charts; created if missing. */
  outDir: string;
  seed?: number;
  backend?: BackendPreference;
  /** Overrides of detector and training settings; defaults are documented in the README. */
  epochs?: number;
  onEvent?: PipelineEventListener;
  /** Aborting stops at the next batch or stage boundary; no half-written file is left. */
  signal?: AbortSignal;
}

/** One flagged or scored row, as the CLI's final table shows it. */
export interface AnomalyRow {
  time: number;
  close: number;
  score: number;
  threshold: number;
  isAnomaly: boolean;
  split: 'train' | 'validation' | 'test';
  /** Features that contributed most, most first. */
  topFeatures: string[];
}

export interface PipelineResult {
  outDir: string;
  /** Absolute paths of every file written, by role. */
  files: Record<string, string>;
  /** The parsed contents of summary.json. */
  summary: Record<string, unknown>;
  /** The most anomalous rows per detector (and `consensus`), most anomalous first. */
  topAnomalies: Record<DetectorName | 'consensus', AnomalyRow[]>;
}
