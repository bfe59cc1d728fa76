import type { Interval, KlineStore } from '@crypto-anomaly/data';
import { formatCount, formatDuration } from './format.js';
import type { Reporter } from './reporter.js';

export interface FetchIntoStoreOptions {
  symbol: string;
  interval: Interval;
  since: number;
  until?: number;
  store: KlineStore;
  /** Binance REST base URL (default the data package's public market-data host). */
  baseUrl?: string;
  /** Bulk-load Binance's monthly and daily archive files first; REST fills the rest. */
  archive?: boolean;
  archiveBaseUrl?: string;
  /** Deadline of one request, last byte included (default the data package's: 15 s REST, 60 s archive). */
  requestTimeoutMs?: number;
  /** The longest the whole fetch, archive included, may take (default the data package's: one hour). */
  giveUpAfterMs?: number;
}

export interface FetchIntoStoreResult {
  rows: number;
  pages: number;
  requests: number;
  retries: number;
  rateLimitWaits: number;
  archiveRows: number;
  elapsedMs: number;
}

/**
 * Fills the store for a symbol and interval: the archive files first when asked, then Binance's
 * REST API for whatever is still missing (only missing spans are asked for, so it resumes).
 */
export async function fetchIntoStore(
  options: FetchIntoStoreOptions,
  reporter: Reporter,
): Promise<FetchIntoStoreResult> {
  const data = await import('@crypto-anomaly/data');
  const started = Date.now();
  // One give-up for the archive and the REST fetch together: the REST part gets what is left.
  const giveUpAfterMs = options.giveUpAfterMs;
  const remaining = () =>
    giveUpAfterMs === undefined ? {} : { giveUpAfterMs: Math.max(1, giveUpAfterMs - (Date.now() - started)) };
  const requestTimeout =
    options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {};
  /** Says when the give-up is hit, in the user's terms (the error names what the stage had left). */
  const bounded = <T>(work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      if (data.isDataError(error) && error.code === 'TIMEOUT') {
        const limit =
          giveUpAfterMs !== undefined
            ? ` (the limit for the whole fetch, archive included, is ${formatDuration(giveUpAfterMs)})`
            : '';
        reporter.line(`fetch: gave up after ${formatDuration(Date.now() - started)}${limit}`);
      }
      throw error;
    });
  const range = {
    symbol: options.symbol,
    interval: options.interval,
    since: options.since,
    ...(options.until !== undefined ? { until: options.until } : {}),
    store: options.store,
    signal: reporter.signal,
  };
  let archiveRows = 0;
  if (options.archive) {
    reporter.line(
      `archive: loading ${options.symbol} ${options.interval} files from ${options.archiveBaseUrl ?? data.DEFAULT_ARCHIVE_BASE_URL}`,
    );
    const archived = await bounded(
      data.downloadArchive({
        ...range,
        ...requestTimeout,
        ...remaining(),
        ...(options.archiveBaseUrl ? { baseUrl: options.archiveBaseUrl } : {}),
        onProgress: (progress) => {
          const count = `${progress.files}/${progress.filesTotal}`;
          if (progress.status === 'loaded') {
            const unit = progress.timestampUnit === 'microseconds' ? ', µs timestamps' : '';
            reporter.line(
              `archive: ${progress.file} loaded (${count}, ${formatCount(progress.rows)} rows so far${unit})`,
            );
          } else if (progress.status === 'missing') {
            reporter.line(
              `archive: ${progress.file} is not published (${count}); the REST API fills that span`,
            );
          } else {
            reporter.line(
              `archive: retrying ${progress.file}${progress.message ? `: ${progress.message}` : ''}`,
            );
          }
        },
      }),
    );
    archiveRows = archived.rows;
    reporter.line(
      `archive: ${formatCount(archived.rows)} rows from ${archived.files} files` +
        (archived.missingFiles.length > 0 ? `, ${archived.missingFiles.length} not published` : ''),
    );
  }
  reporter.fetchStarted();
  const result = await bounded(
    data.fetchKlines({
      ...range,
      ...requestTimeout,
      ...remaining(),
      ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      onProgress: (progress) => reporter.fetchProgress(progress),
    }),
  );
  reporter.fetchDone();
  const elapsedMs = Date.now() - started;
  reporter.line(
    `fetch: ${formatCount(result.rows)} new rows in ${result.pages} pages (${result.requests} requests, ` +
      `${result.retries} retries, ${result.rateLimitWaits} rate-limit waits) in ${formatDuration(elapsedMs)}`,
  );
  return {
    rows: result.rows,
    pages: result.pages,
    requests: result.requests,
    retries: result.retries,
    rateLimitWaits: result.rateLimitWaits,
    archiveRows,
    elapsedMs,
  };
}
