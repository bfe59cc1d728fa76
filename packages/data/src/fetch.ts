import type {
  FetchKlinesOptions,
  FetchKlinesResult,
  FetchProgress,
  FetchWaitReason,
  Interval,
  Kline,
} from './api.js';
import { DataError, isDataError } from './errors.js';
import { assertInterval, intervalToMilliseconds, nextOpenTime } from './intervals.js';
import {
  assertInteger,
  assertPositiveNumber,
  assertRange,
  assertSymbol,
  assertTimestamp,
} from './validate.js';

/** Binance's public market-data host: klines without an API key. */
export const DEFAULT_REST_BASE_URL = 'https://data-api.binance.vision';

const FETCH_DEFAULTS = Object.freeze({
  baseUrl: DEFAULT_REST_BASE_URL,
  maxRetries: 5,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  requestTimeoutMs: 15_000,
  weightLimit: 6000,
  weightSafety: 0.8,
  maxRateLimitWaits: 30,
  maxRetryAfterMs: 120_000,
  pageSize: 1000,
});

/** Default of `giveUpAfterMs`: how long a whole fetch or download may take before it stops. */
export const DEFAULT_GIVE_UP_AFTER_MS = 3_600_000;

/** setTimeout's longest delay; a longer give-up means none. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * The bound on a whole fetch or download: `signal` aborts when the caller's signal does or when
 * `giveUpAfterMs` has passed; `explain` turns the abort it caused into a TIMEOUT error.
 */
export function startGiveUp(
  giveUpAfterMs: number | undefined,
  callerSignal: AbortSignal | undefined,
): { signal: AbortSignal; explain(error: unknown, what: string): unknown; clear(): void } {
  const limit = assertPositiveNumberOrInfinity('giveUpAfterMs', giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS);
  const controller = new AbortController();
  const timer = limit <= LONGEST_TIMER_MS ? setTimeout(() => controller.abort(), limit) : undefined;
  const signal = callerSignal ? AbortSignal.any([callerSignal, controller.signal]) : controller.signal;
  return {
    signal,
    explain: (error, what) =>
      controller.signal.aborted && !callerSignal?.aborted
        ? new DataError(
            'TIMEOUT',
            `Gave up after ${formatSeconds(limit)} (giveUpAfterMs, the limit for the whole run): ${what}`,
            { cause: error },
          )
        : error,
    clear: () => clearTimeout(timer),
  };
}

function assertPositiveNumberOrInfinity(name: string, value: number): number {
  return value === Number.POSITIVE_INFINITY ? value : assertPositiveNumber(name, value);
}

/** "0.3 s", "15 s", "3600 s": deadlines as people set them. */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

/**
 * Fetches klines from Binance's REST API into the store, incrementally: only the spans in
 * [since, until) that are neither stored nor proven empty are asked for, up to 1000 candles per
 * request, each page stored in its own transaction. The still-open last candle is not stored.
 * Rate limits are respected (used weight, 429 Retry-After, 418 ban); 5xx, timeouts, resets and
 * invalid JSON are retried with exponential backoff and jitter. Every request has an overall
 * deadline (`requestTimeoutMs`) and the whole fetch a give-up (`giveUpAfterMs`). Whatever was
 * stored before a failure stays; running again resumes.
 */
