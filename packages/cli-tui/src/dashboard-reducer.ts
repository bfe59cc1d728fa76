import type { PipelineEvent } from '@crypto-anomaly/core';
import {
  type DashboardAction,
  type DashboardState,
  type LogLine,
  PANES,
  type PaneName,
  STAGES,
  type StageState,
  type StageStatus,
  type TrainedDetector,
  type TrainingState,
} from './api.js';
import { earlyStopText } from './format.js';

const KEPT_LOG_LINES = 20;

/** The state before anything happened. */
export function initialDashboardState(
  title: string,
  mode: DashboardState['mode'] = 'pipeline',
): DashboardState {
  return {
    title,
    mode,
    stages: STAGES.map((name): StageState => ({ name, status: 'pending' })),
    training: {},
    scored: {},
    logs: [],
    pane: 'autoencoder',
    paneChosen: false,
    logScale: false,
    phase: 'running',
  };
}

/** The pane that shows a stage's work, when the view follows the running stage. */
function paneForStage(stage: string): PaneName | undefined {
  if (stage === 'isolation-forest' || stage === 'autoencoder' || stage === 'attention') return stage;
  return undefined;
}

function emptyTraining(detector: TrainedDetector): TrainingState {
  return {
    detector,
    epoch: 0,
    epochs: 0,
    history: [],
    bestValLoss: Number.NaN,
    bestEpoch: 0,
    samplesPerSecond: 0,
    etaMs: Number.NaN,
    epochMs: Number.NaN,
    patienceLeft: Number.NaN,
    patience: Number.NaN,
  };
}

function withLog(state: DashboardState, line: LogLine): DashboardState {
  return { ...state, logs: [...state.logs, line].slice(-KEPT_LOG_LINES) };
}

function applyPipelineEvent(
  state: DashboardState,
  event: PipelineEvent,
  at: number | undefined,
): DashboardState {
  switch (event.type) {
    case 'backend':
      return { ...state, backend: { name: event.name, description: event.description } };
    case 'source':
      return { ...state, source: event.description };
    case 'stage': {
      const status: StageStatus = event.status === 'start' ? 'running' : event.status;
      const stages = state.stages.map((stage) =>
        stage.name === event.stage
          ? {
              name: stage.name,
              status,
              ...(event.elapsedMs !== undefined ? { elapsedMs: event.elapsedMs } : {}),
              ...(event.status === 'start' && at !== undefined ? { startedAt: at } : {}),
              ...(event.message !== undefined ? { message: event.message } : {}),
            }
          : stage,
      );
      const follow = event.status === 'start' && !state.paneChosen ? paneForStage(event.stage) : undefined;
      const next = { ...state, stages, pane: follow ?? state.pane };
      return event.status === 'failed' && event.message
        ? withLog(next, { level: 'warn', message: `${event.stage} failed: ${event.message}` })
        : next;
    }
    case 'epoch': {
      const previous = state.training[event.detector] ?? emptyTraining(event.detector);
      // An epoch number at or below the last one means training restarted (e.g. a retry).
      const restarted = event.epoch <= previous.epoch;
      const history = previous.history.filter((point) => point.epoch < event.epoch);
      history.push({ epoch: event.epoch, loss: event.loss, valLoss: event.valLoss });
      const { batch: _finishedBatch, epochAt: _previousAt, ...rest } = previous;
      const fresh = restarted || previous.history.length === 0;
      // The engine moves the best loss only when it falls (its first epoch always sets it).
      const newBest = fresh || !(event.bestValLoss >= previous.bestValLoss);
      const remaining = event.epochs - event.epoch;
      const training: TrainingState = {
        ...rest,
        epoch: event.epoch,
        epochs: event.epochs,
        history,
        bestValLoss: event.bestValLoss,
        bestEpoch: newBest ? event.epoch : previous.bestEpoch,
        samplesPerSecond: event.samplesPerSecond,
        etaMs: event.etaMs,
        // The engine's ETA is the mean epoch time so far times the epochs left.
        epochMs: remaining > 0 && Number.isFinite(event.etaMs) ? event.etaMs / remaining : previous.epochMs,
        ...(at !== undefined ? { epochAt: at } : {}),
        patienceLeft: event.patienceLeft,
        // An epoch that improves enough resets the patience left to the whole patience (the first
        // epoch always does), so the largest patience left seen is the patience.
        patience: fresh ? event.patienceLeft : Math.max(event.patienceLeft, previous.patience),
      };
      return { ...state, training: { ...state.training, [event.detector]: training } };
    }
    case 'batch': {
      const previous = state.training[event.detector] ?? emptyTraining(event.detector);
      const batch = { epoch: event.epoch, batch: event.batch, batches: event.batches, loss: event.loss };
      return { ...state, training: { ...state.training, [event.detector]: { ...previous, batch } } };
    }
    case 'early-stop': {
      const previous = state.training[event.detector] ?? emptyTraining(event.detector);
      const training = { ...previous, earlyStop: { epoch: event.epoch, bestEpoch: event.bestEpoch } };
      return withLog(
        { ...state, training: { ...state.training, [event.detector]: training } },
        {
          level: 'info',
          message: `${event.detector}: ${earlyStopText(event.epoch, event.bestEpoch)}`,
        },
      );
    }
    case 'isolation-forest-progress':
      return { ...state, isolationForest: { treesBuilt: event.treesBuilt, trees: event.trees } };
    case 'scored': {
      const { type: _type, detector, ...scored } = event;
      return { ...state, scored: { ...state.scored, [detector]: scored } };
    }
    case 'log':
      return withLog(state, { level: event.level, message: event.message });
  }
}

