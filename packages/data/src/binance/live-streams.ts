import type {
  Interval,
  Kline,
  LiveCandle,
  LiveKlinesOptions,
  LiveStatus,
  LiveStreamsOptions,
} from '../api.js';
import { DataError, isDataError } from '../errors.js';
import { assertInterval, intervalToMilliseconds, nextOpenTime } from '../intervals.js';
import {
  assertInteger,
  assertKnownKeys,
  assertPositiveNumber,
  assertSymbol,
  assertTimestamp,
  keysOf,
} from '../validate.js';
import {
  type KlinePager,
  openKlinePager,
  REST_OPTION_KEYS,
  type RestOptions,
  resolveRestOptions,
} from './rest-pager.js';
import { AttemptLimiter, openStreamConnection } from './stream-connection.js';
import { DEFAULT_WS_BASE_URL, parseStreamKline, type StreamKline } from './stream-kline.js';

const LIVE_STREAMS_DEFAULTS = Object.freeze({
  streamsPerConnection: 200,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  connectionLifetimeMs: 23 * 3_600_000 + 50 * 60_000,
  silenceTimeoutMs: 60_000,
  maxConnectionAttempts: 300,
  connectionAttemptWindowMs: 300_000,
  rateIntervalMs: 10_000,
  backfillConcurrency: 4,
  backfillRetryPauseMs: 15_000,
});

/** The settings both `liveKlineStreams` and `liveKlines` take. */
const SHARED_KEYS = {
  interval: true,
  wsUrl: true,
  resumeFrom: true,
  streamsPerConnection: true,
  reconnectBaseMs: true,
  reconnectMaxMs: true,
  connectionLifetimeMs: true,
  silenceTimeoutMs: true,
  maxConnectionAttempts: true,
  connectionAttemptWindowMs: true,
  rateIntervalMs: true,
  backfillConcurrency: true,
  backfillRetryPauseMs: true,
  onStatus: true,
  signal: true,
} as const;
const LIVE_STREAMS_KEYS = keysOf<LiveStreamsOptions>({ ...SHARED_KEYS, symbols: true, rest: true });
const LIVE_KLINES_KEYS = keysOf<LiveKlinesOptions>({ ...SHARED_KEYS, symbol: true, backfill: true });

/** What the iterator knows of one symbol. */
interface SymbolState {
  /** Open time of the last candle yielded (or handled before, from `resumeFrom`). */
  last: number | undefined;
  /** Stream candles that arrived while a back-fill runs, yielded after it; undefined when none runs. */
  held: Kline[] | undefined;
  /** Unknown to the exchange: skipped from now on. */
  dropped: boolean;
  pager: Promise<KlinePager> | undefined;
  /** Back-fills in a row that found no candle while a gap was left (one more try is made). */
  emptyTries: number;
  /** Back-fills in a row that failed (REST errors after their retries; one more try is made). */
  failedTries: number;
  /** When its stream last said anything (a forming candle's update included). */
  heardAt: number;
}

/** The pause before a back-fill that found no candle is tried again (REST may lag the stream). */
const EMPTY_BACKFILL_PAUSE_MS = 2_000;

/** A few back-fills at once, the others queued. */
function semaphore(slots: number) {
  const queued: (() => void)[] = [];
  return {
    async acquire(): Promise<void> {
      if (slots > 0) slots--;
      else await new Promise<void>((resolve) => queued.push(resolve));
    },
    release(): void {
      const next = queued.shift();
      if (next) next();
      else slots++;
    },
  };
}

