import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type {
  ArchiveFileProgress,
  BinanceArchiveOptions,
  BinanceRestOptions,
  DownloadArchiveOptions,
  DownloadArchiveResult,
  Interval,
  Kline,
  StoreIngestOptions,
  TimeRange,
} from '../api.js';
import { MICROSECOND_THRESHOLD } from '../csv/layout.js';
import { parseKlinesCsvStream } from '../csv/read-csv.js';
import { DataError, isDataError } from '../errors.js';
import { assertInterval, nextOpenTime } from '../intervals.js';
import {
  assertInteger,
  assertKnownKeys,
  assertPositiveNumber,
  assertSymbol,
  assertTimestamp,
  keysOf,
} from '../validate.js';
import { startGiveUp } from './give-up.js';
import {
  type KlinePager,
  openKlinePager,
  REST_OPTION_KEYS,
  resolveRestOptions,
  STORE_INGEST_KEYS,
} from './rest-pager.js';

/** Binance's public data archive. */
export const DEFAULT_ARCHIVE_BASE_URL = 'https://data.binance.vision';

const DAY_MS = 86_400_000;

/** The settings of `downloadArchive` that `binanceSource`'s `archive` takes. */
export const ARCHIVE_OPTION_KEYS = keysOf<BinanceArchiveOptions>({
  baseUrl: true,
  maxRetries: true,
  retryBaseMs: true,
  requestTimeoutMs: true,
  now: true,
});

const DOWNLOAD_ARCHIVE_KEYS = [
  ...STORE_INGEST_KEYS,
  ...ARCHIVE_OPTION_KEYS,
  // The rest of DownloadArchiveOptions, typed so that a new option is not left out.
  ...keysOf<Omit<DownloadArchiveOptions, keyof StoreIngestOptions | keyof BinanceArchiveOptions>>({
    onProgress: true,
    rest: true,
  }),
];

/** One archive file: its URL path, name and the span of open times it holds. */
export interface ArchiveFile {
  period: 'monthly' | 'daily';
  name: string;
  path: string;
  start: number;
  end: number;
}

/** The archive's name for an interval (it writes a month as `1mo`). */
function archiveInterval(interval: Interval): string {
  return interval === '1M' ? '1mo' : interval;
}

function fileFor(
  symbol: string,
  interval: Interval,
  period: 'monthly' | 'daily',
  start: number,
): ArchiveFile {
  const date = new Date(start);
  const y = date.getUTCFullYear();
  const m = String(date.getUTCMonth() + 1).padStart(2, '0');
  const d = String(date.getUTCDate()).padStart(2, '0');
  const name = `${symbol}-${archiveInterval(interval)}-${y}-${m}${period === 'daily' ? `-${d}` : ''}.zip`;
  const end = period === 'daily' ? start + DAY_MS : Date.UTC(y, date.getUTCMonth() + 1, 1);
  return {
    period,
    name,
    path: `data/spot/${period}/klines/${symbol}/${archiveInterval(interval)}/${name}`,
    start,
    end,
  };
}

/**
 * The archive files that cover `ranges`: whole past months as monthly files, and days of the
 * current month (before today) as daily files. Today is never in the archive.
 */
export function planArchiveFiles(
  symbol: string,
  interval: Interval,
  ranges: readonly TimeRange[],
  now: number,
): ArchiveFile[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const nowDate = new Date(now);
  const thisMonth = Date.UTC(nowDate.getUTCFullYear(), nowDate.getUTCMonth(), 1);
  const files = new Map<string, ArchiveFile>();
  for (const range of ranges) {
    const first = new Date(range.start);
    let month = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1);
    while (month < range.end && month < today) {
      const monthly = fileFor(symbol, interval, 'monthly', month);
      if (monthly.end <= thisMonth) {
        files.set(monthly.name, monthly);
      } else if (interval !== '1M') {
        const firstDay = Math.max(month, Math.floor(range.start / DAY_MS) * DAY_MS);
        for (let day = firstDay; day < Math.min(range.end, today); day += DAY_MS) {
          const daily = fileFor(symbol, interval, 'daily', day);
          files.set(daily.name, daily);
        }
      }
      month = monthly.end;
    }
  }
  return [...files.values()].sort((a, b) => a.start - b.start);
}