export async function fetchKlines(options: FetchKlinesOptions): Promise<FetchKlinesResult> {
  const symbol = assertSymbol('symbol', options.symbol);
  const interval = assertInterval(options.interval);
  const since = assertTimestamp('since', options.since);
  if (options.until !== undefined) assertTimestamp('until', options.until);
  if (options.until !== undefined && since >= options.until) throw startNotBeforeEnd(since, options.until);
  if (!options.store) {
    throw new DataError('INVALID_ARGUMENT', 'store is required: pass `await KlineStore.open()`.');
  }
  const checked = resolveRestOptions(options);
  const giveUp = startGiveUp(options.giveUpAfterMs, options.signal);
  const stats = { pages: 0, rows: 0, requests: 0, retries: 0, rateLimitWaits: 0 };
  let lastWait: string | undefined;
  try {
    return await fetchMissingRanges(
      options,
      symbol,
      interval,
      since,
      { ...checked, signal: giveUp.signal },
      stats,
      (message) => {
        lastWait = message;
      },
    );
  } catch (error) {
    throw giveUp.explain(
      error,
      `${symbol} ${interval} was not finished (${stats.rows} rows in ${stats.pages} pages stored, ${stats.requests} requests` +
        `${lastWait ? `; last wait: ${lastWait}` : ''}). What was fetched is stored; run again to resume, or allow more time.`,
    );
  } finally {
    giveUp.clear();
  }
}

async function fetchMissingRanges(
  options: FetchKlinesOptions,
  symbol: string,
  interval: Interval,
  since: number,
  opts: RestOptions,
  stats: RequestStats & { pages: number; rows: number },
  onWaitMessage: (message: string) => void,
): Promise<FetchKlinesResult> {
  let started = 0;
  let expectedRows = 0;
  let now = () => Date.now();
  const progress = (extra: Partial<FetchProgress> = {}) => {
    if (!options.onProgress) return;
    const seconds = Math.max(1e-3, (now() - started) / 1000);
    const rowsPerSecond = stats.rows / seconds;
    const remaining = Math.max(0, expectedRows - stats.rows);
    options.onProgress({
      pages: stats.pages,
      rows: stats.rows,
      rowsPerSecond,
      expectedRows,
      ...(rowsPerSecond > 0 ? { etaMs: (remaining / rowsPerSecond) * 1000 } : {}),
      ...extra,
    });
  };
  const pager = await openKlinePager(opts, symbol, interval, stats, (ms, reason, message) => {
    onWaitMessage(message);
    progress({ waitingMs: ms, waitReason: reason, message });
  });
  now = pager.now;
  const requestPage = pager.requestPage;
  const until = options.until ?? now();
  if (since >= until) throw startNotBeforeEnd(since, until);

  const store = options.store;
  started = now();
  const end = Math.min(until, now());
  const ranges = end > since ? await store.missingRanges(symbol, interval, { start: since, end }) : [];
  const step = intervalToMilliseconds(interval);
  expectedRows = ranges.reduce((sum, r) => sum + Math.ceil((r.end - r.start) / step), 0);
  /**
   * Candles from `from`, with no end time: enough to reach one candle past the range, because
   * only a candle the exchange serves after a span proves the span empty (an outage), not an
   * empty or short answer, which a struggling server or proxy also gives.
   */
  const limitAt = (from: number, to: number) =>
    Math.min(opts.pageSize, candlesAtMost(interval, from, to) + 1);
  const ask = (from: number, to: number) => requestPage(from, undefined, limitAt(from, to));

  for (const range of ranges) {
    let cursor = range.start;
    let pending: Promise<Kline[]> | undefined;
    while (cursor < range.end) {
      const page = await (pending ?? ask(cursor, range.end));
      pending = undefined;
      throwIfAborted(opts.signal);
      const inRange = page.filter((k) => k.openTime >= cursor && k.openTime < range.end);
      const fetchedAt = now();
      const open = inRange.find((k) => k.closeTime >= fetchedAt);
      const final = open ? inRange.filter((k) => k.openTime < open.openTime) : inRange;
      const last = final.at(-1);
      const pastRange = page.some((k) => k.openTime >= range.end);
      // The span the exchange proved it has nothing more in: up to the last candle it served.
      let provenEnd: number;
      let nextCursor: number;
      if (open) {
        // The candle still forming: stop here; the next fetch starts from it.
        provenEnd = open.openTime;
        nextCursor = range.end;
      } else if (pastRange) {
        provenEnd = range.end;
        nextCursor = range.end;
      } else if (last && page.length >= limitAt(cursor, range.end)) {
        provenEnd = nextOpenTime(interval, last.openTime);
        nextCursor = provenEnd;
      } else {
        // A short answer with nothing after it proves nothing past its last candle (the symbol
        // may have stopped trading, or the server may be failing): that span stays missing, so
        // the next fetch asks again.
        provenEnd = last ? nextOpenTime(interval, last.openTime) : cursor;
        nextCursor = range.end;
      }
      // Ask for the next page while this one is written: the network and the store overlap.
      if (nextCursor < range.end) {
        pending = ask(nextCursor, range.end);
        pending.catch(() => undefined);
      }
      await store.upsert(symbol, interval, final, { start: cursor, end: provenEnd });
      stats.pages++;
      stats.rows += final.length;
      progress();
      cursor = nextCursor;
    }
  }
  if (stats.pages > 0) await store.compactCoverage(symbol, interval);
  return {
    symbol,
    interval,
    ranges,
    ...stats,
    lastOpenTime: await store.lastOpenTime(symbol, interval),
    elapsedMs: now() - started,
  };
}

