import type { BinanceRestOptions, FetchWaitReason, Interval, Kline, StoreIngestOptions } from '../api.js';
import { DataError, isDataError } from '../errors.js';
import { assertInteger, assertPositiveNumber, assertRange, keysOf } from '../validate.js';
import { formatSeconds } from './give-up.js';
import { parseKlinesResponse } from './kline-response.js';

/** Binance's public market-data host: klines without an API key. */
export const DEFAULT_REST_BASE_URL = 'https://data-api.binance.vision';

/** What `fetchKlines` and `downloadArchive` both take (`StoreIngestOptions`). */
export const STORE_INGEST_KEYS = keysOf<StoreIngestOptions>({
  symbol: true,
  interval: true,
  since: true,
  until: true,
  store: true,
  signal: true,
  giveUpAfterMs: true,
});

/** The REST settings a caller may give (`BinanceRestOptions`), to refuse a misspelt one. */
export const REST_OPTION_KEYS = keysOf<BinanceRestOptions>({
  baseUrl: true,
  maxRetries: true,
  retryBaseMs: true,
  retryMaxMs: true,
  requestTimeoutMs: true,
  weightLimit: true,
  weightSafety: true,
  maxRateLimitWaits: true,
  maxRetryAfterMs: true,
  pageSize: true,
  now: true,
});

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
const abortedMessage = (kept: string) =>
  kept === KLINES_KEPT ? ABORTED_MESSAGE : `The request was cancelled. ${kept}`;
const KLINES_KEPT = 'What was fetched is stored; run again to resume.';

/** What one request asks for: the pair its error messages name, and how a give-up ends. */
export interface RequestSubject {
  symbol?: string;
  interval?: Interval;
  /** After "gave up after N attempts ": e.g. "for BTCUSDT 1m from ...". */
  context: string;
  /** What is kept after a failure: e.g. "What was fetched is stored; run again to resume." */
  kept: string;
}

