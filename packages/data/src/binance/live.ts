import type { WebsocketClient } from 'binance';
import type { Kline, LiveKlinesOptions } from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval, nextOpenTime } from '../intervals.js';
import { assertPositiveNumber, assertSymbol } from '../validate.js';
import { type KlinePager, openKlinePager, resolveRestOptions } from './rest-pager.js';

/** Binance's spot stream host, as the binance package has it. */
export const DEFAULT_WS_BASE_URL = 'wss://stream.binance.com:9443';

/** The `k` object of a Binance kline stream event. */
interface StreamKline {
  t: number;
  T: number;
  s: string;
  i: string;
  o: string;
  c: string;
  h: string;
  l: string;
  v: string;
  n: number;
  x: boolean;
  q: string;
  V: string;
  Q: string;
  B?: string;
}

/** Converts a stream kline; undefined when it is not a well-formed closed candle. */
export function parseStreamKline(k: StreamKline): Kline | undefined {
  const kline: Kline = {
    openTime: Number(k.t),
    open: Number(k.o),
    high: Number(k.h),
    low: Number(k.l),
    close: Number(k.c),
    volume: Number(k.v),
    closeTime: Number(k.T),
    quoteAssetVolume: Number(k.q),
    numberOfTrades: Number(k.n),
    takerBuyBaseAssetVolume: Number(k.V),
    takerBuyQuoteAssetVolume: Number(k.Q),
    ignore: Number(k.B ?? 0) || 0,
  };
  return Object.values(kline).every(Number.isFinite) ? kline : undefined;
}

const silentLogger = { trace: () => undefined, info: () => undefined, error: () => undefined };

/**
 * Closed candles for a symbol and interval as they close, from Binance's kline stream (the
 * binance package's WebsocketClient). Updates of the candle still forming are skipped; a candle
 * is yielded once, even if the stream repeats it after a reconnect. Lost connections are
 * re-established with exponential backoff and jitter; `onStatus` reports each step. With
 * `backfill`, candles missed while disconnected are fetched over REST and yielded in their place.
 * Ends when `signal` aborts or the consumer stops iterating.
 */