function checkOptions(options: LiveStreamsOptions) {
  assertKnownKeys('liveKlineStreams options', options, LIVE_STREAMS_KEYS);
  if (options.rest) assertKnownKeys('liveKlineStreams options.rest', options.rest, REST_OPTION_KEYS);
  const opts: Record<keyof typeof LIVE_STREAMS_DEFAULTS, number> = { ...LIVE_STREAMS_DEFAULTS };
  for (const key of Object.keys(LIVE_STREAMS_DEFAULTS) as (keyof typeof LIVE_STREAMS_DEFAULTS)[]) {
    if (options[key] !== undefined) opts[key] = assertPositiveNumber(key, options[key]);
  }
  assertInteger('streamsPerConnection', opts.streamsPerConnection, 1, 1024);
  assertInteger('maxConnectionAttempts', opts.maxConnectionAttempts, 1);
  assertInteger('backfillConcurrency', opts.backfillConcurrency, 1, 64);
  if (!Array.isArray(options.symbols) || options.symbols.length === 0) {
    throw new DataError('INVALID_ARGUMENT', 'symbols must list at least one symbol, e.g. ["BTCUSDT"].');
  }
  const symbols = [...new Set(options.symbols.map((symbol, i) => assertSymbol(`symbols[${i}]`, symbol)))];
  const wsUrl = (options.wsUrl ?? DEFAULT_WS_BASE_URL).replace(/\/+$/, '');
  if (!/^wss?:\/\//.test(wsUrl)) {
    throw new DataError('INVALID_ARGUMENT', `wsUrl must start with ws:// or wss://, got "${wsUrl}".`);
  }
  const resumeFrom = new Map<string, number>();
  for (const [symbol, time] of Object.entries(options.resumeFrom ?? {})) {
    resumeFrom.set(symbol, assertTimestamp(`resumeFrom.${symbol}`, time));
  }
  return { ...opts, symbols, wsUrl, resumeFrom, interval: assertInterval(options.interval) };
}

/**
 * Closed candles of many symbols as they close, from Binance's combined kline streams
 * (`${wsUrl}/stream?streams=btcusdt@kline_1m/...`, `streamsPerConnection` streams per
 * connection). Per symbol each candle once and in open-time order: updates of the forming candle
 * are skipped, repeats dropped, and the candles that closed while a connection was down (or since
 * `resumeFrom`) are back-filled over REST and yielded first. Connections are reopened with
 * backoff and jitter, renewed before Binance's 24 h cut, dropped when silent, and their attempts
 * limited (300 per 5 minutes). A malformed candle or unknown symbol is reported and skipped; the
 * others go on. Ends when `signal` aborts or the consumer stops iterating; every socket and
 * timer goes with it.
 */