/** The most candles that can open in [start, end) (months counted as 28 days: an upper bound). */
function candlesAtMost(interval: Interval, start: number, end: number): number {
  const step = interval === '1M' ? 28 * 86_400_000 : intervalToMilliseconds(interval);
  return Math.max(0, Math.ceil((end - start) / step));
}

type Failure =
  | { kind: 'fatal'; error: DataError }
  | { kind: 'rate-limit'; retryAfterMs?: number }
  | { kind: 'retry'; code: 'NETWORK' | 'BAD_RESPONSE'; message: string };

/** The axios error the binance client rethrows with `parseExceptions: false`. */
interface HttpFailure {
  code?: string;
  message?: string;
  response?: { status?: number; headers?: Record<string, unknown>; data?: unknown };
}

const ABORTED_MESSAGE = 'The fetch was cancelled; what was fetched is stored.';

/** Sorts a failed request (axios error, our DataError for a bad body) into what to do next. */
function classify(
  error: unknown,
  symbol: string,
  interval: Interval,
  signal: AbortSignal | undefined,
  deadline: { passed: boolean; ms: number },
): Failure {
  const failure = (error ?? {}) as HttpFailure;
  if (deadline.passed && !signal?.aborted) {
    return {
      kind: 'retry',
      code: 'NETWORK',
      message: `no complete answer within ${formatSeconds(deadline.ms)} (requestTimeoutMs, the deadline of one request)`,
    };
  }
  if (signal?.aborted || failure.code === 'ERR_CANCELED') {
    return { kind: 'fatal', error: new DataError('ABORTED', ABORTED_MESSAGE) };
  }
  if (isDataError(error)) return { kind: 'retry', code: 'BAD_RESPONSE', message: error.message };
  const response = failure.response;
  if (response && typeof response.status === 'number') {
    const status = response.status;
    const body = (typeof response.data === 'object' && response.data !== null ? response.data : {}) as {
      code?: number;
      msg?: string;
    };
    const retryAfter = Number(response.headers?.['retry-after']);
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined;
    if (status === 418) {
      const until = /banned until (\d{10,})/i.exec(body.msg ?? '')?.[1];
      const when = until
        ? new Date(Number(until)).toISOString()
        : retryAfterMs !== undefined
          ? new Date(Date.now() + retryAfterMs).toISOString()
          : 'a time Binance did not give';
      return {
        kind: 'fatal',
        error: new DataError(
          'IP_BANNED',
          `Binance has banned this IP address until ${when} (HTTP 418) for using too much request weight. Stopped: wait until then before fetching again; what was fetched is stored.`,
        ),
      };
    }
    if (status === 429)
      return { kind: 'rate-limit', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (body.code === -1121) {
      return {
        kind: 'fatal',
        error: new DataError(
          'UNKNOWN_SYMBOL',
          `Binance does not know the symbol "${symbol}" (code -1121). Check the spelling: base and quote asset in capitals, e.g. BTCUSDT.`,
        ),
      };
    }
    if (body.code === -1120) {
      return {
        kind: 'fatal',
        error: new DataError(
          'UNKNOWN_INTERVAL',
          `Binance does not accept the interval "${interval}" (code -1120). Use one of 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M.`,
        ),
      };
    }
    if (status >= 500) return { kind: 'retry', code: 'NETWORK', message: `Binance answered HTTP ${status}` };
    return {
      kind: 'fatal',
      error: new DataError(
        'BAD_RESPONSE',
        `Binance refused the request (HTTP ${status}): ${body.msg ?? 'no message'}${body.code !== undefined ? ` (code ${body.code})` : ''}.`,
      ),
    };
  }
  const message = typeof error === 'string' ? error : (failure.message ?? String(error));
  if (failure.code === 'ECONNABORTED' || failure.code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return { kind: 'retry', code: 'NETWORK', message: `the request timed out (${message})` };
  }
  return {
    kind: 'retry',
    code: 'NETWORK',
    message: `network error: ${failure.code ? `${failure.code} ` : ''}${message}`,
  };
}

/** Checks and converts Binance's kline arrays; invalid JSON or shape is a BAD_RESPONSE. */
export function parseKlinesResponse(raw: unknown): Kline[] {
  if (!Array.isArray(raw)) {
    throw new DataError(
      'BAD_RESPONSE',
      `Binance answered ${typeof raw === 'string' ? 'text that is not valid JSON' : `a ${typeof raw}`} where a list of klines was expected`,
    );
  }
  const klines: Kline[] = new Array(raw.length);
  let previous = -Infinity;
  for (let i = 0; i < raw.length; i++) {
    const row = raw[i] as unknown[];
    if (!Array.isArray(row) || row.length < 11) {
      throw new DataError(
        'BAD_RESPONSE',
        `Binance answered a kline that is not a 12-field array at position ${i}`,
      );
    }
    const kline: Kline = {
      openTime: Number(row[0]),
      open: Number(row[1]),
      high: Number(row[2]),
      low: Number(row[3]),
      close: Number(row[4]),
      volume: Number(row[5]),
      closeTime: Number(row[6]),
      quoteAssetVolume: Number(row[7]),
      numberOfTrades: Number(row[8]),
      takerBuyBaseAssetVolume: Number(row[9]),
      takerBuyQuoteAssetVolume: Number(row[10]),
      ignore: Number(row[11] ?? 0) || 0,
    };
    if (
      !Number.isInteger(kline.openTime) ||
      !Number.isInteger(kline.closeTime) ||
      !Number.isInteger(kline.numberOfTrades) ||
      !Number.isFinite(kline.open + kline.high + kline.low + kline.close + kline.volume) ||
      !Number.isFinite(
        kline.quoteAssetVolume + kline.takerBuyBaseAssetVolume + kline.takerBuyQuoteAssetVolume,
      )
    ) {
      throw new DataError(
        'BAD_RESPONSE',
        `Binance answered a kline with a non-numeric field at position ${i}`,
      );
    }
    if (kline.openTime <= previous) {
      throw new DataError('BAD_RESPONSE', `Binance answered klines out of order at position ${i}`);
    }
    previous = kline.openTime;
    klines[i] = kline;
  }
  return klines;
}

function startNotBeforeEnd(since: number, until: number): DataError {
  return new DataError(
    'INVALID_ARGUMENT',
    `since (${new Date(since).toISOString()}) is not before until (${new Date(until).toISOString()}); give a start before the end.`,
  );
}

/**
 * Local time corrected by the exchange's clock (GET /api/v3/time, weight 1), so a skewed local
 * clock does not store a forming candle as final. Falls back to the local clock if unanswered.
 */
async function exchangeClock(get: (endpoint: string) => Promise<unknown>): Promise<() => number> {
  try {
    const before = Date.now();
    const answer = (await get('api/v3/time')) as { serverTime?: unknown };
    const after = Date.now();
    const serverTime = Number(answer?.serverTime);
    if (!Number.isFinite(serverTime)) return Date.now;
    const offset = Math.round(serverTime - (before + after) / 2);
    return () => Date.now() + offset;
  } catch {
    return Date.now;
  }
}

function msToNextMinute(time: number): number {
  return 60_000 - (time % 60_000);
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DataError('ABORTED', ABORTED_MESSAGE);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DataError('ABORTED', ABORTED_MESSAGE));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DataError('ABORTED', ABORTED_MESSAGE));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The REST settings `fetchKlines` and `liveKlines`' back-fill share, defaults filled in. */
export type RestOptions = {
  [K in keyof typeof FETCH_DEFAULTS]: (typeof FETCH_DEFAULTS)[K] extends string ? string : number;
} & {
  signal?: AbortSignal;
  now?: () => number;
};