export function liveKlines(options: LiveKlinesOptions): AsyncIterableIterator<Kline> {
  const symbol = assertSymbol('symbol', options.symbol);
  const interval = assertInterval(options.interval);
  const baseMs = assertPositiveNumber('reconnectBaseMs', options.reconnectBaseMs ?? 500);
  const maxMs = assertPositiveNumber('reconnectMaxMs', options.reconnectMaxMs ?? 30_000);
  const wsUrl = (options.wsUrl ?? DEFAULT_WS_BASE_URL).replace(/\/+$/, '');
  if (!/^wss?:\/\//.test(wsUrl)) {
    throw new DataError('INVALID_ARGUMENT', `wsUrl must start with ws:// or wss://, got "${wsUrl}".`);
  }
  const rest =
    options.backfill === undefined || options.backfill === false
      ? undefined
      : resolveRestOptions({
          ...options.backfill,
          ...(options.signal ? { signal: options.signal } : {}),
        });
  let attempt = 0;
  let lastOpenTime = -Infinity;
  const queue: Kline[] = [];
  let waiting: ((result: IteratorResult<Kline>) => void) | undefined;
  let done = false;
  let client: WebsocketClient | undefined;
  /** Stream candles that arrived while a back-fill runs; yielded after it. */
  let held: Kline[] | undefined;
  let pager: Promise<KlinePager> | undefined;
  const requestStats = { requests: 0, retries: 0, rateLimitWaits: 0 };

  /** Hands a candle to the consumer unless it is not newer than the last one. */
  const emit = (kline: Kline) => {
    if (done || kline.openTime <= lastOpenTime) return;
    lastOpenTime = kline.openTime;
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: kline, done: false });
    } else queue.push(kline);
  };

  /** Yields over REST the candles between the last one yielded and the first held one. */
  const backfill = async (restOptions: NonNullable<typeof rest>) => {
    const from = nextOpenTime(interval, lastOpenTime);
    const before = requestStats.requests;
    let klines = 0;
    try {
      pager ??= openKlinePager(restOptions, symbol, interval, requestStats);
      const { requestPage, now } = await pager;
      let cursor = from;
      for (;;) {
        const end = held?.[0]?.openTime ?? now();
        if (done || cursor >= end) break;
        const page = await requestPage(cursor, end - 1);
        const fetchedAt = now();
        // Only closed candles before the first held one; the forming one comes from the stream.
        const closed = page.filter(
          (k) => k.openTime >= cursor && k.openTime < end && k.closeTime < fetchedAt,
        );
        for (const kline of closed) emit(kline);
        klines += closed.length;
        const last = page.at(-1);
        if (!last || closed.length < page.length || page.length < restOptions.pageSize) break;
        cursor = nextOpenTime(interval, last.openTime);
      }
      options.onStatus?.({
        type: 'backfilled',
        klines,
        from,
        to: held?.[0]?.openTime ?? nextOpenTime(interval, lastOpenTime),
        requests: requestStats.requests - before,
      });
    } catch (error) {
      pager = undefined;
      options.onStatus?.({
        type: 'error',
        message: `back-fill failed (${klines} candles recovered): ${(error as Error)?.message ?? String(error)}`,
      });
    }
    const pending = held ?? [];
    held = undefined;
    for (const kline of pending) emit(kline);
  };

  /** A closed stream candle: yielded, or held while the gap before it is filled. */
  const receive = (kline: Kline) => {
    if (held) {
      held.push(kline);
      return;
    }
    const gap = Number.isFinite(lastOpenTime) && kline.openTime > nextOpenTime(interval, lastOpenTime);
    if (rest && gap) {
      held = [kline];
      void backfill(rest);
      return;
    }
    emit(kline);
  };

  const finish = () => {
    if (done) return;
    done = true;
    client?.removeAllListeners();
    client?.closeAll(true);
    options.signal?.removeEventListener('abort', finish);
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
  };
  options.signal?.addEventListener('abort', finish, { once: true });
  if (options.signal?.aborted) finish();

  const connect = async () => {
    // The binance package loads on first use, so importing this package stays light.
    const { WebsocketClient } = await import('binance');
    if (done) return;
    const ws = new WebsocketClient(
      { wsUrl, reconnectTimeout: baseMs, pingInterval: 10_000, pongTimeout: 5_000 },
      silentLogger,
    );
    client = ws;
    // The client reads reconnectTimeout at each reconnect; raising it per failure gives backoff.
    const clientOptions = (ws as unknown as { options: { reconnectTimeout: number } }).options;
    // Backoff resets on the first message after a connection, not on the connection itself, so a
    // server that accepts and drops at once is still retried ever more slowly.
    const healthy = () => {
      if (attempt === 0) return;
      attempt = 0;
      clientOptions.reconnectTimeout = baseMs;
    };
    ws.on('open', (event: { wsUrl?: string }) => {
      options.onStatus?.({ type: 'open', url: event.wsUrl ?? wsUrl });
    });
    ws.on('reconnected', (event: { wsUrl?: string }) => {
      options.onStatus?.({ type: 'reconnected', url: event.wsUrl ?? wsUrl });
    });
    ws.on('reconnecting', () => {
      attempt++;
      options.onStatus?.({ type: 'reconnecting', attempt, delayMs: clientOptions.reconnectTimeout });
      const next = Math.min(maxMs, baseMs * 2 ** attempt);
      clientOptions.reconnectTimeout = Math.round(next / 2 + (Math.random() * next) / 2);
    });
    ws.on('exception', (event: unknown) => {
      const message = (event as { message?: string })?.message ?? JSON.stringify(event)?.slice(0, 200);
      options.onStatus?.({ type: 'error', message: String(message) });
    });
    ws.on('message', (message) => {
      healthy();
      const event = message as unknown as { e?: string; k?: StreamKline };
      const k = event?.k;
      if (event?.e !== 'kline' || !k || !k.x || k.s !== symbol || k.i !== interval) return;
      const kline = parseStreamKline(k);
      if (kline && kline.openTime > lastOpenTime) receive(kline);
    });
    await ws.subscribeSpotKline(symbol, interval);
  };
  if (!done) {
    connect().catch((error: unknown) => {
      options.onStatus?.({
        type: 'error',
        message: `subscribe failed: ${(error as Error)?.message ?? String(error)}`,
      });
    });
  }

  const iterator: AsyncIterableIterator<Kline> = {
    next() {
      const kline = queue.shift();
      if (kline) return Promise.resolve({ value: kline, done: false });
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
