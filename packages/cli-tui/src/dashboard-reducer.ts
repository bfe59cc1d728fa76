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
    samplesPerSecond: 0,
    etaMs: Number.NaN,
    patienceLeft: Number.NaN,
  };
}

function withLog(state: DashboardState, line: LogLine): DashboardState {
  return { ...state, logs: [...state.logs, line].slice(-KEPT_LOG_LINES) };
}

function applyPipelineEvent(state: DashboardState, event: PipelineEvent): DashboardState {
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
      const history = previous.history.filter((point) => point.epoch < event.epoch);
      history.push({ epoch: event.epoch, loss: event.loss, valLoss: event.valLoss });
      const { batch: _finishedBatch, ...rest } = previous;
      const training: TrainingState = {
        ...rest,
        epoch: event.epoch,
        epochs: event.epochs,
        history,
        bestValLoss: event.bestValLoss,
        samplesPerSecond: event.samplesPerSecond,
        etaMs: event.etaMs,
        patienceLeft: event.patienceLeft,
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
          message: `${event.detector}: early stop at epoch ${event.epoch}, best epoch ${event.bestEpoch}`,
        },
      );
    }
    case 'isolation-forest-progress':
      return { ...state, isolationForest: { treesBuilt: event.treesBuilt, trees: event.trees } };
    case 'log':
      return withLog(state, { level: event.level, message: event.message });
  }
}

function stepPane(pane: PaneName, step: 1 | -1): PaneName {
  const index = PANES.indexOf(pane);
  return PANES[(index + step + PANES.length) % PANES.length]!;
}

/** The dashboard's whole state machine: pure, so it is tested without rendering anything. */
export function dashboardReducer(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'pipeline':
      return applyPipelineEvent(state, action.event);
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
