import type { PipelineEvent } from '@crypto-anomaly/core';
import { renderToString } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import {
  type DashboardAction,
  type DashboardState,
  type FetchState,
  STAGES,
  type TrainingState,
} from '../src/api.js';
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

  it("ticks the running stage's elapsed time with the clock", () => {
    const state = replay([
      { type: 'pipeline', event: { type: 'stage', stage: 'autoencoder', status: 'start' }, at: 50_000 },
    ]);
    const at = (now: number) =>
      lines(render(<StageList stages={state.stages} width={26} now={now} />).lastFrame()!)[5];
    expect(at(53_200)).toMatch(/^● autoencoder\s+3\.2s$/);
    expect(at(115_000)).toMatch(/^● autoencoder\s+1m 05s$/);
  });
});

describe('StageList on a short screen', () => {
  const stages = (statuses: Record<string, 'done' | 'start' | 'failed'>, at = 1_000) =>
    replay(
      Object.entries(statuses).flatMap(([stage, status], index) => [
        {
          type: 'pipeline',
          event: { type: 'stage', stage, status: 'start' },
          at: at + index * 100,
        } as DashboardAction,
        ...(status === 'start'
          ? []
          : [
              {
                type: 'pipeline',
                event: { type: 'stage', stage, status, ...(status === 'done' ? { elapsedMs: 100 } : {}) },
                at: at + index * 100 + 100,
              } as DashboardAction,
            ]),
      ]),
    ).stages;

  it('shows every stage when they fit', () => {
    const frame = lines(
      render(<StageList stages={stages({ load: 'done' })} width={26} maxLines={10} />).lastFrame()!,
    );
    expect(frame).toHaveLength(10);
  });

  it('folds the finished stages into one line with their wall time, keeping the running ones', () => {
    const state = stages({
      load: 'done',
      features: 'done',
      preprocess: 'done',
      'isolation-forest': 'done',
      autoencoder: 'start',
      attention: 'start',
    });
    const frame = lines(
      render(<StageList stages={state} width={26} maxLines={7} now={1_700} />).lastFrame()!,
    );
    expect(frame).toHaveLength(7);
    // Four stages one after the other, 100 ms each: 0.4 s from the first start to the last end.
    expect(frame[1]).toMatch(/^✓ 4 done\s+400ms$/);
    expect(frame[2]).toMatch(/^● autoencoder/);
    expect(frame[3]).toMatch(/^● attention/);
    expect(frame.slice(4).join('\n')).toMatch(/○ consensus\n○ outputs\n○ charts/);
  });

  it('then folds the waiting ones into "N more", and at the end leaves one line', () => {
    const state = stages({ load: 'done', features: 'done', preprocess: 'start' });
    const frame = lines(render(<StageList stages={state} width={26} maxLines={5} />).lastFrame()!);
    expect(frame).toEqual([
      expect.stringMatching(/^Stages/),
      expect.stringMatching(/^✓ 2 done/),
      expect.stringMatching(/^● preprocess/),
      expect.stringMatching(/^○ isolation-forest/),
      expect.stringMatching(/^○ 5 more/),
    ]);
    const all = stages(Object.fromEntries(STAGES.map((name) => [name, 'done'])));
    const end = lines(render(<StageList stages={all} width={26} maxLines={3} />).lastFrame()!);
    expect(end).toEqual([expect.stringMatching(/^Stages/), expect.stringMatching(/^✓ 9 done\s+900ms$/)]);
    expect(render(<StageList stages={all} width={26} maxLines={0} />).lastFrame()).toBe('');
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

  it('shows epoch, the ETA range while improving, elapsed, samples/s, best loss, patience and a legend', () => {
    const frame = plain(
      render(
        <LossChart
          detector="autoencoder"
          training={training(4)}
          width={60}
          height={14}
          logScale={false}
          elapsedMs={2100}
        />,
      ).lastFrame(),
    );
    // 500 ms an epoch: 5 epochs of patience at the soonest, the 16 planned ones at the latest.
    expect(frame).toMatch(/epoch 4\/20 · ETA 2\.5s–8\.0s · 2\.1s elapsed · 12\.3k samples\/s/);
    expect(frame).toMatch(/best val loss 0\.3 · improving, patience 5/);
    expect(frame).toMatch(/─ train 0\.25 {2}•· validation 0\.3 {2}┊ best 4 {2}\(linear\)/);
    expect(lines(frame)).toHaveLength(14);
    for (const line of lines(frame)) expect(line.length).toBeLessThanOrEqual(60);
  });

  it('on a plateau gives the early stop as the ETA and says how many epochs of patience are left', () => {
    const state = replay([
      pipeline(epochEvent(1, { epochs: 50 })),
      pipeline(epochEvent(2, { epochs: 50 })),
      pipeline({
        ...(epochEvent(3, { epochs: 50, valLoss: 0.9 }) as Extract<PipelineEvent, { type: 'epoch' }>),
        bestValLoss: 0.6,
        patienceLeft: 3,
      }),
    ]);
    const frame = plain(
      render(
        <LossChart
          detector="autoencoder"
          training={state.training.autoencoder}
          width={70}
          height={14}
          logScale={false}
        />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/epoch 3\/50 · ETA 1\.5s ·/);
    expect(frame).toMatch(/best val loss 0\.6 · early stop in 3 epochs unless val loss improves/);
    expect(frame).toMatch(/┊ best 2/);
  });

  it('spans the epochs run, labels the epoch axis and marks the best epoch, in glyphs as well as colours', () => {
    // 6 epochs of 20 planned; the best validation loss at epoch 4.
    const valLosses = [1, 0.7, 0.5, 0.4, 0.45, 0.5];
    const state = replay(
      valLosses.map((valLoss, i) =>
        pipeline({
          ...(epochEvent(i + 1, { valLoss, loss: valLoss * 0.8 }) as Extract<
            PipelineEvent,
            { type: 'epoch' }
          >),
          bestValLoss: Math.min(...valLosses.slice(0, i + 1)),
        }),
      ),
    );
    const frame = lines(
      plain(
        render(
          <LossChart
            detector="autoencoder"
            training={state.training.autoencoder}
            width={50}
            height={14}
            logScale={false}
          />,
        ).lastFrame(),
      ),
    );
    const axis = frame.at(-2)!;
    const rule = frame.at(-3)!;
    expect(axis).toMatch(/^ {4}epoch 1 +2 +3 +4 +5 +6$/);
    expect(rule).toMatch(/^ {9}└[─┬]+┬$/);
    const plotRows = frame.slice(2, -3);
    // The last epoch reaches the right edge: the x axis is the epochs run, not the 20 planned.
    expect(plotRows.some((line) => line.length === 50 && line.at(-1) !== ' ')).toBe(true);
    // The best epoch's column holds the marker, under its label.
    const bestColumn = axis.indexOf('4');
    expect(plotRows.filter((line) => line[bestColumn] === '┊').length).toBeGreaterThan(3);
    expect(frame.at(-1)).toMatch(/─ train 0\.4 {2}•· validation 0\.5 {2}┊ best 4/);
    // Without colour the two series still differ: a line for train, points for validation.
    const cells = plotRows.map((line) => line.slice(10)).join('');
    expect(cells).toMatch(/[╭╮╯╰─]/);
    expect(cells.match(/•/g)?.length).toBeGreaterThanOrEqual(5);
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
    expect(frame).toMatch(/early stop at epoch 9 \(best epoch 4\)/);
    expect(frame).not.toMatch(/ETA/);
    expect(frame).toMatch(/\(log scale\)/);
    expect(frame).toMatch(/epoch 1\/20 · done/);
  });

  it('says a run that used its whole epoch budget ran all its epochs, not that an early stop is near', () => {
    const finished = replay([
      pipeline(epochEvent(13, { epochs: 14, detector: 'attention' })),
      pipeline({
        ...epochEvent(14, { epochs: 14, detector: 'attention' }),
        patienceLeft: 1,
      } as PipelineEvent),
    ]);
    const frame = plain(
      render(
        <LossChart
          detector="attention"
          training={finished.training.attention}
          width={60}
          height={10}
          logScale={false}
        />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/epoch 14\/14 · done/);
    expect(frame).toMatch(/ran all 14 epochs/);
    expect(frame).not.toMatch(/early stop in/);
  });

  it('keeps the whole ETA range at 37 columns, leaving out the batch and the rate first', () => {
    const state = replay([
      pipeline(epochEvent(1, { epochs: 200 })),
      pipeline({ type: 'batch', detector: 'autoencoder', epoch: 2, batch: 6, batches: 14, loss: 0.5 }),
    ]);
    const props = { detector: 'autoencoder' as const, height: 14, logScale: false, elapsedMs: 12_000 };
    const narrow = lines(
      plain(render(<LossChart {...props} training={state.training.autoencoder} width={37} />).lastFrame()),
    );
    expect(narrow[0]).toBe('epoch 1/200 · ETA 2.5s–1m 40s');
    const wide = lines(
      plain(render(<LossChart {...props} training={state.training.autoencoder} width={90} />).lastFrame()),
    );
    expect(wide[0]).toBe('epoch 1/200 · ETA 2.5s–1m 40s · batch 6/14 · 12s elapsed · 12.3k samples/s');
    const stopped = replay([
      pipeline(epochEvent(1, { epochs: 200 })),
      pipeline({ type: 'early-stop', detector: 'autoencoder', epoch: 48, bestEpoch: 38 }),
    ]);
    const frame = plain(
      render(<LossChart {...props} training={stopped.training.autoencoder} width={37} />).lastFrame(),
    );
    expect(lines(frame)[1]).toBe('early-stopped at 48, best 38');
  });

  it('grows its epoch axis across frames as epoch events arrive', () => {
    const props = { detector: 'autoencoder' as const, width: 52, height: 14, logScale: false };
    const { lastFrame, rerender, frames } = render(<LossChart {...props} training={training(2)} />);
    const lastLabel = (frame: string | undefined) =>
      Number(lines(plain(frame)).at(-2)!.trim().split(/ +/).at(-1));
    const first = plain(lastFrame());
    expect(lastLabel(first)).toBe(2);
    rerender(<LossChart {...props} training={training(6)} />);
    expect(lastLabel(lastFrame())).toBe(6);
    rerender(<LossChart {...props} training={training(12)} />);
    expect(lastLabel(lastFrame())).toBe(12);
    expect(frames.length).toBeGreaterThanOrEqual(3);
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

  it('shows the fitted threshold once the forest has scored every row', () => {
    const stage = { name: 'isolation-forest' as const, status: 'done' as const, elapsedMs: 754 };
    const frame = plain(
      render(
        <IsolationForestProgress
          progress={{ treesBuilt: 200, trees: 200 }}
          stage={stage}
          threshold={0.64123}
          width={60}
        />,
      ).lastFrame(),
    );
    expect(frame).toMatch(/done in 754ms/);
    expect(frame).toMatch(/threshold 0\.6412/);
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

  it('lists every file relative to the output folder, in columns where they fit', () => {
    const files = { a: '/o/a.csv', b: '/o/b.csv', c: '/o/charts/c.png', d: '/o/d.json' };
    expect(lines(render(<FilesWritten outDir="/o" files={files} width={14} />).lastFrame()!)).toEqual([
      'Files in /o',
      '  a.csv',
      '  b.csv',
      '  charts/c.png',
      '  d.json',
    ]);
    // In columns where they fit, like ls; none left out.
    expect(lines(render(<FilesWritten outDir="/o" files={files} width={30} />).lastFrame()!)).toEqual([
      'Files in /o',
      '  a.csv  charts/c.png',
      '  b.csv  d.json',
    ]);
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
    // The pane shown is [bracketed] (and inverse): NO_COLOR keeps the mark.
    expect(text).toMatch(/›autoencoder {3}attention {3}iforest {3}anomalies/);
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

describe('Dashboard as detectors finish and at the end', () => {
  const scored = (
    detector: 'isolation-forest' | 'autoencoder' | 'attention' | 'consensus',
    total: number,
    test: number,
    time: number,
  ): DashboardAction =>
    pipeline({
      type: 'scored',
      detector,
      rows: 4321,
      threshold: 0.6,
      flagged: { total, train: total - test, validation: 0, test },
      topAnomalies: [anomalyRow(time, 0.95)],
    });
  const base: DashboardAction[] = [
    pipeline({ type: 'source', description: 'bundled sample market' }),
    pipeline({ type: 'stage', stage: 'isolation-forest', status: 'done', elapsedMs: 1200 }),
  ];
  // Every detector and the consensus scored.
  const allScored: DashboardAction[] = [
    scored('isolation-forest', 43, 7, Date.UTC(2024, 4, 5, 6)),
    scored('autoencoder', 41, 5, Date.UTC(2024, 4, 6, 6)),
    scored('attention', 39, 4, Date.UTC(2024, 4, 7, 6)),
    scored('consensus', 12, 3, Date.UTC(2024, 4, 8, 6)),
  ];

  it('fills the top anomalies and the flag counts in as each detector finishes', () => {
    const running = replay([...base, { type: 'next-pane' }, { type: 'next-pane' }, { type: 'next-pane' }]);
    expect(running.pane).toBe('anomalies');
    const before = plain(render(<Dashboard state={running} width={100} height={30} />).lastFrame());
    expect(before).toMatch(/The top anomalies appear here as each detector finishes/);
    expect(before).not.toMatch(/Flagged/);
    const one = [scored('isolation-forest', 43, 7, Date.UTC(2024, 4, 5, 6))].reduce(
      dashboardReducer,
      running,
    );
    const frame = plain(render(<Dashboard state={one} width={100} height={30} />).lastFrame());
    expect(frame).toMatch(/isolation-forest \(threshold 0\.6\)/);
    expect(frame).toMatch(/2024-05-05 06:00/);
    expect(frame).toMatch(/Flagged\s+all\s+test/);
    expect(frame).toMatch(/iforest\s+43\s+7/);
    expect(frame).toMatch(/of 4,321 rows/);
    expect(frame).not.toMatch(/autoencoder \(threshold/);
    expect(frame).toMatch(/running · q stop/);
  });

  it('fits the final screen in 60 columns: counts per detector and consensus, the whole path and every file', () => {
    const outDir =
      '/home/analyst/research/crypto-anomaly/2026-12-01/runs/btcusdt-1h-relative-features-seed-7/out';
    const names = [
      'BTCUSDT_processed_data.csv',
      'anomalies_isolation_forest.csv',
      'anomalies_autoencoder.csv',
      'anomalies_attention.csv',
      'anomalies_consensus.csv',
      'chart_price_anomalies.png',
      'chart_training_loss.png',
      'summary.json',
    ];
    const state = replay([
      ...base,
      ...allScored,
      {
        type: 'finished',
        outcome: {
          outDir,
          files: Object.fromEntries(names.map((name) => [name, `${outDir}/${name}`])),
          topAnomalies: {},
          elapsedMs: 75_000,
        },
      },
    ]);
    const frame = lines(plain(render(<Dashboard state={state} width={60} height={23} />).lastFrame()));
    for (const line of frame) expect(line.length).toBeLessThanOrEqual(60);
    expect(frame.length).toBeLessThanOrEqual(23);
    const text = frame.join('\n');
    // Nothing of a path or a file name is cut (the tab bar may be).
    expect(frame.slice(frame.findIndex((line) => line.startsWith('Files in ')))).not.toContain('…');
    // The path, wrapped: its lines put back together give it whole.
    const start = frame.findIndex((line) => line.startsWith('Files in '));
    const firstName = frame.findIndex((line) => line.startsWith('  ') && line.includes('.csv'));
    expect(frame.slice(start, firstName).join('')).toBe(`Files in ${outDir}`);
    for (const name of names) expect(text).toContain(name);
    expect(text).toMatch(/^consensus\s+12 │/m);
    expect(text).toMatch(/^iforest\s+43 │/m);
    expect(text).toMatch(/^autoencoder\s+41 │/m);
    expect(text).toMatch(/^attention\s+39 │/m);
    expect(text).toMatch(/of 4,321 rows/);
    expect(text).toMatch(/consensus \(threshold 0\.6\)/);
    expect(text).toMatch(/finished in 1m 15s · q exit/);
    expect(frame[2]).toMatch(/│ +(autoencoder|dense) {2,3}attention {2,3}iforest {1,2}›anomalies$/);
  });

  it('at 60x20 and 80x24 draws no line over another: the table drops detectors, the stages fold', () => {
    const state = replay([
      ...base,
      ...allScored,
      ...STAGES.filter((stage) => stage !== 'isolation-forest').map((stage) =>
        pipeline({ type: 'stage', stage, status: 'done', elapsedMs: 100 }),
      ),
      {
        type: 'finished',
        // A real run's files: at 60 columns they take seven lines, leaving the panes six.
        outcome: {
          outDir: '/tmp/run',
          files: Object.fromEntries(
            [
              'SAMPLE_processed_data.csv',
              'anomalies_attention.csv',
              'anomalies_autoencoder.csv',
              'anomalies_consensus.csv',
              'anomalies_isolation_forest.csv',
              'chart_agreement.png',
              'chart_price_anomalies.png',
              'chart_scores.png',
              'chart_training_loss.png',
              'model',
              'summary.json',
            ].map((name) => [name, `/tmp/run/${name}`]),
          ),
          topAnomalies: {},
          elapsedMs: 7_000,
        },
      },
    ]);
    for (const [width, rows] of [
      [60, 20],
      [80, 24],
    ] as const) {
      const frame = lines(
        plain(render(<Dashboard state={state} width={width} height={rows - 1} />).lastFrame()),
      );
      expect(frame.length).toBeLessThanOrEqual(rows - 1);
      const pane = frame.map((line) => line.split('│')[1] ?? '').map((line) => line.trim());
      // The table's heading line is itself, not written over by a detector's line.
      expect(pane.find((line) => line.startsWith('time (UTC)'))).toMatch(/^time \(UTC\)\s+close\s+score/);
      for (const line of pane.filter((text) => text.includes('threshold'))) {
        expect(line).toMatch(/^(consensus|isolation-forest|autoencoder|attention) \(threshold [\d.]+\)$/);
      }
      expect(pane.some((line) => line.startsWith('consensus (threshold'))).toBe(true);
      if (width === 60) expect(pane.join('\n')).toMatch(/\+ 2 more detectors/);
      else {
        expect(frame.join('\n')).toMatch(/✓ 9 done/);
        expect(pane.join('\n')).not.toMatch(/more detector/);
      }
    }
  });
});
