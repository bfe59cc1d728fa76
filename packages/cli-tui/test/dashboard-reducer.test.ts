import type { PipelineEvent } from '@crypto-anomaly/core';
import { describe, expect, it } from 'vitest';
import type { DashboardAction, DashboardState } from '../src/api.js';
import {
  dashboardReducer,
  initialDashboardState,
  stageElapsedMs,
  trainingEta,
} from '../src/dashboard-reducer.js';
import { anomalyRow } from './fixtures.js';

const replay = (actions: DashboardAction[], start = initialDashboardState('run')): DashboardState =>
  actions.reduce(dashboardReducer, start);
const event = (e: PipelineEvent): DashboardAction => ({ type: 'pipeline', event: e });
const epoch = (n: number, loss: number, valLoss: number): PipelineEvent => ({
  type: 'epoch',
  detector: 'autoencoder',
  epoch: n,
  epochs: 10,
  loss,
  valLoss,
  bestValLoss: valLoss,
  samplesPerSecond: 1000 * n,
  etaMs: (10 - n) * 100,
  patienceLeft: 5,
});

describe('dashboardReducer', () => {
  it('starts with every stage pending and the autoencoder pane', () => {
    const state = initialDashboardState('run');
    expect(state.stages.map((s) => s.status)).toEqual(Array(9).fill('pending'));
    expect(state.pane).toBe('autoencoder');
    expect(state.phase).toBe('running');
  });

  it('tracks stage status, elapsed time and message', () => {
    const state = replay([
      event({ type: 'stage', stage: 'load', status: 'start' }),
      event({ type: 'stage', stage: 'load', status: 'done', elapsedMs: 120, message: '4000 candles' }),
      event({ type: 'stage', stage: 'features', status: 'start' }),
      event({ type: 'stage', stage: 'charts', status: 'skipped' }),
    ]);
    expect(state.stages[0]).toEqual({
      name: 'load',
      status: 'done',
      elapsedMs: 120,
      message: '4000 candles',
    });
    expect(state.stages[1]?.status).toBe('running');
    expect(state.stages[8]?.status).toBe('skipped');
  });

  it('logs a failed stage with its message', () => {
    const state = replay([event({ type: 'stage', stage: 'charts', status: 'failed', message: 'no fonts' })]);
    expect(state.stages[8]?.status).toBe('failed');
    expect(state.logs.at(-1)).toEqual({ level: 'warn', message: 'charts failed: no fonts' });
  });

  it('records backend and source', () => {
    const state = replay([
      event({ type: 'backend', name: 'wasm', description: 'tfjs-backend-wasm' }),
      event({ type: 'source', description: 'bundled sample market' }),
    ]);
    expect(state.backend?.name).toBe('wasm');
    expect(state.source).toBe('bundled sample market');
  });

  it('grows the loss history epoch by epoch and clears the finished batch', () => {
    const state = replay([
      event({ type: 'batch', detector: 'autoencoder', epoch: 1, batch: 3, batches: 10, loss: 0.9 }),
      event(epoch(1, 0.8, 0.9)),
      event({ type: 'batch', detector: 'autoencoder', epoch: 2, batch: 5, batches: 10, loss: 0.7 }),
    ]);
    const training = state.training.autoencoder!;
    expect(training.history).toEqual([{ epoch: 1, loss: 0.8, valLoss: 0.9 }]);
    expect(training.batch).toEqual({ epoch: 2, batch: 5, batches: 10, loss: 0.7 });
    const after = replay([event(epoch(2, 0.5, 0.6))], state);
    expect(after.training.autoencoder!.history.map((p) => p.epoch)).toEqual([1, 2]);
    expect(after.training.autoencoder!.batch).toBeUndefined();
    expect(after.training.autoencoder!.samplesPerSecond).toBe(2000);
    expect(after.training.autoencoder!.etaMs).toBe(800);
    expect(after.training.attention).toBeUndefined();
  });

  it('starts the history over when training restarts at epoch 1', () => {
    const state = replay([event(epoch(1, 1, 1)), event(epoch(2, 0.5, 0.5)), event(epoch(1, 0.9, 0.9))]);
    expect(state.training.autoencoder!.history).toEqual([{ epoch: 1, loss: 0.9, valLoss: 0.9 }]);
  });

  it('records early stopping', () => {
    const state = replay([
      event(epoch(1, 1, 1)),
      event({ type: 'early-stop', detector: 'autoencoder', epoch: 7, bestEpoch: 2 }),
    ]);
    expect(state.training.autoencoder!.earlyStop).toEqual({ epoch: 7, bestEpoch: 2 });
    expect(state.logs.at(-1)?.message).toMatch(/early stop at epoch 7 \(best epoch 2\)/);
  });

  it('follows the running stage until the user picks a pane', () => {
    const followed = replay([event({ type: 'stage', stage: 'isolation-forest', status: 'start' })]);
    expect(followed.pane).toBe('isolation-forest');
    const chosen = replay([
      { type: 'next-pane' },
      event({ type: 'stage', stage: 'attention', status: 'start' }),
    ]);
    expect(chosen.pane).toBe('attention');
    expect(chosen.paneChosen).toBe(true);
    const kept = replay([
      { type: 'next-pane' },
      { type: 'next-pane' },
      event({ type: 'stage', stage: 'autoencoder', status: 'start' }),
    ]);
    expect(kept.pane).toBe('isolation-forest');
  });

  it('cycles panes both ways', () => {
    expect(replay([{ type: 'previous-pane' }]).pane).toBe('anomalies');
    expect(
      replay([{ type: 'next-pane' }, { type: 'next-pane' }, { type: 'next-pane' }, { type: 'next-pane' }])
        .pane,
    ).toBe('autoencoder');
  });

  it('toggles the log scale', () => {
    expect(replay([{ type: 'toggle-log-scale' }]).logScale).toBe(true);
    expect(replay([{ type: 'toggle-log-scale' }, { type: 'toggle-log-scale' }]).logScale).toBe(false);
  });

  it('tracks isolation forest progress and keeps only the latest log lines', () => {
    const logs = Array.from(
      { length: 30 },
      (_, i): DashboardAction => event({ type: 'log', level: 'info', message: `m${i}` }),
    );
    const state = replay([event({ type: 'isolation-forest-progress', treesBuilt: 40, trees: 100 }), ...logs]);
    expect(state.isolationForest).toEqual({ treesBuilt: 40, trees: 100 });
    expect(state.logs).toHaveLength(20);
    expect(state.logs.at(-1)?.message).toBe('m29');
  });

  it('keeps the expected row count across fetch progress and drops waits when done', () => {
    const state = replay([
      { type: 'fetch-start', expectedRows: 2000 },
      {
        type: 'fetch-progress',
        progress: {
          pages: 1,
          rows: 1000,
          rowsPerSecond: 500,
          etaMs: 2000,
          waitingMs: 3000,
          waitReason: 'rate limit',
        },
      },
    ]);
    expect(state.fetch).toMatchObject({ rows: 1000, expectedRows: 2000, waitingMs: 3000, done: false });
    const done = replay([{ type: 'fetch-done' }], state);
    expect(done.fetch?.done).toBe(true);
    expect(done.fetch?.waitingMs).toBeUndefined();
    expect(done.fetch?.expectedRows).toBe(2000);
  });

  it('moves through stopping to stopped, and shows the anomalies when finished', () => {
    const stopping = replay([{ type: 'stopping' }]);
    expect(stopping.phase).toBe('stopping');
    expect(replay([{ type: 'stopped' }], stopping).phase).toBe('stopped');
    const finished = replay([
      {
        type: 'finished',
        outcome: {
          outDir: '/tmp/o',
          files: { summary: '/tmp/o/summary.json' },
          topAnomalies: {},
          elapsedMs: 5,
        },
      },
    ]);
    expect(finished.phase).toBe('finished');
    expect(finished.pane).toBe('anomalies');
    expect(finished.outcome?.files.summary).toBe('/tmp/o/summary.json');
    expect(replay([{ type: 'stopping' }], finished).phase).toBe('finished');
    const failed = replay([{ type: 'failed', cause: 'boom', hint: 'try again' }]);
    expect(failed.error).toEqual({ cause: 'boom', hint: 'try again' });
  });
});

