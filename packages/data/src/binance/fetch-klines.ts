import type {
  BinanceRestOptions,
  FetchKlinesOptions,
  FetchKlinesResult,
  FetchProgress,
  Interval,
  Kline,
  StoreIngestOptions,
} from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval, intervalToMilliseconds, nextOpenTime } from '../intervals.js';
import { assertKnownKeys, assertSymbol, assertTimestamp, keysOf } from '../validate.js';
import { startGiveUp } from './give-up.js';
import {
  openKlinePager,
  REST_OPTION_KEYS,
  type RequestStats,
  type RestOptions,
  resolveRestOptions,
  STORE_INGEST_KEYS,
  throwIfAborted,
} from './rest-pager.js';

const FETCH_KLINES_KEYS = [
  ...STORE_INGEST_KEYS,
  ...REST_OPTION_KEYS,
  // The rest of FetchKlinesOptions, typed so that a new option is not left out.
  ...keysOf<Omit<FetchKlinesOptions, keyof StoreIngestOptions | keyof BinanceRestOptions>>({
    onProgress: true,
  }),
];

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
  assertKnownKeys('fetchKlines options', options, FETCH_KLINES_KEYS);
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
  // With the exchange's time the page was asked at: a candle is final only if it had closed
  // before the request left. Judged at the answer's arrival instead, a candle asked for in its last
  // moments (forming, partial values) passed as closed when the answer came after its close.
  const ask = (from: number, to: number) => {
    const askedAt = now();
    return requestPage(from, undefined, limitAt(from, to)).then((page) => ({ page, askedAt }));
  };

  const unserved: { start: number; end: number }[] = [];
  for (const range of ranges) {
    let cursor = range.start;
    let pending: Promise<{ page: Kline[]; askedAt: number }> | undefined;
    /** Whether a short answer in this range was asked again already. */
    let askedAgain = false;
    while (cursor < range.end) {
      const { page, askedAt } = await (pending ?? ask(cursor, range.end));
      pending = undefined;
      throwIfAborted(opts.signal);
      const inRange = page.filter((k) => k.openTime >= cursor && k.openTime < range.end);
      const open = inRange.find((k) => k.closeTime >= askedAt);
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
        // may have stopped trading, or the server may be failing): asked once more from there (a
        // glitch answers in full then); still short, that span stays missing, is reported, and
        // the next fetch asks again.
        provenEnd = last ? nextOpenTime(interval, last.openTime) : cursor;
        if (!askedAgain && provenEnd < range.end) {
          askedAgain = true;
          nextCursor = provenEnd;
        } else {
          if (provenEnd < range.end) unserved.push({ start: provenEnd, end: range.end });
          nextCursor = range.end;
        }
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
    unserved,
    elapsedMs: now() - started,
  };
}

/** The most candles that can open in [start, end) (months counted as 28 days: an upper bound). */
function candlesAtMost(interval: Interval, start: number, end: number): number {
  const step = interval === '1M' ? 28 * 86_400_000 : intervalToMilliseconds(interval);
  return Math.max(0, Math.ceil((end - start) / step));
}

function startNotBeforeEnd(since: number, until: number): DataError {
  return new DataError(
    'INVALID_ARGUMENT',
    `since (${new Date(since).toISOString()}) is not before until (${new Date(until).toISOString()}); give a start before the end.`,
  );
}
