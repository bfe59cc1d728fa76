import type { PipelineEvent } from '@crypto-anomaly/core';
import { describe, expect, it } from 'vitest';
import type { DashboardAction, DashboardState } from '../src/api.js';
import { dashboardReducer, initialDashboardState } from '../src/dashboard-reducer.js';

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
    expect(state.logs.at(-1)?.message).toMatch(/early stop at epoch 7, best epoch 2/);
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