export function liveKlineStreams(options: LiveStreamsOptions): AsyncIterableIterator<LiveCandle> {
  const opts = checkOptions(options);
  const interval: Interval = opts.interval;
  const stop = new AbortController();
  const rest: RestOptions | undefined =
    options.rest === false ? undefined : resolveRestOptions({ ...options.rest, signal: stop.signal });
  const onStatus = (status: LiveStatus) => options.onStatus?.(status);
  const states = new Map<string, SymbolState>();
  const bySymbolName = new Map<string, string>();
  for (const symbol of opts.symbols) {
    states.set(symbol, {
      last: opts.resumeFrom.get(symbol),
      held: undefined,
      dropped: false,
      pager: undefined,
      emptyTries: 0,
      failedTries: 0,
      heardAt: Date.now(),
    });
    bySymbolName.set(symbol.toLowerCase(), symbol);
  }
  const queue: LiveCandle[] = [];
  let waiting: ((result: IteratorResult<LiveCandle>) => void) | undefined;
  let done = false;
  const slots = semaphore(opts.backfillConcurrency);
  const stats = { requests: 0, retries: 0, rateLimitWaits: 0 };
  let exchangeNow: (() => number) | undefined;
  /** Binance banned this IP until then (HTTP 418): no REST request before it, which would lengthen the ban. */
  let bannedUntil = 0;
  /** Names already reported as not asked for, so each is reported once. */
  const strangers = new Set<string>();

  /** Hands a candle to the consumer unless it is not newer than the symbol's last one. */
  const emit = (symbol: string, state: SymbolState, kline: Kline, via: LiveCandle['via']): boolean => {
    if (done || state.dropped || (state.last !== undefined && kline.openTime <= state.last)) return false;
    state.last = kline.openTime;
    const candle: LiveCandle = { symbol, interval, kline, via };
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: candle, done: false });
    } else queue.push(candle);
    return true;
  };

  /** Yields over REST the candles after the symbol's last one up to the first held one (or now). */
  const backfill = async (symbol: string, state: SymbolState, restOptions: RestOptions) => {
    const held = () => state.held ?? [];
    const firstHeld = () => Math.min(...held().map((k) => k.openTime));
    let cursor = nextOpenTime(interval, state.last!);
    let candles = 0;
    let failed = false;
    let retrying = false;
    await slots.acquire();
    try {
      const endEstimate = held().length > 0 ? firstHeld() : Date.now();
      onStatus({
        type: 'backfilling',
        symbol,
        candles: Math.max(0, Math.floor((endEstimate - cursor) / intervalToMilliseconds(interval))),
      });
      // The exchange's clock is asked once (by the first pagers), not once per symbol.
      const options = exchangeNow ? { ...restOptions, now: exchangeNow } : restOptions;
      // Each pause (a 429's Retry-After, the used weight, a retry) is said, not waited in silence.
      // A give-up says itself what happens next (tried again, or the gap given up).
      state.pager ??= openKlinePager(
        options,
        symbol,
        interval,
        stats,
        (waitMs, _reason, message) => onStatus({ type: 'backfill-waiting', symbol, waitMs, message }),
        '',
      );
      const { requestPage, now } = await state.pager;
      exchangeNow ??= now;
      for (;;) {
        const end = held().length > 0 ? firstHeld() : now();
        if (done || cursor >= end) break;
        // Final only if it had closed before the request left (the exchange's time then): judged at
        // the answer's arrival, a candle asked for in its last moments passed as closed with
        // partial values, and the stream's real one was then dropped as already seen.
        const askedAt = now();
        const page = await requestPage(cursor, end - 1);
        // Only closed candles before the first held one; the forming one comes from the stream.
        const closed = page.filter((k) => k.openTime >= cursor && k.openTime < end && k.closeTime < askedAt);
        for (const kline of closed) if (emit(symbol, state, kline, 'backfill')) candles++;
        const last = page.at(-1);
        if (!last || closed.length < page.length || page.length < restOptions.pageSize) break;
        cursor = nextOpenTime(interval, last.openTime);
      }
      onStatus({ type: 'backfilled', symbol, candles });
    } catch (error) {
      state.pager = undefined;
      if (isDataError(error) && error.code === 'IP_BANNED') {
        bannedUntil = Math.max(bannedUntil, error.until ?? Date.now() + 60_000);
      }
      if (!done && isDataError(error) && error.code === 'UNKNOWN_SYMBOL') {
        state.dropped = true;
        onStatus({ type: 'symbol-error', symbol, message: error.message, dropped: true });
      } else if (!done) {
        failed = true;
        const message = ((error as Error)?.message ?? String(error)).trim().replace(/\.$/, '');
        const to = held().length > 0 ? firstHeld() : Date.now();
        if (Date.now() >= bannedUntil && state.failedTries < 1) {
          // Tried once more after a pause; the stream's candles wait, in order.
          state.failedTries++;
          onStatus({
            type: 'backfill-waiting',
            symbol,
            waitMs: opts.backfillRetryPauseMs,
            message: `back-fill failed (${message}); trying again in ${opts.backfillRetryPauseMs / 1000} s, the stream's candles held until then`,
          });
          retrying = true;
          setTimeout(() => {
            if (!done) void backfill(symbol, state, restOptions);
          }, opts.backfillRetryPauseMs).unref?.();
        } else {
          const missing = Math.max(0, Math.round((to - cursor) / intervalToMilliseconds(interval)));
          onStatus({
            type: 'backfill-failed',
            symbol,
            message: `${message}; gave up on the ${missing} candle${missing === 1 ? '' : 's'} missed from ${new Date(cursor).toISOString()}: they stay unscored, and the stream goes on`,
            from: cursor,
            to,
          });
        }
      }
    } finally {
      slots.release();
    }
    if (retrying) return;
    state.failedTries = 0;
    const pending = held().sort((a, b) => a.openTime - b.openTime);
    // REST may lag the stream by a moment: a back-fill that found none while a gap is left is
    // tried once more after a pause (the stream's candles held meanwhile), before the gap is given
    // up and said so (an exchange outage has no candles to find).
    const gapLeft =
      pending.length > 0 &&
      state.last !== undefined &&
      pending[0]!.openTime > nextOpenTime(interval, state.last);
    if (!failed && candles === 0 && gapLeft && !done && Date.now() >= bannedUntil && state.emptyTries < 1) {
      state.emptyTries++;
      state.held = pending;
      setTimeout(() => {
        if (!done) void backfill(symbol, state, restOptions);
      }, EMPTY_BACKFILL_PAUSE_MS).unref?.();
      return;
    }
    if (!failed && candles === 0 && gapLeft && state.last !== undefined) {
      const from = nextOpenTime(interval, state.last);
      const missing = Math.round((pending[0]!.openTime - from) / intervalToMilliseconds(interval));
      onStatus({
        type: 'backfill-failed',
        symbol,
        message: `the exchange served none of the ${missing} candle${missing === 1 ? '' : 's'} missed (an outage, or REST behind the stream); they stay unscored`,
        from,
        to: pending[0]!.openTime,
      });
    }
    state.emptyTries = 0;
    state.held = undefined;
    // A back-fill that found candles is followed by another if a gap is still left; one that found
    // none (said above) or failed leaves it.
    for (const kline of pending) {
      if (candles > 0) receive(symbol, state, kline);
      else emit(symbol, state, kline, 'stream');
    }
  };

  /** Starts a back-fill unless one runs, there is no REST, nothing was handled yet, or REST is banned. */
  const startBackfill = (symbol: string, state: SymbolState, first?: Kline) => {
    if (!rest || state.held || state.dropped || state.last === undefined) return false;
    if (Date.now() < bannedUntil) {
      onStatus({
        type: 'backfill-failed',
        symbol,
        message: `not asked: Binance banned this IP until ${new Date(bannedUntil).toISOString()} (HTTP 418), and asking during a ban lengthens it`,
        from: nextOpenTime(interval, state.last),
        to: first?.openTime ?? Date.now(),
      });
      return false;
    }
    state.held = first ? [first] : [];
    void backfill(symbol, state, rest);
    return true;
  };

  /** A closed stream candle: yielded, held while a back-fill runs, or the start of one after a gap. */
  const receive = (symbol: string, state: SymbolState, kline: Kline) => {
    if (state.held) state.held.push(kline);
    else if (state.last !== undefined && kline.openTime > nextOpenTime(interval, state.last)) {
      if (!startBackfill(symbol, state, kline)) emit(symbol, state, kline, 'stream');
    } else emit(symbol, state, kline, 'stream');
  };

  let messages = 0;
  const onMessage = (text: string, connection: number) => {
    messages++;
    let event: { stream?: unknown; data?: { e?: unknown; s?: unknown; k?: Record<string, unknown> } };
    try {
      event = JSON.parse(text);
    } catch {
      const stream = /"stream"\s*:\s*"([a-z0-9_.-]+)@kline_/i.exec(text)?.[1];
      const symbol = stream && bySymbolName.get(stream.toLowerCase());
      if (symbol)
        onStatus({
          type: 'symbol-error',
          symbol,
          message: 'malformed message (not JSON); skipped',
          dropped: false,
        });
      else onStatus({ type: 'message-error', connection, message: `not JSON: ${text.slice(0, 80)}` });
      return;
    }
    const data = event?.data;
    if (typeof event?.stream !== 'string' || data?.e !== 'kline') return; // answers, other events
    const name = event.stream.split('@')[0] ?? '';
    const symbol = bySymbolName.get(name);
    const state = symbol === undefined ? undefined : states.get(symbol);
    if (symbol === undefined || state === undefined) {
      if (!strangers.has(name)) {
        strangers.add(name);
        onStatus({
          type: 'symbol-error',
          symbol: name.toUpperCase(),
          message: `stream ${event.stream} was not asked for; skipped`,
          dropped: false,
        });
      }
      return;
    }
    if (state.dropped) return;
    state.heardAt = Date.now();
    const k = data.k;
    if (
      typeof k !== 'object' ||
      k === null ||
      k.s !== symbol ||
      k.i !== interval ||
      typeof k.x !== 'boolean'
    ) {
      onStatus({
        type: 'symbol-error',
        symbol,
        message: `malformed kline event: ${text.slice(0, 120)}`,
        dropped: false,
      });
      return;
    }
    if (!k.x) return; // the forming candle
    const kline = parseStreamKline(k as unknown as StreamKline);
    if (!kline) {
      onStatus({
        type: 'symbol-error',
        symbol,
        message: `kline with non-numeric fields: ${text.slice(0, 120)}`,
        dropped: false,
      });
      return;
    }
    receive(symbol, state, kline);
  };

  // Spread the symbols evenly over as few connections as the per-connection limit allows.
  const connectionCount = Math.ceil(opts.symbols.length / opts.streamsPerConnection);
  const perConnection = Math.ceil(opts.symbols.length / connectionCount);
  const groups = Array.from({ length: connectionCount }, (_, i) =>
    opts.symbols.slice(i * perConnection, (i + 1) * perConnection),
  );
  const limiter = new AttemptLimiter(opts.maxConnectionAttempts, opts.connectionAttemptWindowMs);
  const settings = {
    reconnectBaseMs: opts.reconnectBaseMs,
    reconnectMaxMs: opts.reconnectMaxMs,
    lifetimeMs: opts.connectionLifetimeMs,
    silenceTimeoutMs: opts.silenceTimeoutMs,
  };
  const connections: { close(): void }[] = [];

  let rateSince = Date.now();
  const rateTimer = setInterval(() => {
    const now = Date.now();
    const seconds = Math.max(1e-3, (now - rateSince) / 1000);
    onStatus({ type: 'rate', messagesPerSecond: Math.round((messages / seconds) * 100) / 100 });
    messages = 0;
    rateSince = now;
  }, opts.rateIntervalMs);

  // One pair gone quiet while its connection lives on (the others keep it busy): a pair Binance
  // delisted just stops. Its REST back-fill finds out (-1121 drops it, saying so); a pair that is
  // merely quiet costs one request per silence.
  const quietTimer = setInterval(() => {
    const now = Date.now();
    for (const [symbol, state] of states) {
      if (state.dropped || now - state.heardAt <= opts.silenceTimeoutMs) continue;
      state.heardAt = now;
      startBackfill(symbol, state);
    }
  }, opts.silenceTimeoutMs);
  quietTimer.unref?.();

  const finish = () => {
    if (done) return;
    done = true;
    clearInterval(rateTimer);
    clearInterval(quietTimer);
    for (const connection of connections) connection.close();
    stop.abort();
    options.signal?.removeEventListener('abort', finish);
    queue.length = 0;
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
  };
  options.signal?.addEventListener('abort', finish, { once: true });
  if (options.signal?.aborted) finish();

  if (!done) {
    for (const [symbol, state] of states) if (opts.resumeFrom.has(symbol)) startBackfill(symbol, state);
    groups.forEach((group, index) => {
      const streams = group.map((symbol) => `${symbol.toLowerCase()}@kline_${interval}`);
      const url = `${opts.wsUrl}/stream?streams=${streams.join('/')}`;
      connections.push(
        openStreamConnection(index + 1, url, streams.length, settings, limiter, {
          message: onMessage,
          status: onStatus,
          open: (_connection, afterFailure) => {
            if (!afterFailure) return;
            for (const symbol of group) startBackfill(symbol, states.get(symbol)!);
          },
        }),
      );
    });
  }

  const iterator: AsyncIterableIterator<LiveCandle> = {
    next() {
      const candle = queue.shift();
      if (candle) return Promise.resolve({ value: candle, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return() {
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Closed candles of one symbol: `liveKlineStreams` for one symbol, yielding the klines alone,
 * with the back-fill over REST only when `backfill` is given.
 */
export function liveKlines(options: LiveKlinesOptions): AsyncIterableIterator<Kline> {
  assertKnownKeys('liveKlines options', options, LIVE_KLINES_KEYS);
  if (options.backfill) assertKnownKeys('liveKlines options.backfill', options.backfill, REST_OPTION_KEYS);
  const { symbol, backfill, ...rest } = options;
  const streams = liveKlineStreams({
    ...rest,
    symbols: [assertSymbol('symbol', symbol)],
    rest: backfill ?? false,
  });
  const iterator: AsyncIterableIterator<Kline> = {
    async next() {
      const next = await streams.next();
      return next.done ? next : { value: next.value.kline, done: false };
    },
    async return() {
      await streams.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
