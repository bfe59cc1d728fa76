import type { AnomalyRow, DetectorName, FlagCounts, PipelineEvent, StageName } from '@crypto-anomaly/core';
import { STAGE_NAMES } from '@crypto-anomaly/core';

/** The detectors trained epoch by epoch (the ones with a loss chart). */
export type TrainedDetector = Exclude<DetectorName, 'isolation-forest'>;

/** The dashboard's right-hand panes, in tab order. */
export type PaneName = 'autoencoder' | 'attention' | 'isolation-forest' | 'anomalies';

export const PANES: readonly PaneName[] = Object.freeze([
  'autoencoder',
  'attention',
  'isolation-forest',
  'anomalies',
]);

/** The pipeline's stages, in the order the dashboard lists them. */
export const STAGES: readonly StageName[] = STAGE_NAMES;

export type StageStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

export interface StageState {
  name: StageName;
  status: StageStatus;
  /** Wall time, once the stage ended. */
  elapsedMs?: number;
  /** When it started (`Date.now()` of the start event): the running stage's elapsed time ticks from it. */
  startedAt?: number;
  message?: string;
}

/** One finished epoch of one autoencoder. */
export interface EpochPoint {
  epoch: number;
  loss: number;
  valLoss: number;
}

export interface TrainingState {
  detector: TrainedDetector;
  epoch: number;
  epochs: number;
  /** Every finished epoch, oldest first: the loss chart's data. */
  history: EpochPoint[];
  bestValLoss: number;
  /** The epoch with the lowest validation loss so far: the weights training keeps. */
  bestEpoch: number;
  samplesPerSecond: number;
  /** The engine's estimate to the planned last epoch (see `trainingEta` for one that knows early stopping). */
  etaMs: number;
  /** Mean wall time of an epoch so far. */
  epochMs: number;
  /** When the last epoch ended (`Date.now()`), so the ETA counts down between epochs. */
  epochAt?: number;
  patienceLeft: number;
  /** Epochs without improvement that end training (the patience left after an improving epoch). */
  patience: number;
  /** The batch in progress inside the next epoch, when the engine reports batches. */
  batch?: { epoch: number; batch: number; batches: number; loss: number };
  /** Set when early stopping ended training before the last epoch. */
  earlyStop?: { epoch: number; bestEpoch: number };
}

/**
 * Progress of a kline download, as `fetchKlines` reports it (plus what the CLI knows up front:
 * how many rows the requested range holds).
 */
export interface FetchProgress {
  pages: number;
  rows: number;
  rowsPerSecond: number;
  etaMs?: number;
  /** Set while the client waits (rate limit, retry back-off) instead of downloading. */
  waitingMs?: number;
  waitReason?: string;
  /** A short line about the wait (the status code or error behind it). */
  message?: string;
  /** Rows the requested range can hold, when the fetcher says (the progress bar's 100%). */
  expectedRows?: number;
}

export interface FetchState extends FetchProgress {
  done: boolean;
}

export interface LogLine {
  level: 'info' | 'warn';
  message: string;
}

/** What one detector's (or the consensus') scoring gave, known as soon as it finished. */
export interface ScoredState {
  rows: number;
  threshold: number;
  flagged: FlagCounts;
  /** Its most anomalous rows, most first. */
  topAnomalies: AnomalyRow[];
}

/** What the run ended with: shown as the final table and the list of files. */
export interface RunOutcome {
  outDir: string;
  files: Record<string, string>;
  topAnomalies: Partial<Record<DetectorName | 'consensus', AnomalyRow[]>>;
  elapsedMs: number;
  /** The command's own facts for its --json document (rows fetched, the model folder). */
  details?: Record<string, unknown>;
}

/** Everything the dashboard shows, derived only from actions (see `dashboardReducer`). */
export interface DashboardState {
  title: string;
  /** `pipeline`: stages, charts and the final table; `fetch`: the download alone. */
  mode: 'pipeline' | 'fetch';
  backend?: { name: string; description: string };
  source?: string;
  stages: StageState[];
  training: Partial<Record<TrainedDetector, TrainingState>>;
  isolationForest?: { treesBuilt: number; trees: number };
  /** Each detector's flags and top rows, filled in as each one finishes scoring. */
  scored: Partial<Record<DetectorName | 'consensus', ScoredState>>;
  fetch?: FetchState;
  /** The latest log lines, newest last (a few are kept). */
  logs: LogLine[];
  pane: PaneName;
  /** True once the user picked a pane: the view then stops following the running stage. */
  paneChosen: boolean;
  logScale: boolean;
  phase: 'running' | 'stopping' | 'finished' | 'failed' | 'stopped';
  outcome?: RunOutcome;
  error?: { cause: string; hint: string };
}

export type DashboardAction =
  /** `at`: when the event arrived (`Date.now()`); the elapsed times and ETAs count from it. */
  | { type: 'pipeline'; event: PipelineEvent; at?: number }
  | { type: 'fetch-start'; expectedRows?: number }
  | { type: 'fetch-progress'; progress: FetchProgress }
  | { type: 'fetch-done' }
  | { type: 'next-pane' }
  | { type: 'previous-pane' }
  | { type: 'toggle-log-scale' }
  | { type: 'stopping' }
  | { type: 'finished'; outcome: RunOutcome }
  | { type: 'failed'; cause: string; hint: string }
  | { type: 'stopped' };
