import type { Alert, StreamDetectorScore } from '@crypto-anomaly/core';
import type { Interval } from '@crypto-anomaly/data';
import type { WatchEvent } from './watch-api.js';

/** Points of price and score history kept per symbol for the detail view's charts. */
export const HISTORY_POINTS = 240;
/** Alerts kept in the feed. */
export const FEED_SIZE = 200;

export const SORT_KEYS = ['symbol', 'score', 'change', 'alert'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface HistoryPoint {
  openTime: number;
  close: number;
  /** Each detector's score over its threshold (1 = at the threshold), by name. */
  ratios: Record<string, number>;
}

export interface SymbolRow {
  symbol: string;
  close?: number;
  /** The last candle's simple return (close over the previous close, less 1). */
  change?: number;
  /** The last candle's open time. */
  openTime?: number;
  scores: StreamDetectorScore[];
  candles: number;
  alerts: number;
  suppressed: number;
  lastAlertOpenTime?: number;
  /** Why it stopped, when it did. */
  stopped?: string;
  history: HistoryPoint[];
}

export interface FeedItem {
  alert: Alert;
  delivered: boolean;
}

export type ConnectionState =
  | { state: 'starting' }
  | { state: 'replaying' }
  | { state: 'connecting'; connection: number }
  | { state: 'connected' }
  | { state: 'reconnecting'; attempt: number; waitMs: number; reason: string; since: number }
  | { state: 'finished' };

export interface WatchState {
  title: string;
  mode: 'live' | 'replay';
  interval?: Interval;
  rows: Record<string, SymbolRow>;
  connection: ConnectionState;
  /** Symbols being back-filled over REST, with about how many candles. */
  backfilling: Record<string, number>;
  messagesPerSecond?: number;
  /** Wall time from a candle's close to the end of its scoring: the last one and the most of the last 100. */
  lag: { last?: number; recent: number[] };
  feed: FeedItem[];
  candles: number;
  alerts: number;
  suppressed: number;
  /** The newest candle open time seen: "since the last alert" counts in candle time, as a replay does. */
  latestOpenTime?: number;
  /** Lines for people: stopped symbols, sink errors, symbol errors (newest last, a few kept). */
  notes: string[];
  sort: SortKey;
  /**
   * The pair selected (the first row when none was): the selection stays on it when the rows
   * re-sort (a new score, another sort key), as the detail view does.
   */
  selectedSymbol?: string;
  view: 'table' | 'detail';
  finished: boolean;
}

export type WatchAction =
  | { type: 'event'; event: WatchEvent }
  | { type: 'sort-next' }
  | { type: 'select'; delta: number }
  | { type: 'open-detail' }
  | { type: 'close-detail' };

export function initialWatchState(title: string, mode: 'live' | 'replay' = 'live'): WatchState {
  return {
    title,
    mode,
    rows: {},
    connection: { state: 'starting' },
    backfilling: {},
    lag: { recent: [] },
    feed: [],
    candles: 0,
    alerts: 0,
    suppressed: 0,
    notes: [],
    sort: 'symbol',
    view: 'table',
    finished: false,
  };
}

const emptyRow = (symbol: string): SymbolRow => ({
  symbol,
  scores: [],
  candles: 0,
  alerts: 0,
  suppressed: 0,
  history: [],
});

const withNote = (notes: string[], note: string) => [...notes, note].slice(-5);

/** The rows in the order the table shows them. */
export function sortedRows(state: WatchState): SymbolRow[] {
  const rows = Object.values(state.rows);
  const consensus = (row: SymbolRow) => {
    const score = row.scores.find((s) => s.name === 'consensus') ?? row.scores[0];
    return score ? ratioOf(score) : Number.NEGATIVE_INFINITY;
  };
  const by: Record<SortKey, (a: SymbolRow, b: SymbolRow) => number> = {
    symbol: (a, b) => a.symbol.localeCompare(b.symbol),
    score: (a, b) => consensus(b) - consensus(a),
    change: (a, b) => Math.abs(b.change ?? 0) - Math.abs(a.change ?? 0),
    alert: (a, b) => (b.lastAlertOpenTime ?? -1) - (a.lastAlertOpenTime ?? -1),
  };
  return rows.sort((a, b) => by[state.sort](a, b) || a.symbol.localeCompare(b.symbol));
}

/** A score over its threshold: 1 at the threshold. Thresholds at or below 0 compare by difference. */
export function ratioOf(score: Pick<StreamDetectorScore, 'score' | 'threshold'>): number {
  if (score.threshold > 0) return score.score / score.threshold;
  return 1 + (score.score - score.threshold);
}

/** Where the selected pair is in `rows` (the table's order): 0 when none is selected yet. */
export function selectedIndex(state: WatchState, rows: readonly SymbolRow[]): number {
  return Math.max(
    0,
    rows.findIndex((row) => row.symbol === state.selectedSymbol),
  );
}

/** The symbol the detail view shows (the selected row). */
export function selectedRow(state: WatchState): SymbolRow | undefined {
  const rows = sortedRows(state);
  return rows[selectedIndex(state, rows)];
}

/** The dashboard's state machine: watch events and keys in, state out. Pure. */
export function watchReducer(state: WatchState, action: WatchAction): WatchState {
  switch (action.type) {
    case 'sort-next':
      return { ...state, sort: SORT_KEYS[(SORT_KEYS.indexOf(state.sort) + 1) % SORT_KEYS.length]! };
    case 'select': {
      const rows = sortedRows(state);
      if (rows.length === 0) return state;
      const index = (((selectedIndex(state, rows) + action.delta) % rows.length) + rows.length) % rows.length;
      return { ...state, selectedSymbol: rows[index]!.symbol };
    }
    case 'open-detail':
      return Object.keys(state.rows).length === 0 ? state : { ...state, view: 'detail' };
    case 'close-detail':
      return { ...state, view: 'table' };
    case 'event':
      return onEvent(state, action.event);
  }
}

function onEvent(state: WatchState, event: WatchEvent): WatchState {
  switch (event.type) {
    case 'started': {
      const rows: Record<string, SymbolRow> = { ...state.rows };
      for (const symbol of event.symbols) rows[symbol] ??= emptyRow(symbol);
      return {
        ...state,
        mode: event.mode,
        ...(event.interval !== undefined ? { interval: event.interval } : {}),
        rows,
        connection: event.mode === 'replay' ? { state: 'replaying' } : state.connection,
      };
    }
    case 'warming-up':
      return state;
    case 'symbol-stopped': {
      const row = state.rows[event.symbol] ?? emptyRow(event.symbol);
      return {
        ...state,
        rows: { ...state.rows, [event.symbol]: { ...row, stopped: event.reason } },
        notes: withNote(state.notes, `${event.symbol} stopped: ${event.reason}`),
      };
    }
    case 'warm-up-retry':
      return {
        ...state,
        notes: withNote(
          state.notes,
          `${event.symbol}: ${event.reason}; trying again in ${Math.round(event.waitMs / 1000)} s (try ${event.attempt} of ${event.attempts})`,
        ),
      };
    case 'connection':
      return onConnection(state, event.status, event.at);
    case 'scored': {
      const { score } = event;
      const row = state.rows[score.symbol] ?? emptyRow(score.symbol);
      const ratios: Record<string, number> = {};
      for (const detector of score.detectors) ratios[detector.name] = ratioOf(detector);
      const history = [...row.history, { openTime: score.openTime, close: score.close, ratios }];
      if (history.length > HISTORY_POINTS) history.splice(0, history.length - HISTORY_POINTS);
      const recent =
        event.via === 'replay' ? state.lag.recent : [...state.lag.recent, event.lagMs].slice(-100);
      return {
        ...state,
        rows: {
          ...state.rows,
          [score.symbol]: {
            ...row,
            close: score.close,
            change: Math.expm1(score.logReturn),
            openTime: score.openTime,
            scores: score.detectors,
            candles: row.candles + 1,
            history,
          },
        },
        candles: state.candles + 1,
        latestOpenTime: Math.max(state.latestOpenTime ?? score.openTime, score.openTime),
        lag: event.via === 'replay' ? state.lag : { last: event.lagMs, recent },
      };
    }
    case 'alert': {
      const { alert } = event;
      const row = state.rows[alert.symbol] ?? emptyRow(alert.symbol);
      const next: SymbolRow = event.delivered
        ? { ...row, alerts: row.alerts + 1, lastAlertOpenTime: alert.openTime }
        : { ...row, suppressed: row.suppressed + 1 };
      return {
        ...state,
        rows: { ...state.rows, [alert.symbol]: next },
        feed: event.delivered ? [{ alert, delivered: true }, ...state.feed].slice(0, FEED_SIZE) : state.feed,
        alerts: state.alerts + (event.delivered ? 1 : 0),
        suppressed: state.suppressed + (event.delivered ? 0 : 1),
      };
    }
    case 'sink-error':
      return { ...state, notes: withNote(state.notes, `${event.sink}: ${event.message}`) };
    case 'model-refit':
      return { ...state, notes: withNote(state.notes, describeRefit(event)) };
    case 'finished':
      return { ...state, finished: true, connection: { state: 'finished' } };
  }
}

function onConnection(
  state: WatchState,
  status: Extract<WatchEvent, { type: 'connection' }>['status'],
  at: number,
) {
  switch (status.type) {
    case 'connecting':
      return state.connection.state === 'reconnecting'
        ? state
        : { ...state, connection: { state: 'connecting', connection: status.connection } as const };
    case 'connected':
      return { ...state, connection: { state: 'connected' } as const };
    case 'reconnecting':
      return {
        ...state,
        connection: {
          state: 'reconnecting',
          attempt: status.attempt,
          waitMs: status.waitMs,
          reason: status.reason,
          since: at,
        } as const,
      };
    case 'connection-limit':
      return {
        ...state,
        notes: withNote(
          state.notes,
          `connection limit reached: next attempt in ${Math.round(status.waitMs / 1000)}s`,
        ),
      };
    case 'backfilling':
      return { ...state, backfilling: { ...state.backfilling, [status.symbol]: status.candles } };
    case 'backfilled': {
      const { [status.symbol]: _done, ...rest } = state.backfilling;
      return { ...state, backfilling: rest };
    }
    case 'backfill-waiting':
      return {
        ...state,
        notes: withNote(
          state.notes,
          `${status.symbol} back-fill waits ${Math.round(status.waitMs / 1000)}s: ${status.message}`,
        ),
      };
    case 'backfill-failed': {
      const { [status.symbol]: _failed, ...rest } = state.backfilling;
      return {
        ...state,
        backfilling: rest,
        notes: withNote(state.notes, `${status.symbol} back-fill failed: ${status.message}`),
      };
    }
    case 'symbol-error': {
      const row = state.rows[status.symbol];
      const rows =
        status.dropped && row
          ? { ...state.rows, [status.symbol]: { ...row, stopped: status.message } }
          : state.rows;
      // A pair dropped during its back-fill (the exchange no longer knows it) is back-filling no more.
      const { [status.symbol]: _ended, ...backfilling } = state.backfilling;
      return {
        ...state,
        rows,
        backfilling: status.dropped ? backfilling : state.backfilling,
        notes: withNote(state.notes, `${status.symbol}: ${status.message}`),
      };
    }
    case 'message-error':
      return { ...state, notes: withNote(state.notes, `connection ${status.connection}: ${status.message}`) };
    case 'rate':
      return { ...state, messagesPerSecond: status.messagesPerSecond };
  }
}

/** The status line printed once a minute off a terminal (and at the end), as one JSON object. */
export function statusLine(state: WatchState, at: number, final = false): Record<string, unknown> {
  const rows = Object.values(state.rows);
  const lags = state.lag.recent;
  return {
    type: 'status',
    time: new Date(at).toISOString(),
    ...(final ? { final: true } : {}),
    mode: state.mode,
    connection: state.connection.state,
    ...(state.connection.state === 'reconnecting'
      ? { attempt: state.connection.attempt, waitMs: state.connection.waitMs }
      : {}),
    symbols: rows.length,
    stopped: rows.filter((row) => row.stopped !== undefined).map((row) => row.symbol),
    backfilling: Object.keys(state.backfilling).length,
    candles: state.candles,
    alerts: state.alerts,
    suppressed: state.suppressed,
    ...(state.latestOpenTime !== undefined
      ? { latestCandle: new Date(state.latestOpenTime).toISOString() }
      : {}),
    ...(state.messagesPerSecond !== undefined ? { messagesPerSecond: state.messagesPerSecond } : {}),
    ...(lags.length > 0 ? { lagMs: state.lag.last, maxLagMs: Math.max(...lags) } : {}),
  };
}

/** One line on a model re-fit (`watch --refit-every`), for the dashboard's notes and the plain log. */
export function describeRefit(event: Extract<WatchEvent, { type: 'model-refit' }>): string {
  const through = new Date(event.through).toISOString().slice(0, 16).replace('T', ' ');
  if (event.status === 'started')
    return `${event.symbol}: re-fitting its model on the candles through ${through}`;
  if (event.status === 'swapped')
    return `${event.symbol}: model re-fitted through ${through}; it scores from the next candle`;
  return `${event.symbol}: re-fit failed (${event.message ?? 'unknown error'}); the previous model goes on`;
}