/**
 * Bulk history from Binance's public data archive into the store: the monthly and daily zip
 * files covering what the store is missing in [since, until), each checked against its
 * `.CHECKSUM` (sha256) before use, parsed (milliseconds, or microseconds as from 2025-01-01) and
 * written in one transaction per file, with the file's span recorded as answered. Files the
 * archive lacks (not yet published) are listed; `fetchKlines` fills the remainder over REST.
 * Files of spans the pair has no candles in (before it listed, while it was delisted) are not
 * asked for: the REST API says where its candles start (see `rest`).
 */
export async function downloadArchive(options: DownloadArchiveOptions): Promise<DownloadArchiveResult> {
  assertKnownKeys('downloadArchive options', options, DOWNLOAD_ARCHIVE_KEYS);
  if (options.rest) assertKnownKeys('downloadArchive options.rest', options.rest, REST_OPTION_KEYS);
  const symbol = assertSymbol('symbol', options.symbol);
  const interval = assertInterval(options.interval);
  const now = options.now ?? Date.now;
  const since = assertTimestamp('since', options.since);
  const until = options.until === undefined ? now() : assertTimestamp('until', options.until);
  if (since >= until) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `since (${new Date(since).toISOString()}) is not before until (${new Date(until).toISOString()}); give a start before the end.`,
    );
  }
  const maxRetries = assertInteger('maxRetries', options.maxRetries ?? 3, 0, 100);
  const retryBaseMs = assertPositiveNumber('retryBaseMs', options.retryBaseMs ?? 1000);
  const requestTimeoutMs = assertPositiveNumber('requestTimeoutMs', options.requestTimeoutMs ?? 60_000);
  const baseUrl = (options.baseUrl ?? DEFAULT_ARCHIVE_BASE_URL).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) {
    throw new DataError('INVALID_ARGUMENT', `baseUrl must start with http:// or https://, got "${baseUrl}".`);
  }
  const giveUp = startGiveUp(options.giveUpAfterMs, options.signal);
  const result: DownloadArchiveResult = { files: 0, missingFiles: [], rows: 0, microsecondFiles: 0 };
  try {
    return await loadFiles(options, symbol, interval, since, until, now, giveUp.signal, result, {
      maxRetries,
      retryBaseMs,
      requestTimeoutMs,
      baseUrl,
    });
  } catch (error) {
    throw giveUp.explain(
      error,
      `${result.files} files (${result.rows} rows) of ${symbol} ${interval} were loaded and are stored; run again to resume, or allow more time.`,
    );
  } finally {
    giveUp.clear();
  }
}