/** Fills in and checks the REST settings (base URL, retries, rate limits, timeout, page size). */
export function resolveRestOptions(options: Partial<RestOptions>): RestOptions {
  const opts = { ...FETCH_DEFAULTS, ...withoutUndefined(options) } as RestOptions;
  assertInteger('maxRetries', opts.maxRetries, 0, 100);
  assertPositiveNumber('retryBaseMs', opts.retryBaseMs);
  assertPositiveNumber('retryMaxMs', opts.retryMaxMs);
  assertPositiveNumber('requestTimeoutMs', opts.requestTimeoutMs);
  assertPositiveNumber('weightLimit', opts.weightLimit);
  assertRange('weightSafety', opts.weightSafety, 0.05, 1);
  assertInteger('maxRateLimitWaits', opts.maxRateLimitWaits, 0, 10_000);
  assertInteger('pageSize', opts.pageSize, 1, 1000);
  const baseUrl = String(opts.baseUrl).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) {
    throw new DataError('INVALID_ARGUMENT', `baseUrl must start with http:// or https://, got "${baseUrl}".`);
  }
  return { ...opts, baseUrl };
}

/** Counters `openKlinePager` keeps up to date. */
export interface RequestStats {
  requests: number;
  retries: number;
  rateLimitWaits: number;
}

