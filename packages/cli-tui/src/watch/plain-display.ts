import type { WatchEvent } from './watch-api.js';
import {
  describeRefit,
  initialWatchState,
  statusLine,
  type WatchState,
  watchReducer,
} from './watch-reducer.js';

/** How `watch` shows what happens: the dashboard on a terminal, else plain lines. */
export interface WatchDisplay {
  event(event: WatchEvent): void;
  /** A line for people. */
  note(line: string): void;
  /**
   * Ends the display; resolves when it is gone. A finished replay's dashboard stays until q,
   * unless `stopped` (a signal or q ended the watch: nobody waits to read it).
   */
  close(options?: { stopped?: boolean }): Promise<void>;
  /** Resolves when the user quits (q on the dashboard); never for plain lines. */
  readonly quit: Promise<void>;
}

/** Minutes between two status lines. */
export const STATUS_EVERY_MS = 60_000;

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

/** A human line for the events people want to hear of off a terminal; undefined for the rest. */
export function describeWatchEvent(event: WatchEvent): string | undefined {
  switch (event.type) {
    case 'started':
      // No pairs named (watch --bus): every pair the workers publish.
      return `watching ${event.symbols.length === 0 ? 'every pair on the bus' : `${event.symbols.length} pair${event.symbols.length === 1 ? '' : 's'}`} (${event.interval ?? 'every interval'}, ${event.mode === 'replay' ? 'replay' : 'live'})`;
    case 'warming-up':
      return `${event.symbol}: warmed up on ${event.candles} candles from the ${event.from === 'rest' ? 'exchange (REST)' : event.from}`;
    case 'symbol-stopped':
      return `${event.symbol} stopped: ${event.reason}`;
    case 'warm-up-retry':
      return `${event.symbol}: ${event.reason}; trying again in ${Math.round(event.waitMs / 1000)} s (try ${event.attempt} of ${event.attempts}), the other pairs go on`;
    case 'sink-error':
      return `${event.sink}: ${event.message}`;
    case 'model-refit':
      return describeRefit(event);
    case 'finished':
      return `finished: ${event.candles} candles scored, ${event.alerts} alerts`;
    case 'connection': {
      const status = event.status;
      switch (status.type) {
        case 'connected':
          return `connection ${status.connection} open`;
        case 'reconnecting':
          return `connection ${status.connection} lost (${status.reason}): attempt ${status.attempt} in ${seconds(status.waitMs)}`;
        case 'connection-limit':
          return `connection limit reached: next attempt in ${seconds(status.waitMs)}`;
        case 'backfilling':
          return `${status.symbol}: back-filling about ${status.candles} candles over REST`;
        case 'backfilled':
          return `${status.symbol}: back-filled ${status.candles} candle${status.candles === 1 ? '' : 's'} over REST`;
        case 'backfill-waiting':
          return `${status.symbol}: back-fill waits ${seconds(status.waitMs)}: ${status.message}`;
        case 'backfill-failed':
          return `${status.symbol}: back-fill failed: ${status.message}`;
        case 'symbol-error':
          return `${status.symbol}: ${status.message}${status.dropped ? ' (skipped from now on)' : ''}`;
        case 'message-error':
          return `connection ${status.connection}: ${status.message}`;
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

/**
 * Off a terminal or with --json: stdout carries only JSON lines (each alert, written by the stdout
 * sink, and a status line a minute plus one at the end); what people read goes to stderr.
 */
export function createPlainDisplay(
  title: string,
  out: (line: string) => void,
  err: (line: string) => void,
  everyMs: number = STATUS_EVERY_MS,
  now: () => number = Date.now,
  mode: 'live' | 'replay' = 'live',
): WatchDisplay & { state(): WatchState } {
  let state = initialWatchState(title, mode);
  const timer = setInterval(() => out(JSON.stringify(statusLine(state, now()))), everyMs);
  timer.unref();
  err(title);
  return {
    event(event) {
      state = watchReducer(state, { type: 'event', event });
      const line = describeWatchEvent(event);
      if (line !== undefined) err(line);
    },
    note: err,
    async close() {
      clearInterval(timer);
      out(JSON.stringify(statusLine(state, now(), true)));
    },
    quit: new Promise<void>(() => {}),
    state: () => state,
  };
}