/** Remaining training time: the soonest it can end and the latest (the planned last epoch). */
export interface TrainingEta {
  soonestMs: number;
  latestMs: number;
  /** True when the last epoch did not improve (patience is running out): `soonestMs` is the estimate. */
  plateau: boolean;
}

/**
 * The ETA of a training that may stop early. Training ends after `patienceLeft` more epochs
 * without improvement, and at the planned last epoch at the latest, so the epochs left lie in
 * [min(patienceLeft, epochs left), epochs left]. On a plateau (the last epoch did not improve)
 * the estimate is the soonest end, the early stop: it never exceeds what patience allows unless
 * the validation loss improves again (and then the next epoch says so). While the loss still
 * improves nothing tells which end is nearer, so both are given. Epochs are timed at their mean
 * so far; `now` counts the current epoch down. Undefined once training ended or before it is timed.
 */
export function trainingEta(training: TrainingState, now?: number): TrainingEta | undefined {
  const left = training.epochs - training.epoch;
  if (training.earlyStop || left <= 0 || !(training.epochMs >= 0)) return undefined;
  const soonestEpochs = Number.isFinite(training.patienceLeft) ? Math.min(training.patienceLeft, left) : left;
  const sinceEpoch =
    now !== undefined && training.epochAt !== undefined ? Math.max(0, now - training.epochAt) : 0;
  const countdown = (epochs: number) => Math.max(0, epochs * training.epochMs - sinceEpoch);
  return {
    soonestMs: countdown(soonestEpochs),
    latestMs: countdown(left),
    plateau: training.patienceLeft < training.patience,
  };
}

/** A stage's time: its wall time once ended, the time since it started while it runs (to `now`). */
export function stageElapsedMs(stage: StageState, now: number | undefined): number | undefined {
  if (stage.elapsedMs !== undefined) return stage.elapsedMs;
  if (stage.status !== 'running' || stage.startedAt === undefined || now === undefined) return undefined;
  return Math.max(0, now - stage.startedAt);
}

function stepPane(pane: PaneName, step: 1 | -1): PaneName {
  const index = PANES.indexOf(pane);
  return PANES[(index + step + PANES.length) % PANES.length]!;
}

/** The dashboard's whole state machine: pure, so it is tested without rendering anything. */
export function dashboardReducer(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'pipeline':
      return applyPipelineEvent(state, action.event, action.at);
    case 'fetch-start':
      return {
        ...state,
        fetch: {
          pages: 0,
          rows: 0,
          rowsPerSecond: 0,
          done: false,
          ...(action.expectedRows !== undefined ? { expectedRows: action.expectedRows } : {}),
        },
      };
    case 'fetch-progress': {
      const base = state.fetch ?? { pages: 0, rows: 0, rowsPerSecond: 0, done: false };
      const expectedRows = action.progress.expectedRows ?? base.expectedRows;
      return {
        ...state,
        fetch: {
          ...action.progress,
          done: base.done,
          ...(expectedRows !== undefined ? { expectedRows } : {}),
        },
      };
    }
    case 'fetch-done': {
      if (!state.fetch) return state;
      const {
        waitingMs: _waitingMs,
        waitReason: _waitReason,
        message: _message,
        etaMs: _etaMs,
        ...rest
      } = state.fetch;
      return { ...state, fetch: { ...rest, done: true } };
    }
    case 'next-pane':
      return { ...state, pane: stepPane(state.pane, 1), paneChosen: true };
    case 'previous-pane':
      return { ...state, pane: stepPane(state.pane, -1), paneChosen: true };
    case 'toggle-log-scale':
      return { ...state, logScale: !state.logScale };
    case 'stopping':
      return state.phase === 'running' ? { ...state, phase: 'stopping' } : state;
    case 'finished':
      return {
        ...state,
        phase: 'finished',
        pane: 'anomalies',
        outcome: action.outcome,
      };
    case 'failed':
      return { ...state, phase: 'failed', error: { cause: action.cause, hint: action.hint } };
    case 'stopped':
      return { ...state, phase: 'stopped' };
  }
}
