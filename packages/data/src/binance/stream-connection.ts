import type { WebSocket } from 'ws';
import type { LiveStatus } from '../api.js';
import { formatSeconds } from './give-up.js';

/** How one stream connection behaves; `liveKlineStreams` fills these from its options. */
export interface ConnectionSettings {
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  lifetimeMs: number;
  silenceTimeoutMs: number;
}

/** What a connection tells its owner. */
export interface ConnectionEvents {
  message(text: string, connection: number): void;
  /** A socket opened; `afterFailure` when it replaces one that was lost (not a planned renewal). */
  open(connection: number, afterFailure: boolean): void;
  status(status: LiveStatus): void;
}

/**
 * Connection attempts within a sliding window (Binance: 300 per 5 minutes per IP); shared by
 * every connection of one `liveKlineStreams`.
 */
export class AttemptLimiter {
  private readonly attempts: number[] = [];
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds to wait before the next attempt is allowed (0: now). */
  delay(now: number): number {
    while (this.attempts.length > 0 && this.attempts[0]! <= now - this.windowMs) this.attempts.shift();
    return this.attempts.length < this.max ? 0 : this.attempts[0]! + this.windowMs - now;
  }

  record(now: number): void {
    this.attempts.push(now);
  }
}

/** The `ws` package loads on first use, so importing this package stays light. */
let wsModule: Promise<typeof import('ws')> | undefined;

const noop = () => undefined;

/** Closes a socket politely when open (cut after 1 s if the server does not answer), else cuts it. */
function dispose(socket: WebSocket): void {
  socket.removeAllListeners();
  socket.on('error', noop);
  if (socket.readyState === socket.OPEN) {
    socket.close(1000);
    setTimeout(() => socket.terminate(), 1_000).unref();
  } else if (socket.readyState !== socket.CLOSED) {
    socket.terminate();
  }
}

/**
 * One combined-stream connection (`url` carries its streams), kept open: reopened with
 * exponential backoff and jitter when it closes, errs or falls silent, renewed before its
 * lifetime ends (the new socket opens before the old one closes, so no message falls between),
 * each attempt counted by the shared limiter. Protocol pings are answered by `ws` itself.
 */
export function openStreamConnection(
  number: number,
  url: string,
  streams: number,
  settings: ConnectionSettings,
  limiter: AttemptLimiter,
  events: ConnectionEvents,
): { close(): void } {
  let ended = false;
  let current: WebSocket | undefined;
  /** The socket being renewed: it keeps delivering until its successor opens. */
  let retiring: WebSocket | undefined;
  let attempt = 0;
  let afterFailure = false;
  let waitTimer: NodeJS.Timeout | undefined;
  let silenceTimer: NodeJS.Timeout | undefined;
  let lifetimeTimer: NodeJS.Timeout | undefined;

  const clearTimers = () => {
    clearTimeout(waitTimer);
    clearTimeout(silenceTimer);
    clearTimeout(lifetimeTimer);
  };

  const armSilence = (socket: WebSocket) => {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      if (socket === current) fail(`no message for ${formatSeconds(settings.silenceTimeoutMs)}`);
    }, settings.silenceTimeoutMs);
  };

  /** The current socket is lost: drop it and try again after a growing, jittered wait. */
  const fail = (reason: string) => {
    if (ended) return;
    clearTimers();
    if (current) dispose(current);
    current = undefined;
    afterFailure = true;
    attempt++;
    const ceiling = Math.min(settings.reconnectMaxMs, settings.reconnectBaseMs * 2 ** (attempt - 1));
    const waitMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    events.status({ type: 'reconnecting', connection: number, attempt, waitMs, reason });
    waitTimer = setTimeout(() => void connect(), waitMs);
  };

  const connect = async (reason?: string) => {
    if (ended) return;
    const limitWaitMs = limiter.delay(Date.now());
    if (limitWaitMs > 0) {
      events.status({ type: 'connection-limit', connection: number, waitMs: limitWaitMs });
      waitTimer = setTimeout(() => void connect(reason), limitWaitMs);
      return;
    }
    limiter.record(Date.now());
    events.status({ type: 'connecting', connection: number, streams, ...(reason ? { reason } : {}) });
    wsModule ??= import('ws');
    const { WebSocket } = await wsModule;
    if (ended) return;
    const socket = new WebSocket(url, { handshakeTimeout: settings.silenceTimeoutMs });
    current = socket;
    armSilence(socket);
    let lastError = '';
    socket.on('error', (error) => {
      lastError = error.message;
    });
    socket.on('open', () => {
      if (socket !== current) return;
      events.status({ type: 'connected', connection: number });
      if (retiring) dispose(retiring);
      retiring = undefined;
      clearTimeout(lifetimeTimer);
      lifetimeTimer = setTimeout(renew, settings.lifetimeMs);
      events.open(number, afterFailure);
      afterFailure = false;
    });
    socket.on('message', (data) => {
      if (ended) return;
      if (socket === current) {
        armSilence(socket);
        attempt = 0; // a message, not the handshake alone, proves the connection healthy
      }
      events.message(String(data), number);
    });
    socket.on('close', (code, why) => {
      if (socket === retiring) retiring = undefined;
      if (socket !== current) return;
      const detail = String(why) || lastError;
      fail(`closed (code ${code}${detail ? `: ${detail}` : ''})`);
    });
  };

  /** Opens the successor first; the old socket closes once the new one is open. */
  const renew = () => {
    if (ended || !current) return;
    if (retiring) dispose(retiring);
    retiring = current;
    current = undefined;
    clearTimeout(silenceTimer);
    void connect(`renewed after ${formatSeconds(settings.lifetimeMs)}, before Binance's 24 h limit`);
  };

  void connect();
  return {
    close() {
      if (ended) return;
      ended = true;
      clearTimers();
      if (current) dispose(current);
      if (retiring) dispose(retiring);
      current = retiring = undefined;
    },
  };
}