async function loadFiles(
  options: DownloadArchiveOptions,
  symbol: string,
  interval: Interval,
  since: number,
  until: number,
  now: () => number,
  signal: AbortSignal,
  result: DownloadArchiveResult,
  settings: { maxRetries: number; retryBaseMs: number; requestTimeoutMs: number; baseUrl: string },
): Promise<DownloadArchiveResult> {
  const { maxRetries, retryBaseMs, requestTimeoutMs, baseUrl } = settings;
  const store = options.store;
  const missing = await store.missingRanges(symbol, interval, { start: since, end: Math.min(until, now()) });
  const files = planArchiveFiles(symbol, interval, missing, now());
  let handled = 0;
  const report = (
    file: ArchiveFile,
    status: ArchiveFileProgress['status'],
    extra: Partial<ArchiveFileProgress> = {},
  ) =>
    options.onProgress?.({
      file: file.name,
      status,
      files: handled,
      filesTotal: files.length,
      rows: result.rows,
      ...extra,
    });
  /** The file the REST request for where the candles are is made for (its waits name it). */
  let asking: ArchiveFile | undefined;
  const firstCandle =
    options.rest === false
      ? undefined
      : firstCandleFinder(options.rest ?? {}, symbol, interval, signal, (message) => {
          if (asking) report(asking, 'waiting', { message });
        });
  /**
   * The open time of the pair's first candle at or after `time`, or undefined when unknown. A
   * pair listed long after `since` would otherwise cost one 404 per month and day before it.
   */
  const candlesFrom = async (time: number, before: ArchiveFile) => {
    asking = before;
    return firstCandle ? await firstCandle(time) : undefined;
  };
  /** Drops the planned files from `index` on that end by `time`: the pair has no candle in them. */
  const skipFilesBefore = (index: number, time: number) => {
    let end = index;
    while (end < files.length && files[end]!.end <= time) end++;
    files.splice(index, end - index);
  };

  if (files.length > 0) {
    const first = await candlesFrom(Math.max(files[0]!.start, since), files[0]!);
    if (first !== undefined) skipFilesBefore(0, first);
  }
  for (let index = 0; index < files.length; index++) {
    const file = files[index]!;
    let attempt = 0;
    for (;;) {
      if (signal?.aborted)
        throw new DataError('ABORTED', 'The download was cancelled; loaded files are stored.');
      try {
        const zip = await get(`${baseUrl}/${file.path}`, requestTimeoutMs, signal);
        if (zip === undefined) {
          handled++;
          if (file.period === 'monthly') {
            // A month the archive lacks: not published yet, a hole in the archive, or one the pair
            // did not trade in (delisted, or not yet relisted). Where its candles resume says which.
            const resumes = await candlesFrom(Math.max(file.start, since), file);
            if (resumes !== undefined) skipFilesBefore(index + 1, resumes);
            if (interval !== '1M' && (resumes === undefined || resumes < file.end)) {
              // Monthly files appear some days into the next month; until then the days are there.
              const today = Math.floor(now() / DAY_MS) * DAY_MS;
              const from = Math.max(
                file.start,
                Math.floor(Math.max(since, resumes ?? since) / DAY_MS) * DAY_MS,
              );
              for (let day = from; day < Math.min(file.end, until, today); day += DAY_MS) {
                files.splice(index + 1 + (day - from) / DAY_MS, 0, fileFor(symbol, interval, 'daily', day));
              }
            }
          }
          result.missingFiles.push(file.name);
          report(file, 'missing');
          break;
        }
        const checksumText = await get(`${baseUrl}/${file.path}.CHECKSUM`, requestTimeoutMs, signal);
        if (checksumText === undefined) {
          throw new DataError(
            'CHECKSUM_MISMATCH',
            `${file.name} has no .CHECKSUM file in the archive; refusing an unverified file.`,
          );
        }
        const expected = /^([0-9a-f]{64})\b/i.exec(checksumText.toString('utf8').trim())?.[1]?.toLowerCase();
        const actual = createHash('sha256').update(zip).digest('hex');
        if (expected !== actual) {
          throw new DataError(
            'CHECKSUM_MISMATCH',
            `${file.name}: sha256 ${actual} does not match its .CHECKSUM (${expected ?? 'unreadable'}); the download is damaged.`,
          );
        }
        const klines: Kline[] = [];
        let micro = false;
        for await (const batch of parseKlinesCsvStream(await openSingleEntry(zip, file.name), file.name, {
          rawTimestamps: true,
        })) {
          for (const raw of batch) {
            if (raw.openTime >= MICROSECOND_THRESHOLD) {
              micro = true;
              raw.openTime = Math.floor(raw.openTime / 1000);
              raw.closeTime = Math.floor(raw.closeTime / 1000);
            }
            if (raw.openTime >= since && raw.openTime < until) klines.push(raw);
          }
        }
        // The file proves empty only what lies before a candle it holds: the span after its last
        // candle stays missing, for the REST fetch to ask (and prove) again.
        const lastKline = klines.reduce<Kline | undefined>(
          (latest, k) => (latest && latest.openTime >= k.openTime ? latest : k),
          undefined,
        );
        const covered = {
          start: Math.max(file.start, since),
          end: lastKline ? nextOpenTime(interval, lastKline.openTime) : Math.max(file.start, since),
        };
        result.rows += await store.upsert(symbol, interval, klines, covered);
        result.files++;
        if (micro) result.microsecondFiles++;
        handled++;
        report(file, 'loaded', { timestampUnit: micro ? 'microseconds' : 'milliseconds' });
        break;
      } catch (error) {
        const retryable =
          !isDataError(error) || error.code === 'NETWORK' || error.code === 'CHECKSUM_MISMATCH';
        if (isDataError(error) && error.code === 'ABORTED') throw error;
        attempt++;
        if (!retryable || attempt > maxRetries) {
          if (isDataError(error) && error.code !== 'NETWORK') throw error;
          throw new DataError(
            'NETWORK',
            `Downloading ${file.name} failed after ${attempt} attempts: ${(error as Error).message}. Files loaded before it are stored; run again to resume.`,
            { cause: error },
          );
        }
        const delay = Math.round(retryBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
        report(file, 'retrying', {
          message: `${(error as Error).message}; retry ${attempt} of ${maxRetries} in ${delay} ms`,
        });
        await pause(delay, signal);
      }
    }
  }
  if (result.files > 0) await store.compactCoverage(symbol, interval);
  return result;
}

/**
 * Asks the REST API for the open time of the pair's first candle at or after a time (one GET
 * /api/v3/klines, limit 1, weight 2, with the package's retries and rate-limit waits; `onWait`
 * hears each wait). Undefined when the answer tells nothing: no candle (not listed yet, halted, or
 * a server answering short), a symbol the REST API does not know (the archive keeps delisted
 * pairs' files) or a failed request; after a failure it asks no more. One answer serves every
 * time from the one asked up to the candle it names. Only a cancel (ABORTED) is thrown.
 */
function firstCandleFinder(
  rest: BinanceRestOptions,
  symbol: string,
  interval: Interval,
  signal: AbortSignal,
  onWait: (message: string) => void,
): (time: number) => Promise<number | undefined> {
  // Only the candle's open time is used, never whether it is still forming: no exchange clock.
  const opts = resolveRestOptions({ ...rest, signal, now: rest.now ?? Date.now });
  let pager: Promise<KlinePager> | undefined;
  let known: { from: number; first: number } | undefined;
  let failed = false;
  return async (time) => {
    if (known && known.from <= time && time <= known.first) return known.first;
    if (failed) return undefined;
    try {
      pager ??= openKlinePager(
        opts,
        symbol,
        interval,
        { requests: 0, retries: 0, rateLimitWaits: 0 },
        (_ms, _reason, message) => onWait(message),
        'Loaded files are stored; run again to resume.',
      );
      const [first] = await (await pager).requestPage(time, undefined, 1);
      if (first === undefined) return undefined;
      known = { from: time, first: first.openTime };
      return first.openTime;
    } catch (error) {
      if (isDataError(error) && error.code === 'ABORTED') throw error;
      failed = true;
      return undefined;
    }
  };
}

/** Waits `ms`, or rejects with ABORTED as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DataError('ABORTED', 'The download was cancelled; loaded files are stored.'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * GET a URL into a buffer within `timeoutMs`, last byte included; undefined on 404; a NETWORK
 * DataError on other failures, ABORTED when `signal` aborts.
 */
async function get(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Buffer | undefined> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const failed = (what: string, error: unknown) => {
    if (signal?.aborted)
      return new DataError('ABORTED', 'The download was cancelled; loaded files are stored.');
    const why = deadline.aborted
      ? `no complete answer within ${timeoutMs / 1000} s (requestTimeoutMs, the deadline of one request)`
      : (error as Error).message;
    return new DataError('NETWORK', `GET ${url} ${what}: ${why}`, { cause: error });
  };
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ? AbortSignal.any([deadline, signal]) : deadline });
  } catch (error) {
    throw failed('failed', error);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new DataError('NETWORK', `GET ${url} answered HTTP ${response.status}`);
  }
  try {
    return Buffer.from(await response.arrayBuffer());
  } catch (error) {
    throw failed('broke off', error);
  }
}

/** The one CSV entry of an archive zip, as a stream. */
function openSingleEntry(zip: Buffer, name: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, zipfile) => {
      if (error || !zipfile) {
        reject(
          new DataError('BAD_RESPONSE', `${name} is not a readable zip: ${error?.message}`, { cause: error }),
        );
        return;
      }
      zipfile.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/') || !entry.fileName.toLowerCase().endsWith('.csv')) {
          zipfile.readEntry();
          return;
        }
        zipfile.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream)
            reject(new DataError('BAD_RESPONSE', `${name}: ${streamError?.message}`));
          else resolve(stream);
        });
      });
      zipfile.on('end', () => reject(new DataError('BAD_RESPONSE', `${name} holds no CSV file.`)));
      zipfile.on('error', (zipError: Error) =>
        reject(new DataError('BAD_RESPONSE', `${name}: ${zipError.message}`)),
      );
      zipfile.readEntry();
    });
  });
}
