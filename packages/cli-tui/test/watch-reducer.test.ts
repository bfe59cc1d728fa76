import { describe, expect, it } from 'vitest';
import { createPlainDisplay } from '../src/watch/plain-display.js';
import type { WatchEvent } from '../src/watch/watch-api.js';
import {
  FEED_SIZE,
  HISTORY_POINTS,
  initialWatchState,
  selectedRow,
  sortedRows,
  statusLine,
  type WatchAction,
  type WatchState,
  watchReducer,
} from '../src/watch/watch-reducer.js';
import { alertOf, candleScore, MINUTE, scored, T0 } from './watch-fixtures.js';

const event = (e: WatchEvent): WatchAction => ({ type: 'event', event: e });
const run = (actions: WatchAction[], state: WatchState = initialWatchState('watch')) =>
  actions.reduce(watchReducer, state);
const started = event({
  type: 'started',
  symbols: ['ETHUSDT', 'BTCUSDT', 'SOLUSDT'],
  interval: '1m',
  mode: 'live',
  at: T0,
});

describe('watchReducer', () => {
  it('keeps the last close of each symbol, change, scores and a bounded history', () => {
    const actions: WatchAction[] = [started];
    for (let i = 0; i < HISTORY_POINTS + 10; i++)
      actions.push(event(scored(candleScore('BTCUSDT', T0 + i * MINUTE, { close: 100 + i }))));
    const state = run(actions);
    const row = state.rows['BTCUSDT']!;
    expect(row.close).toBe(100 + HISTORY_POINTS + 9);
    expect(row.change).toBeCloseTo(Math.expm1(0.001));
    expect(row.candles).toBe(HISTORY_POINTS + 10);
    expect(row.history).toHaveLength(HISTORY_POINTS);
    expect(row.history[0]!.openTime).toBe(T0 + 10 * MINUTE);
    expect(row.history.at(-1)!.ratios['autoencoder']).toBeCloseTo(0.8 / 1.5);
    expect(state.candles).toBe(HISTORY_POINTS + 10);
    expect(state.lag.last).toBe(800);
    expect(Object.keys(state.rows)).toHaveLength(3);
  });

  it('puts delivered alerts in the feed newest first, counts the held ones as suppressed', () => {
    const actions: WatchAction[] = [started];
    for (let i = 0; i < FEED_SIZE + 5; i++) {
      actions.push(
        event({ type: 'alert', alert: alertOf('BTCUSDT', T0 + i * MINUTE), delivered: true, at: T0 }),
      );
    }
    actions.push(
      event({ type: 'alert', alert: alertOf('ETHUSDT', T0, 'autoencoder'), delivered: false, at: T0 }),
    );
    const state = run(actions);
    expect(state.feed).toHaveLength(FEED_SIZE);
    expect(state.feed[0]!.alert.openTime).toBe(T0 + (FEED_SIZE + 4) * MINUTE);
    expect(state.alerts).toBe(FEED_SIZE + 5);
    expect(state.suppressed).toBe(1);
    expect(state.rows['ETHUSDT']!.suppressed).toBe(1);
    expect(state.rows['BTCUSDT']!.lastAlertOpenTime).toBe(T0 + (FEED_SIZE + 4) * MINUTE);
  });

  it('follows the connection: connecting, connected, reconnecting with attempt and wait, back-fills, rate', () => {
    const at = T0;
    let state = run([
      started,
      event({ type: 'connection', status: { type: 'connecting', connection: 1, streams: 3 }, at }),
    ]);
    expect(state.connection).toEqual({ state: 'connecting', connection: 1 });
    state = run([event({ type: 'connection', status: { type: 'connected', connection: 1 }, at })], state);
    expect(state.connection.state).toBe('connected');
    state = run(
      [
        event({
          type: 'connection',
          status: { type: 'reconnecting', connection: 1, attempt: 2, waitMs: 1500, reason: 'closed' },
          at,
        }),
        event({ type: 'connection', status: { type: 'connecting', connection: 1, streams: 3 }, at }),
      ],
      state,
    );
    expect(state.connection).toMatchObject({ state: 'reconnecting', attempt: 2, waitMs: 1500 });
    state = run(
      [
        event({ type: 'connection', status: { type: 'backfilling', symbol: 'BTCUSDT', candles: 7 }, at }),
        event({ type: 'connection', status: { type: 'backfilling', symbol: 'ETHUSDT', candles: 7 }, at }),
        event({ type: 'connection', status: { type: 'backfilling', symbol: 'SOLUSDT', candles: 3 }, at }),
        event({ type: 'connection', status: { type: 'backfilled', symbol: 'BTCUSDT', candles: 7 }, at }),
        event({ type: 'connection', status: { type: 'rate', messagesPerSecond: 42 }, at }),
        event({
          type: 'connection',
          status: { type: 'symbol-error', symbol: 'SOLUSDT', message: 'unknown symbol', dropped: true },
          at,
        }),
      ],
      state,
    );
    expect(state.backfilling).toEqual({ ETHUSDT: 7 });
    expect(state.messagesPerSecond).toBe(42);
    expect(state.rows['SOLUSDT']!.stopped).toBe('unknown symbol');
    expect(state.notes.at(-1)).toBe('SOLUSDT: unknown symbol');
    const waiting = run(
      [
        event({
          type: 'connection',
          status: {
            type: 'backfill-waiting',
            symbol: 'ETHUSDT',
            waitMs: 3_000,
            message: 'rate limited (HTTP 429)',
          },
          at,
        }),
      ],
      state,
    );
    expect(waiting.notes.at(-1)).toBe('ETHUSDT back-fill waits 3s: rate limited (HTTP 429)');
    const status = statusLine(state, T0 + MINUTE);
    expect(status).toMatchObject({
      type: 'status',
      connection: 'reconnecting',
      attempt: 2,
      backfilling: 1,
      stopped: ['SOLUSDT'],
      messagesPerSecond: 42,
    });
  });

  it('sorts with s, moves the selection with the arrows (wrapping), opens and closes the detail view', () => {
    let state = run([
      started,
      event(scored(candleScore('ETHUSDT', T0, { flagged: true }))),
      event(scored(candleScore('BTCUSDT', T0))),
      event({ type: 'alert', alert: alertOf('SOLUSDT', T0 - MINUTE), delivered: true, at: T0 }),
    ]);
    expect(sortedRows(state).map((row) => row.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    state = watchReducer(state, { type: 'sort-next' });
    expect(state.sort).toBe('score');
    expect(sortedRows(state)[0]!.symbol).toBe('ETHUSDT');
    state = run([{ type: 'sort-next' }, { type: 'sort-next' }], state);
    expect(state.sort).toBe('alert');
    expect(sortedRows(state)[0]!.symbol).toBe('SOLUSDT');
    state = watchReducer(state, { type: 'select', delta: -1 });
    expect(selectedRow(state)!.symbol).toBe(sortedRows(state).at(-1)!.symbol);
    state = watchReducer(state, { type: 'open-detail' });
    expect(state.view).toBe('detail');
    expect(watchReducer(state, { type: 'close-detail' }).view).toBe('table');
    expect(watchReducer(initialWatchState('empty'), { type: 'open-detail' }).view).toBe('table');
  });

  it('keeps the selection on its pair when the rows re-sort (a new score, another sort key)', () => {
    let state = run([
      started,
      event(scored(candleScore('BTCUSDT', T0))),
      event(scored(candleScore('ETHUSDT', T0, { flagged: true }))),
      { type: 'sort-next' },
    ]);
    expect(state.sort).toBe('score');
    expect(
      sortedRows(state)
        .map((row) => row.symbol)
        .slice(0, 2),
    ).toEqual(['ETHUSDT', 'BTCUSDT']);
    state = run([{ type: 'select', delta: 1 }, { type: 'open-detail' }], state);
    expect(selectedRow(state)!.symbol).toBe('BTCUSDT');
    // BTCUSDT's next candle is flagged and rises to the top row: the detail still shows BTCUSDT.
    state = run([event(scored(candleScore('BTCUSDT', T0 + MINUTE, { flagged: true })))], state);
    expect(sortedRows(state)[0]!.symbol).toBe('BTCUSDT');
    expect(selectedRow(state)!.symbol).toBe('BTCUSDT');
    state = watchReducer(state, { type: 'sort-next' });
    expect(selectedRow(state)!.symbol).toBe('BTCUSDT');
  });

  it('ends as finished, and a replay does not count lag', () => {
    const state = run([
      event({ type: 'started', symbols: ['BTCUSDT'], interval: '1h', mode: 'replay', at: T0 }),
      event({ type: 'scored', score: candleScore('BTCUSDT', T0), via: 'replay', lagMs: 0, at: T0 }),
      event({ type: 'finished', candles: 1, alerts: 0, at: T0 }),
    ]);
    expect(state.finished).toBe(true);
    expect(state.lag.recent).toEqual([]);
    expect(statusLine(state, T0, true)).toMatchObject({
      final: true,
      mode: 'replay',
      candles: 1,
      connection: 'finished',
    });
  });
});

describe('the plain display', () => {
  it('says a replay is one from its first status line, even when it stops before the stream starts', async () => {
    const out: string[] = [];
    const display = createPlainDisplay(
      'title',
      (line) => out.push(line),
      () => {},
      60_000,
      () => 0,
      'replay',
    );
    await display.close();
    expect(JSON.parse(out[0]!)).toMatchObject({ type: 'status', final: true, mode: 'replay' });
    const live: string[] = [];
    await createPlainDisplay(
      'title',
      (line) => live.push(line),
      () => {},
    ).close();
    expect(JSON.parse(live[0]!)).toMatchObject({ mode: 'live' });
  });
});