describe('elapsed times and the ETA', () => {
  it("ticks the running stage's elapsed time from its start and keeps its wall time once done", () => {
    const started = replay([
      { type: 'pipeline', event: { type: 'stage', stage: 'features', status: 'start' }, at: 10_000 },
    ]);
    const stage = started.stages[1]!;
    expect(stage.startedAt).toBe(10_000);
    expect(stageElapsedMs(stage, 12_500)).toBe(2500);
    expect(stageElapsedMs(stage, 14_000)).toBe(4000);
    expect(stageElapsedMs(started.stages[0]!, 14_000)).toBeUndefined();
    const done = replay(
      [event({ type: 'stage', stage: 'features', status: 'done', elapsedMs: 3100 })],
      started,
    );
    expect(stageElapsedMs(done.stages[1]!, 99_000)).toBe(3100);
  });

  /**
   * The engine's loop, epoch by epoch: 1 s per epoch, its ETA to the planned last epoch, and the
   * patience left counted from the last epoch that improved. Returns the events up to its stop.
   */
  function trainingRun(valLosses: number[], epochs: number, patience: number): DashboardAction[] {
    const actions: DashboardAction[] = [];
    let best = Number.POSITIVE_INFINITY;
    let lastImprovement = 0;
    valLosses.forEach((valLoss, index) => {
      const n = index + 1;
      if (valLoss < best) {
        best = valLoss;
        lastImprovement = n;
      }
      const patienceLeft = patience - (n - lastImprovement);
      actions.push({
        type: 'pipeline',
        at: 100_000 + n * 1000,
        event: {
          type: 'epoch',
          detector: 'autoencoder',
          epoch: n,
          epochs,
          loss: valLoss * 0.9,
          valLoss,
          bestValLoss: best,
          samplesPerSecond: 5000,
          etaMs: ((n * 1000) / n) * (epochs - n),
          patienceLeft,
        },
      });
      if (patienceLeft === 0) {
        actions.push(
          event({ type: 'early-stop', detector: 'autoencoder', epoch: n, bestEpoch: lastImprovement }),
        );
      }
    });
    return actions;
  }

  it('bounds the ETA by patience on a plateau: a run planned for 50 epochs that stops at 9', () => {
    // Improves for 5 epochs, then not again: patience 4 stops it after epoch 9 (the real end).
    const losses = [1, 0.6, 0.45, 0.41, 0.4, 0.42, 0.41, 0.43, 0.44];
    const actions = trainingRun(losses, 50, 4);
    const stoppedAt = 9;
    let state = initialDashboardState('run');
    for (const action of actions.filter((a) => a.type === 'pipeline' && a.event.type === 'epoch')) {
      state = dashboardReducer(state, action);
      const training = state.training.autoencoder!;
      const eta = trainingEta(training, training.epochAt)!;
      const actualRemainingMs = (stoppedAt - training.epoch) * 1000;
      // Never more than patience allows, and never below what is really left.
      expect(eta.soonestMs).toBeLessThanOrEqual(training.patienceLeft * 1000);
      expect(eta.soonestMs).toBeLessThanOrEqual(eta.latestMs);
      expect(actualRemainingMs).toBeGreaterThanOrEqual(eta.soonestMs);
      expect(actualRemainingMs).toBeLessThanOrEqual(eta.latestMs);
      // The engine's own ETA is to the planned 50th epoch: 41 s too long at epoch 9.
      expect(training.etaMs).toBe((50 - training.epoch) * 1000);
      if (training.epoch > 5) {
        // On the plateau the estimate shown alone is exactly what was left.
        expect(eta.plateau).toBe(true);
        expect(eta.soonestMs).toBe(actualRemainingMs);
      } else {
        expect(eta.plateau).toBe(false);
        expect(eta.latestMs).toBe((50 - training.epoch) * 1000);
      }
    }
    expect(state.training.autoencoder!.bestEpoch).toBe(5);
    expect(state.training.autoencoder!.patience).toBe(4);
    const stopped = replay(actions.slice(-1), state);
    expect(stopped.training.autoencoder!.earlyStop).toEqual({ epoch: 9, bestEpoch: 5 });
    expect(trainingEta(stopped.training.autoencoder!, 0)).toBeUndefined();
  });

  it('counts the ETA down between epochs and never below zero', () => {
    const actions = trainingRun([1, 0.9, 0.95], 20, 3);
    const state = replay(actions);
    const training = state.training.autoencoder!;
    expect(training.epochAt).toBe(103_000);
    expect(training.epochMs).toBe(1000);
    // Epoch 3 did not improve: 2 epochs of patience left, 2 s; 0.4 s later, 1.6 s.
    expect(trainingEta(training, 103_000)).toEqual({ soonestMs: 2000, latestMs: 17_000, plateau: true });
    expect(trainingEta(training, 103_400)?.soonestMs).toBe(1600);
    expect(trainingEta(training, 200_000)?.soonestMs).toBe(0);
  });

  it('moves the best epoch on any new best loss but keeps counting patience when the fall is too small', () => {
    // The engine with minImprovement: epoch 3 is a new best (weights kept) yet no real improvement.
    const patienceLeft = [3, 3, 2];
    const bestValLoss = [1, 0.5, 0.4999];
    const state = replay(
      [0, 1, 2].map((i) =>
        event({
          type: 'epoch',
          detector: 'autoencoder',
          epoch: i + 1,
          epochs: 10,
          loss: 1,
          valLoss: bestValLoss[i]!,
          bestValLoss: bestValLoss[i]!,
          samplesPerSecond: 1,
          etaMs: (10 - i - 1) * 100,
          patienceLeft: patienceLeft[i]!,
        }),
      ),
    );
    const training = state.training.autoencoder!;
    expect(training.bestEpoch).toBe(3);
    expect(training.patience).toBe(3);
    expect(trainingEta(training)).toEqual({ soonestMs: 200, latestMs: 700, plateau: true });
  });
});

describe('scored detectors', () => {
  it("keeps each detector's flag counts and top rows as it finishes, before the run ends", () => {
    const scored = (detector: 'isolation-forest' | 'consensus', total: number): DashboardAction =>
      event({
        type: 'scored',
        detector,
        rows: 5000,
        threshold: 0.6,
        flagged: { total, train: total - 3, validation: 1, test: 2 },
        topAnomalies: [anomalyRow(Date.UTC(2024, 0, 1), 0.9)],
      });
    const first = replay([scored('isolation-forest', 50)]);
    expect(Object.keys(first.scored)).toEqual(['isolation-forest']);
    expect(first.scored['isolation-forest']).toMatchObject({ rows: 5000, flagged: { total: 50, test: 2 } });
    expect(first.scored['isolation-forest']!.topAnomalies[0]!.score).toBe(0.9);
    expect(first.phase).toBe('running');
    const both = replay([scored('consensus', 12)], first);
    expect(both.scored.consensus!.flagged.total).toBe(12);
    expect(both.scored['isolation-forest']!.flagged.total).toBe(50);
  });
});
