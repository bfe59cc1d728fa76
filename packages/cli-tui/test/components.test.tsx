import { renderToString } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { DashboardAction, DashboardState, FetchState, TrainingState } from '../src/api.js';
import { Dashboard } from '../src/components/Dashboard.js';
import { FetchProgress } from '../src/components/FetchProgress.js';
import { FilesWritten } from '../src/components/FilesWritten.js';
import { IsolationForestProgress } from '../src/components/IsolationForestProgress.js';
import { LossChart } from '../src/components/LossChart.js';
import { StageList } from '../src/components/StageList.js';
import { TopAnomaliesTable } from '../src/components/TopAnomaliesTable.js';
import { dashboardReducer, initialDashboardState } from '../src/dashboard-reducer.js';
import { anomalyRow, epochEvent, finishedAction, pipeline, plain } from './fixtures.js';

const replay = (actions: DashboardAction[]): DashboardState =>
  actions.reduce(dashboardReducer, initialDashboardState('crypto-anomaly run · BTCUSDT 1h'));

function training(epochs: number, total = 20): TrainingState {
  const state = replay(
    Array.from({ length: epochs }, (_, i) => pipeline(epochEvent(i + 1, { epochs: total }))),
  );
  return state.training.autoencoder!;
}

const lines = (frame: string) => plain(frame).split('\n');

describe('StageList', () => {
  it('shows each stage with its status icon and elapsed time', () => {
    const state = replay([
      pipeline({ type: 'stage', stage: 'load', status: 'done', elapsedMs: 1500 }),
      pipeline({ type: 'stage', stage: 'features', status: 'start' }),
      pipeline({ type: 'stage', stage: 'charts', status: 'failed' }),
    ]);
    const { lastFrame } = render(<StageList stages={state.stages} width={26} />);
    const frame = lines(lastFrame()!);
    expect(frame[0]).toMatch(/^Stages/);
    expect(frame[1]).toMatch(/^✓ load\s+1\.5s$/);
    expect(frame[2]).toMatch(/^● features/);
    expect(frame[3]).toMatch(/^○ preprocess/);
    expect(frame[9]).toMatch(/^✗ charts/);
    for (const line of frame) expect(line.length).toBeLessThanOrEqual(26);
  });
});

