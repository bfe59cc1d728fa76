import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';

// Ink renders only the last frame where CI is set; these tests read frames as they change.
vi.hoisted(() => {
  for (const key of Object.keys(process.env))
    if (key === 'CI' || key.startsWith('CI_')) delete process.env[key];
  delete process.env['CONTINUOUS_INTEGRATION'];
});

import { scoreBar } from '../src/watch/components/ScoreBar.js';
import { WatchApp } from '../src/watch/components/WatchApp.js';
import { WatchDashboard } from '../src/watch/components/WatchDashboard.js';
import type { WatchEvent } from '../src/watch/watch-api.js';
import { initialWatchState, type WatchState, watchReducer } from '../src/watch/watch-reducer.js';
import { createWatchStore } from '../src/watch/watch-store.js';
import { plain } from './fixtures.js';
import { alertOf, candleScore, MINUTE, scored, T0 } from './watch-fixtures.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 120));

function events(): WatchEvent[] {
  const list: WatchEvent[] = [
    { type: 'started', symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'], interval: '1m', mode: 'live', at: T0 },
    { type: 'connection', status: { type: 'connected', connection: 1 }, at: T0 },
  ];
  for (let i = 0; i < 60; i++) {
    list.push(scored(candleScore('BTCUSDT', T0 + i * MINUTE, { close: 42_000 + i * 10, flagged: i === 50 })));
    list.push(scored(candleScore('ETHUSDT', T0 + i * MINUTE, { close: 3_000 - i })));
  }
  list.push({ type: 'alert', alert: alertOf('BTCUSDT', T0 + 50 * MINUTE), delivered: true, at: T0 });
  list.push({
    type: 'alert',
    alert: alertOf('BTCUSDT', T0 + 50 * MINUTE, 'isolation-forest'),
    delivered: false,
    at: T0,
  });
  list.push({ type: 'symbol-stopped', symbol: 'SOLUSDT', reason: 'its model did not load' });
  return list;
}

const stateOf = (list: WatchEvent[]): WatchState =>
  list.reduce(
    (state, event) => watchReducer(state, { type: 'event', event }),
    initialWatchState('crypto-anomaly watch · 3 pairs 1m'),
  );

describe('scoreBar', () => {
  it('fills up to the score and marks the threshold', () => {
    expect(scoreBar({ score: 0, threshold: 1 }, 9)).toBe('······│··');
    expect(scoreBar({ score: 1.5, threshold: 1 }, 9)).toBe('██████│██');
    expect(scoreBar({ score: 0.5, threshold: 1 }, 9)).toBe('███···│··');
    expect(scoreBar(undefined, 4)).toBe('    ');
  });
});

describe('WatchDashboard', () => {
  for (const [columns, rows] of [
    [60, 20],
    [80, 24],
    [120, 40],
  ] as const) {
    it(`fits ${columns}x${rows}: pairs, scores, alert feed, connection, keys`, () => {
      const { lastFrame, unmount } = render(
        <WatchDashboard state={stateOf(events())} width={columns} height={rows - 1} />,
      );
      const frame = plain(lastFrame());
      const lines = frame.split('\n');
      expect(lines.length).toBeLessThanOrEqual(rows - 1);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(columns);
      expect(frame).toMatch(/connected · .*lag 800ms/);
      // The whole price (a squeezed column once cut 8242.9 to 865), and the selection marked
      // in text as well (NO_COLOR drops reverse video).
      expect(frame).toMatch(/›BTCUSDT\s+42590\s/);
      expect(frame).toMatch(/SOLUSDT.*stopped: its model did not load/);
      // At 60 columns the bars' headers are cut to their width: for… den… attn con…
      expect(frame).toMatch(/for.*den.*attn.*con/);
      expect(frame).toMatch(/alerts \(newest first\)/);
      expect(frame).toMatch(/03-01 12:50 BTCUSDT consensus \(dspot\): return -4\.1%/);
      expect(frame).toMatch(/1 alerts · 1 suppress/);
      expect(frame).toMatch(/enter detail · s sort \(by symbol\) · q quit/);
      // Ten minutes of candles since BTCUSDT's alert.
      expect(frame).toMatch(/BTCUSDT.*9m/);
      unmount();
    });
  }

  it('shows reconnecting with attempt and wait, and back-filling', () => {
    const state = stateOf([
      ...events(),
      {
        type: 'connection',
        status: { type: 'reconnecting', connection: 1, attempt: 3, waitMs: 4_000, reason: 'socket closed' },
        at: T0,
      },
      { type: 'connection', status: { type: 'backfilling', symbol: 'BTCUSDT', candles: 12 }, at: T0 },
    ]);
    const { lastFrame, unmount } = render(<WatchDashboard state={state} width={100} height={23} />);
    expect(plain(lastFrame())).toMatch(
      /reconnecting: attempt 3, wait 4\.0s \(socket closed\) · back-filling 12 candles/,
    );
    unmount();
  });
});

describe('WatchApp', () => {
  it('selects with the arrows, opens the detail view with its charts and alerts, sorts with s, quits with q', async () => {
    const store = createWatchStore('crypto-anomaly watch');
    const onQuit = vi.fn();
    const { lastFrame, stdin, unmount } = render(
      <WatchApp store={store} onQuit={onQuit} size={{ columns: 80, rows: 24 }} />,
    );
    for (const event of events()) store.dispatch({ type: 'event', event });
    await tick();
    const table = plain(lastFrame());
    expect(table).toMatch(/s sort \(by symbol\)/);
    stdin.write('s');
    await tick();
    expect(plain(lastFrame())).toMatch(/s sort \(by score\)/);
    stdin.write('s');
    stdin.write('s');
    await tick();
    expect(store.getState().sort).toBe('alert');
    // BTCUSDT, the pair with the latest alert, is first: open it.
    stdin.write('\r');
    await tick();
    const detail = plain(lastFrame());
    expect(store.getState().view).toBe('detail');
    expect(detail).toMatch(/BTCUSDT · close 42590 · 60 candles · 1 alerts, 1 suppressed/);
    expect(detail).toMatch(/scores \/ threshold: forest dense attn consensus/);
    expect(detail).toMatch(/[─╭╮╯╰│]{3}/);
    expect(detail).toMatch(/BTCUSDT alerts \(newest first\)/);
    expect(detail).toMatch(/esc back · q quit/);
    for (const line of detail.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(detail.split('\n').length).toBeLessThanOrEqual(23);
    stdin.write('\u001b[B'); // down: the next pair's detail
    await tick();
    expect(plain(lastFrame())).toMatch(/^ETHUSDT|\nETHUSDT · close/);
    stdin.write('\u001b');
    await tick();
    expect(store.getState().view).toBe('table');
    stdin.write('q');
    await tick();
    expect(onQuit).toHaveBeenCalledTimes(1);
    unmount();
  });
});