/** One REST client for one pair: pages of klines with the retry and rate-limit policy. */
export interface KlinePager {
  /**
   * Up to `limit` (default `pageSize`) klines opening at or after `startTime` (and at or before
   * `endTime` when given), parsed and checked.
   */
  requestPage(startTime: number, endTime?: number, limit?: number): Promise<Kline[]>;
  /** The exchange's clock (or `now` when given). */
  now(): number;
}

/**
 * Page requests through the binance package's REST client that respect rate limits (used
 * weight, 429 Retry-After, 418 ban) and retry 5xx, timeouts, resets and invalid JSON with
 * exponential backoff and jitter. Each request must finish, last byte included, within
 * `requestTimeoutMs`. No API key is sent: klines and the server time are public endpoints.
 * `onWait` hears every pause before it starts.
 */
export async function openKlinePager(
  opts: RestOptions,
  symbol: string,
  interval: Interval,
  stats: RequestStats,
  onWait?: (ms: number, reason: FetchWaitReason, message: string) => void,
): Promise<KlinePager> {
  // The binance client (and axios) load on first use, so importing this package stays light.
  const { MainClient } = await import('binance');
  let usedWeight = Number.NaN;
  /**
   * One GET with its own deadline. The client's `timeout` is axios's idle timeout, which a server
   * that trickles bytes never trips; an abort signal bounds the whole request instead. A client
   * per request, because its request options (where the signal goes) are fixed at construction.
   */
  const get = async <T>(
    call: (client: InstanceType<typeof MainClient>) => Promise<T>,
    deadline: { passed: boolean; ms: number } = { passed: false, ms: opts.requestTimeoutMs },
  ): Promise<T> => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      deadline.passed = true;
      controller.abort();
    }, opts.requestTimeoutMs);
    // The caller's signal aborts this request too; the listener goes with it (no AbortSignal.any
    // per request, whose links to a long-lived signal pile up).
    const onAbort = () => controller.abort();
    if (opts.signal?.aborted) controller.abort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const client = new MainClient(
      { baseUrl: opts.baseUrl, disableTimeSync: true, parseExceptions: false },
      { signal: controller.signal },
    );
    try {
      return await call(client);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      usedWeight = Number(client.getRateLimitStates()['x-mbx-used-weight-1m']);
    }
  };
  // Whether the last candle is still forming is judged on the exchange's clock when it answers.
  const clock = opts.now ?? (await exchangeClock((endpoint) => get((client) => client.get(endpoint))));
  const now = () => Math.floor(clock());
  const wait = async (ms: number, reason: FetchWaitReason, message: string) => {
    onWait?.(ms, reason, message);
    await sleep(ms, opts.signal);
  };

  /** One page, with the rate-limit and retry policy. */
  const requestPage = async (
    startTime: number,
    endTime?: number,
    limit = opts.pageSize,
  ): Promise<Kline[]> => {
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      throwIfAborted(opts.signal);
      stats.requests++;
      const deadline = { passed: false, ms: opts.requestTimeoutMs };
      try {
        const raw: unknown = await get(
          (client) =>
            client.getKlines({
              symbol,
              interval,
              startTime,
              ...(endTime !== undefined ? { endTime } : {}),
              limit,
            }),
          deadline,
        );
        const klines = parseKlinesResponse(raw);
        if (Number.isFinite(usedWeight) && usedWeight >= opts.weightSafety * opts.weightLimit) {
          const ms = msToNextMinute(now()) + 250;
          await wait(ms, 'weight-limit', `used weight ${usedWeight} of ${opts.weightLimit} per minute`);
        }
        return klines;
      } catch (error) {
        if (isDataError(error) && error.code !== 'BAD_RESPONSE') throw error;
        const failure = classify(error, symbol, interval, opts.signal, deadline);
        if (failure.kind === 'fatal') throw failure.error;
        if (failure.kind === 'rate-limit') {
          rateLimited++;
          stats.rateLimitWaits++;
          if (rateLimited > opts.maxRateLimitWaits) {
            throw new DataError(
              'RATE_LIMITED',
              `Binance kept answering 429 (too many requests) ${rateLimited} times in a row; stopped. What was fetched is stored; run again later to resume.`,
            );
          }
          const ms = Math.min(opts.maxRetryAfterMs, failure.retryAfterMs ?? msToNextMinute(now()) + 250);
          await wait(
            ms,
            'rate-limit',
            `429 too many requests: waiting ${Math.ceil(ms / 1000)} s (Retry-After), wait ${rateLimited} of at most ${opts.maxRateLimitWaits}`,
          );
          continue;
        }
        failures++;
        if (failures > opts.maxRetries) {
          throw new DataError(
            failure.code,
            `${failure.message}; gave up after ${failures} attempts (${opts.maxRetries} retries) for ${symbol} ${interval} from ${new Date(startTime).toISOString()}. What was fetched is stored; run again to resume.`,
            { cause: error },
          );
        }
        stats.retries++;
        const backoff = Math.min(opts.retryMaxMs, opts.retryBaseMs * 2 ** (failures - 1));
        const ms = Math.round(backoff / 2 + (Math.random() * backoff) / 2);
        await wait(ms, 'retry', `${failure.message}; retry ${failures} of ${opts.maxRetries} in ${ms} ms`);
      }
    }
  };

  return { requestPage, now };
}