describe('FetchProgress', () => {
  const base: FetchState = {
    pages: 3,
    rows: 3000,
    rowsPerSecond: 1500,
    etaMs: 2000,
    expectedRows: 6000,
    done: false,
  };

  it('shows a bar, percent, pages, rows, rate and ETA', () => {
    const frame = plain(render(<FetchProgress fetch={base} width={80} />).lastFrame());
    expect(frame).toMatch(/fetch █+░+\s+50% 3 pages · 3,000 rows · 1\.5k rows\/s · ETA 2\.0s/);
  });

  it('shows a rate-limit wait as a wait', () => {
    const frame = plain(
      render(
        <FetchProgress
          fetch={{ ...base, waitingMs: 4000, waitReason: 'rate limit (HTTP 429)' }}
          width={80}
        />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/waiting 4\.0s: rate limit \(HTTP 429\)/);
  });

  it('drops the bar when the total is unknown and says done at the end', () => {
    const { expectedRows: _unknown, ...open } = base;
    expect(plain(render(<FetchProgress fetch={open} width={80} />).lastFrame())).not.toMatch(/█|░/);
    expect(plain(render(<FetchProgress fetch={{ ...base, done: true }} width={80} />).lastFrame())).toMatch(
      /100%.*done/,
    );
  });
});

describe('LossChart', () => {
  it('waits for the first epoch', () => {
    const frame = plain(
      render(
        <LossChart detector="attention" training={undefined} width={50} height={12} logScale={false} />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/attention: waiting for the first epoch/);
  });

  it('shows epoch, ETA, samples/s, best loss, early-stopping status and a legend', () => {
    const frame = plain(
      render(
        <LossChart detector="autoencoder" training={training(4)} width={52} height={14} logScale={false} />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/epoch 4\/20 · ETA 8\.0s · 12\.3k samples\/s/);
    expect(frame).toMatch(/best val loss 0\.3 · early stopping: patience 5/);
    expect(frame).toMatch(/── train 0\.25 {2}── validation 0\.3 {2}\(linear\)/);
    expect(lines(frame)).toHaveLength(14);
    for (const line of lines(frame)) expect(line.length).toBeLessThanOrEqual(52);
  });

  it('says when early stopping ended training', () => {
    const state = replay([
      pipeline(epochEvent(1)),
      pipeline({ type: 'early-stop', detector: 'autoencoder', epoch: 9, bestEpoch: 4 }),
    ]);
    const frame = plain(
      render(
        <LossChart
          detector="autoencoder"
          training={state.training.autoencoder}
          width={60}
          height={10}
          logScale
        />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/early-stopped at epoch 9 \(best epoch 4\)/);
    expect(frame).toMatch(/\(log scale\)/);
    expect(frame).toMatch(/epoch 1\/20 · done/);
  });

  it('grows across frames as epoch events arrive', () => {
    const props = { detector: 'autoencoder' as const, width: 52, height: 14, logScale: false };
    const { lastFrame, rerender, frames } = render(<LossChart {...props} training={training(2)} />);
    const chartCells = (frame: string | undefined) =>
      lines(plain(frame))
        .slice(2, -1)
        .map((line) => line.slice(10).replace(/ /g, ''))
        .join('').length;
    const first = plain(lastFrame());
    const drawnAt2 = chartCells(first);
    rerender(<LossChart {...props} training={training(6)} />);
    const drawnAt6 = chartCells(lastFrame());
    rerender(<LossChart {...props} training={training(12)} />);
    const drawnAt12 = chartCells(lastFrame());
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(drawnAt2).toBeLessThan(drawnAt6);
    expect(drawnAt6).toBeLessThan(drawnAt12);
    expect(plain(lastFrame())).toMatch(/epoch 12\/20/);
    expect(plain(lastFrame())).not.toBe(first);
  });
});

describe('IsolationForestProgress', () => {
  it('shows trees built out of the total', () => {
    const state = replay([
      pipeline({ type: 'stage', stage: 'isolation-forest', status: 'start' }),
      pipeline({ type: 'isolation-forest-progress', treesBuilt: 25, trees: 100 }),
    ]);
    const frame = plain(
      render(
        <IsolationForestProgress progress={state.isolationForest} stage={state.stages[3]} width={60} />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/Isolation forest/);
    expect(frame).toMatch(/█+░+\s+25% 25\/100 trees/);
  });

  it('says done with its time and message, and waits before its stage', () => {
    const stage = {
      name: 'isolation-forest' as const,
      status: 'done' as const,
      elapsedMs: 2300,
      message: 'threshold 0.61',
    };
    const frame = plain(
      render(
        <IsolationForestProgress progress={{ treesBuilt: 100, trees: 100 }} stage={stage} width={60} />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/100% 100\/100 trees/);
    expect(frame).toMatch(/done in 2\.3s/);
    expect(frame).toMatch(/threshold 0\.61/);
    expect(
      plain(
        render(<IsolationForestProgress progress={undefined} stage={undefined} width={60} />).lastFrame(),
      ),
    ).toMatch(/waiting/);
  });
});

describe('TopAnomaliesTable and FilesWritten', () => {
  it('lists the top rows per detector, consensus first, fitted to the width', () => {
    const top = {
      autoencoder: [anomalyRow(Date.UTC(2024, 0, 2), 3.2, { threshold: 1.5 })],
      consensus: [
        anomalyRow(Date.UTC(2024, 0, 1), 0.9),
        anomalyRow(Date.UTC(2024, 0, 3), 0.8),
        anomalyRow(0, 0.7),
      ],
    };
    const frame = lines(
      render(<TopAnomaliesTable topAnomalies={top} width={80} rowsPerDetector={2} />).lastFrame()!,
    );
    expect(frame[0]).toMatch(/^time \(UTC\)\s+close\s+score\s+split\s+top features$/);
    expect(frame[1]).toBe('consensus (threshold 0.6)');
    expect(frame[2]).toMatch(/^2024-01-01 00:00\s+43210\.5\s+0\.9\*\s+test\s+log_return, volume_z$/);
    expect(frame[4]).toBe('autoencoder (threshold 1.5)');
    expect(frame).toHaveLength(6);
    for (const line of frame) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('lists files relative to the output folder and summarises the overflow', () => {
    const files = { a: '/o/a.csv', b: '/o/b.csv', c: '/o/charts/c.png', d: '/o/d.json' };
    expect(
      lines(render(<FilesWritten outDir="/o" files={files} width={30} height={10} />).lastFrame()!),
    ).toEqual(['Files in /o', '  a.csv', '  b.csv', '  charts/c.png', '  d.json']);
    expect(
      lines(render(<FilesWritten outDir="/o" files={files} width={30} height={3} />).lastFrame()!),
    ).toEqual(['Files in /o', '  a.csv', '  + 3 more']);
  });
});

describe('Dashboard', () => {
  const running = replay([
    pipeline({ type: 'source', description: 'bundled sample market (seed 7, 1h)' }),
    pipeline({ type: 'backend', name: 'wasm', description: 'tfjs-backend-wasm' }),
    pipeline({ type: 'stage', stage: 'load', status: 'done', elapsedMs: 100 }),
    pipeline({ type: 'stage', stage: 'autoencoder', status: 'start' }),
    ...Array.from({ length: 5 }, (_, i) => pipeline(epochEvent(i + 1))),
  ]);

  it('fits 80x24: title, source, stages, the loss chart and the keys', () => {
    const frame = lines(render(<Dashboard state={running} width={80} height={23} />).lastFrame()!);
    expect(frame.length).toBeLessThanOrEqual(23);
    for (const line of frame) expect(line.length).toBeLessThanOrEqual(80);
    expect(frame[0]).toBe('crypto-anomaly run · BTCUSDT 1h');
    expect(frame[1]).toMatch(/source: bundled sample market \(seed 7, 1h\) · backend: tfjs-backend-wasm/);
    const text = frame.join('\n');
    expect(text).toMatch(/✓ load/);
    expect(text).toMatch(/● autoencoder/);
    expect(text).toMatch(/autoencoder {2}attention {2}iforest {2}anomalies/);
    expect(text).toMatch(/epoch 5\/20/);
    expect(text).toMatch(/[╭╮╯╰─]/);
    expect(frame.at(-1)).toMatch(/running · q stop · tab\/←→ pane · l log scale/);
  });

  it('shows the final table and the files when finished', () => {
    const state = [finishedAction('/tmp/run')].reduce(dashboardReducer, running);
    const text = plain(render(<Dashboard state={state} width={80} height={23} />).lastFrame());
    expect(text).toMatch(/consensus \(threshold 0\.6\)/);
    expect(text).toMatch(/2024-03-01 14:00/);
    expect(text).toMatch(/Files in \/tmp\/run/);
    expect(text).toMatch(/anomalies\.csv/);
    expect(text).toMatch(/finished in 1m 01s · q exit/);
  });

  it('uses a wide terminal for two panes side by side and taller charts', () => {
    const narrow = plain(
      renderToString(<Dashboard state={running} width={80} height={23} />, { columns: 80 }),
    );
    const wide = plain(
      renderToString(<Dashboard state={running} width={160} height={40} />, { columns: 160 }),
    );
    expect(wide).toMatch(/autoencoder: |epoch 5\/20/);
    expect(wide).toMatch(/attention: waiting for the first epoch/);
    expect(narrow).not.toMatch(/attention: waiting/);
    expect(wide.split('\n').length).toBeGreaterThan(narrow.split('\n').length);
    expect(Math.max(...wide.split('\n').map((line) => line.length))).toBeGreaterThan(100);
  });

  it('shows a fetch bar and a failure', () => {
    const state = replay([
      { type: 'fetch-start', expectedRows: 100 },
      { type: 'fetch-progress', progress: { pages: 1, rows: 50, rowsPerSecond: 10 } },
      { type: 'failed', cause: 'Binance answered 418', hint: 'wait before retrying' },
    ]);
    const text = plain(render(<Dashboard state={state} width={80} height={23} />).lastFrame());
    expect(text).toMatch(/fetch █+░+\s+50%/);
    expect(text).toMatch(/Binance answered 418 \(wait before retrying\)/);
    expect(text).toMatch(/failed · q exit/);
  });

  it('shows a download alone in fetch mode: progress, waits, log lines and the files', () => {
    const state = [
      {
        type: 'pipeline',
        event: { type: 'source', description: 'Binance http://127.0.0.1 → /tmp/store.duckdb' },
      },
      { type: 'fetch-start' },
      {
        type: 'fetch-progress',
        progress: {
          pages: 3,
          rows: 3000,
          rowsPerSecond: 1500,
          expectedRows: 6000,
          waitingMs: 2000,
          waitReason: 'rate-limit',
          message: 'HTTP 429',
        },
      },
      {
        type: 'pipeline',
        event: {
          type: 'log',
          level: 'info',
          message: 'archive: BTCUSDT-1h-2024-01.zip loaded (1/2, 744 rows so far)',
        },
      },
    ].reduce(
      (s: DashboardState, a) => dashboardReducer(s, a as DashboardAction),
      initialDashboardState('crypto-anomaly fetch · BTCUSDT 1h', 'fetch'),
    );
    const text = plain(render(<Dashboard state={state} width={80} height={23} />).lastFrame());
    expect(text).toMatch(/^crypto-anomaly fetch · BTCUSDT 1h\nsource: Binance/);
    expect(text).toMatch(/fetch █+░+\s+50% 3 pages · 3,000 rows/);
    expect(text).toMatch(/waiting 2\.0s: rate-limit \(HTTP 429\)/);
    expect(text).toMatch(/archive: BTCUSDT-1h-2024-01\.zip loaded/);
    expect(text).not.toMatch(/Stages/);
    const done = [
      { type: 'fetch-done' },
      {
        type: 'finished',
        outcome: { outDir: '/tmp', files: { store: '/tmp/store.duckdb' }, topAnomalies: {}, elapsedMs: 3000 },
      },
    ].reduce((s: DashboardState, a) => dashboardReducer(s, a as DashboardAction), state);
    const final = plain(render(<Dashboard state={done} width={80} height={23} />).lastFrame());
    expect(final).toMatch(/100% 3 pages · 3,000 rows · done/);
    expect(final).toMatch(/Files in \/tmp\n {2}store\.duckdb/);
    expect(final).toMatch(/finished in 3\.0s · q exit/);
  });
});