/** Sorts a failed request (axios error, our DataError for a bad body) into what to do next. */
function classify(
  error: unknown,
  { symbol, interval, kept }: RequestSubject,
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
    return { kind: 'fatal', error: new DataError('ABORTED', abortedMessage(kept)) };
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
      const end = until ? Number(until) : retryAfterMs !== undefined ? Date.now() + retryAfterMs : undefined;
      const when = end !== undefined ? new Date(end).toISOString() : 'a time Binance did not give';
      return {
        kind: 'fatal',
        error: new DataError(
          'IP_BANNED',
          `Binance has banned this IP address until ${when} (HTTP 418) for using too much request weight. Stopped: wait until then before ${kept === KLINES_KEPT ? 'fetching again; what was fetched is stored.' : `asking again. ${kept}`}`,
          end !== undefined ? { until: end } : {},
        ),
      };
    }
    if (status === 429)
      return { kind: 'rate-limit', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (body.code === -1121 && symbol !== undefined) {
      return {
        kind: 'fatal',
        error: new DataError(
          'UNKNOWN_SYMBOL',
          `Binance does not know the symbol "${symbol}" (code -1121). Check the spelling: base and quote asset in capitals, e.g. BTCUSDT.`,
        ),
      };
    }
    if (body.code === -1120 && interval !== undefined) {
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

/**
 * What a give-up error keeps of the last failure: its message, its code (`ECONNREFUSED`,
 * `ERR_BAD_RESPONSE`, ...) and HTTP status, in a plain Error. The axios error itself holds the
 * request, its socket and config and the response: an unhandled rejection printed ~400 lines of
 * them after the one-line message.
 */
function requestCause(error: unknown): unknown {
  if (!(error instanceof Error) || isDataError(error)) return error;
  const { code, response } = error as HttpFailure;
  const cause = new Error(error.message) as Error & { code?: string; status?: number };
  Object.defineProperty(cause, 'name', { value: error.name, configurable: true, writable: true });
  if (error.stack !== undefined) cause.stack = error.stack;
  if (typeof code === 'string') cause.code = code;
  if (typeof response?.status === 'number') cause.status = response.status;
  return cause;
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

export function throwIfAborted(signal?: AbortSignal): void {
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

/** The REST settings `fetchKlines` and the live streams' back-fill share, defaults filled in. */
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

/** The binance package's REST client, as a request gets it. */
export type RestClient = InstanceType<typeof import('binance').MainClient>;

/** Requests with the package's REST policy; see `openRestSession`. */
export interface RestSession {
  /**
   * One request (`call`), its answer checked by `parse` (throw a BAD_RESPONSE DataError to have
   * it retried), with the deadline, retry and rate-limit policy.
   */
  request<T>(
    call: (client: RestClient) => Promise<unknown>,
    parse: (raw: unknown) => T,
    subject: RequestSubject,
  ): Promise<T>;
  /** One GET with the deadline only (no retry), for the exchange's clock. */
  get(endpoint: string): Promise<unknown>;
}

/**
 * Requests through the binance package's REST client that respect rate limits (used weight,
 * 429 Retry-After, 418 ban) and retry 5xx, timeouts, resets and invalid JSON with exponential
 * backoff and jitter. Each request must finish, last byte included, within `requestTimeoutMs`.
 * No API key is sent: only public endpoints are asked. `onWait` hears every pause before it starts.
 */
export async function openRestSession(
  opts: RestOptions,
  stats: RequestStats,
  onWait?: (ms: number, reason: FetchWaitReason, message: string) => void,
): Promise<RestSession> {
  // The binance client (and axios) load on first use, so importing this package stays light.
  const { MainClient } = await import('binance');
  let usedWeight = Number.NaN;
  /**
   * One GET with its own deadline. The client's `timeout` is axios's idle timeout, which a server
   * that trickles bytes never trips; an abort signal bounds the whole request instead. A client
   * per request, because its request options (where the signal goes) are fixed at construction.
   */
  const get = async <T>(
    call: (client: RestClient) => Promise<T>,
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
  const wait = async (ms: number, reason: FetchWaitReason, message: string) => {
    onWait?.(ms, reason, message);
    await sleep(ms, opts.signal);
  };
  const now = () => Math.floor((opts.now ?? Date.now)());

  const request = async <T>(
    call: (client: RestClient) => Promise<unknown>,
    parse: (raw: unknown) => T,
    subject: RequestSubject,
  ): Promise<T> => {
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      if (opts.signal?.aborted) throw new DataError('ABORTED', abortedMessage(subject.kept));
      stats.requests++;
      const deadline = { passed: false, ms: opts.requestTimeoutMs };
      try {
        const parsed = parse(await get(call, deadline));
        if (Number.isFinite(usedWeight) && usedWeight >= opts.weightSafety * opts.weightLimit) {
          const ms = msToNextMinute(now()) + 250;
          await wait(ms, 'weight-limit', `used weight ${usedWeight} of ${opts.weightLimit} per minute`);
        }
        return parsed;
      } catch (error) {
        if (isDataError(error) && error.code !== 'BAD_RESPONSE') throw error;
        const failure = classify(error, subject, opts.signal, deadline);
        if (failure.kind === 'fatal') throw failure.error;
        if (failure.kind === 'rate-limit') {
          rateLimited++;
          stats.rateLimitWaits++;
          if (rateLimited > opts.maxRateLimitWaits) {
            throw new DataError(
              'RATE_LIMITED',
              `Binance kept answering 429 (too many requests) ${rateLimited} times in a row; stopped. ${subject.kept === KLINES_KEPT ? 'What was fetched is stored; run again later to resume.' : subject.kept}`,
            );
          }
          // Asking before Retry-After is what Binance answers with a ban (418): a wait longer than
          // allowed stops the fetch instead, saying until when.
          if (failure.retryAfterMs !== undefined && failure.retryAfterMs > opts.maxRetryAfterMs) {
            const until = new Date(now() + failure.retryAfterMs).toISOString().slice(0, 19).replace('T', ' ');
            throw new DataError(
              'RATE_LIMITED',
              `Binance answered 429 (too many requests) asking to wait ${Math.ceil(failure.retryAfterMs / 1000)} s (Retry-After), longer than the ${Math.ceil(opts.maxRetryAfterMs / 1000)} s allowed (maxRetryAfterMs); stopped rather than ask early, which Binance answers with a ban. ${subject.kept === KLINES_KEPT ? `What was fetched is stored; run again after ${until} UTC to resume.` : subject.kept}`,
            );
          }
          const ms = failure.retryAfterMs ?? Math.min(opts.maxRetryAfterMs, msToNextMinute(now()) + 250);
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
            `${failure.message}; gave up after ${failures} attempts (${opts.maxRetries} retries) ${subject.context}. ${subject.kept}`,
            { cause: requestCause(error) },
          );
        }
        stats.retries++;
        const backoff = Math.min(opts.retryMaxMs, opts.retryBaseMs * 2 ** (failures - 1));
        const ms = Math.round(backoff / 2 + (Math.random() * backoff) / 2);
        await wait(ms, 'retry', `${failure.message}; retry ${failures} of ${opts.maxRetries} in ${ms} ms`);
      }
    }
  };

  return { request, get: (endpoint) => get((client) => client.get(endpoint)) };
}

/**
 * Page requests of one pair's klines with the policy of `openRestSession`; the exchange's clock
 * is asked once (GET /api/v3/time, weight 1) unless `now` is given.
 */
export async function openKlinePager(
  opts: RestOptions,
  symbol: string,
  interval: Interval,
  stats: RequestStats,
  onWait?: (ms: number, reason: FetchWaitReason, message: string) => void,
  /** What a give-up message says is kept (default: what was fetched is stored; run again to resume). */
  kept: string = KLINES_KEPT,
): Promise<KlinePager> {
  // Whether the last candle is still forming is judged on the exchange's clock when it answers.
  const clock = opts.now ?? (await exchangeClock((await openRestSession(opts, stats)).get));
  const session = await openRestSession({ ...opts, now: clock }, stats, onWait);
  const now = () => Math.floor(clock());
  const requestPage = (startTime: number, endTime?: number, limit = opts.pageSize): Promise<Kline[]> =>
    session.request(
      (client) =>
        client.getKlines({
          symbol,
          interval,
          startTime,
          ...(endTime !== undefined ? { endTime } : {}),
          limit,
        }),
      parseKlinesResponse,
      {
        symbol,
        interval,
        context: `for ${symbol} ${interval} from ${new Date(startTime).toISOString()}`,
        kept,
      },
    );
  return { requestPage, now };
}
