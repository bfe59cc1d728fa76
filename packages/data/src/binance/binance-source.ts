import type {
  BinanceFillEvent,
  BinanceFillResult,
  BinanceKlineSource,
  BinanceRestOptions,
  BinanceSourceOptions,
  DownloadArchiveResult,
  IngestStore,
  KlineRequest,
} from '../api.js';
import { DataError, isDataError } from '../errors.js';
import { assertInterval } from '../intervals.js';
import {
  assertKnownKeys,
  assertPositiveNumber,
  assertSymbol,
  assertTimestamp,
  KLINE_REQUEST_KEYS,
  keysOf,
} from '../validate.js';
import { ARCHIVE_OPTION_KEYS, DEFAULT_ARCHIVE_BASE_URL, downloadArchive } from './archive.js';
import { fetchKlines } from './fetch-klines.js';
import { DEFAULT_GIVE_UP_AFTER_MS } from './give-up.js';
import { DEFAULT_REST_BASE_URL, REST_OPTION_KEYS } from './rest-pager.js';

const SOURCE_OPTION_KEYS = keysOf<BinanceSourceOptions>({
  since: true,
  until: true,
  archive: true,
  onProgress: true,
  signal: true,
  giveUpAfterMs: true,
});

/**
 * Binance through a local store: each `load` first fills the store for the request (the archive
 * files first when `archive` is set, then the REST API for whatever is still missing; only
 * missing spans are asked for, so a second load asks for nothing new), then reads the store.
 * Progress comes out as events through `onProgress`; nothing is printed. The caller opens and
 * closes the store.
 */
export function binanceSource(
  store: IngestStore,
  rest: BinanceRestOptions = {},
  options: BinanceSourceOptions = {},
): BinanceKlineSource {
  if (!store || typeof store.missingRanges !== 'function') {
    throw new DataError('INVALID_ARGUMENT', 'store is required: pass `await KlineStore.open()`.');
  }
  assertKnownKeys('binanceSource rest settings', rest, REST_OPTION_KEYS);
  assertKnownKeys('binanceSource options', options, SOURCE_OPTION_KEYS);
  if (options.archive) assertKnownKeys('binanceSource options.archive', options.archive, ARCHIVE_OPTION_KEYS);
  if (options.since !== undefined) assertTimestamp('since', options.since);
  if (options.until !== undefined) assertTimestamp('until', options.until);
  if (options.since !== undefined && options.until !== undefined && options.since >= options.until) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `since (${new Date(options.since).toISOString()}) must be before until (${new Date(options.until).toISOString()}); swap them.`,
    );
  }
  const limit = options.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS;
  if (limit !== Number.POSITIVE_INFINITY) assertPositiveNumber('giveUpAfterMs', limit);
  const emit = (event: BinanceFillEvent) => options.onProgress?.(event);

  /** The request's range, the options' where it names none. */
  const rangeOf = (request: KlineRequest) => {
    assertKnownKeys('the load request', request, KLINE_REQUEST_KEYS);
    const symbol = assertSymbol('symbol', request.symbol);
    const interval = assertInterval(request.interval);
    const start = request.start ?? options.since;
    const end = request.end ?? options.until;
    return { symbol, interval, start, end };
  };

  async function fill(request: KlineRequest): Promise<BinanceFillResult> {
    const { symbol, interval, start, end } = rangeOf(request);
    if (start === undefined) {
      throw new DataError(
        'INVALID_ARGUMENT',
        `binanceSource needs where to start filling ${symbol} ${interval}: pass \`since\` to binanceSource, or load with a \`start\`.`,
      );
    }
    const started = Date.now();
    // One give-up for the archive and the REST fetch together: the REST part gets what is left.
    const remaining = () => ({ giveUpAfterMs: Math.max(1, limit - (Date.now() - started)) });
    const bounded = <T>(work: Promise<T>): Promise<T> =>
      work.catch((error: unknown) => {
        if (isDataError(error) && error.code === 'TIMEOUT') {
          emit({ type: 'gave-up', elapsedMs: Date.now() - started, giveUpAfterMs: options.giveUpAfterMs });
        }
        throw error;
      });
    const range = {
      symbol,
      interval,
      since: start,
      ...(end !== undefined ? { until: end } : {}),
      store,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    let archive: DownloadArchiveResult | undefined;
    if (options.archive) {
      const settings = options.archive;
      emit({
        type: 'archive-start',
        symbol,
        interval,
        baseUrl: settings.baseUrl ?? DEFAULT_ARCHIVE_BASE_URL,
      });
      archive = await bounded(
        downloadArchive({
          ...settings,
          ...range,
          ...remaining(),
          // The REST host the fill asks next says where the pair's candles start.
          rest,
          onProgress: (progress) => emit({ type: 'archive-file', progress }),
        }),
      );
      emit({ type: 'archive-done', result: archive });
    }
    emit({ type: 'fetch-start', symbol, interval, baseUrl: rest.baseUrl ?? DEFAULT_REST_BASE_URL });
    const fetched = await bounded(
      fetchKlines({
        ...rest,
        ...range,
        ...remaining(),
        onProgress: (progress) => emit({ type: 'fetch-progress', progress }),
      }),
    );
    const result: BinanceFillResult = {
      symbol,
      interval,
      ...(archive ? { archive } : {}),
      fetch: fetched,
      elapsedMs: Date.now() - started,
    };
    emit({ type: 'filled', result });
    return result;
  }

  return {
    // The candles come out of the store, so the source is named after it (as `storeSource` is).
    describe: () => `local kline store ${store.path}`,
    fill,
    async load(request) {
      await fill(request);
      const { symbol, interval, start, end } = rangeOf(request);
      return store.klines(symbol, interval, {
        ...(start !== undefined ? { start } : {}),
        ...(end !== undefined ? { end } : {}),
      });
    },
  };
}
