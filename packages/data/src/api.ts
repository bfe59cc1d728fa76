/**
 * One candle, with the 12 fields of Binance's kline array, typed. Times are Unix milliseconds
 * (archive files from 2025-01-01 use microseconds; loaders convert them).
 */
export interface Kline {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  closeTime: number;
  quoteAssetVolume: number;
  numberOfTrades: number;
  takerBuyBaseAssetVolume: number;
  takerBuyQuoteAssetVolume: number;
  /** Binance's always-"0" trailing field, kept so exports round-trip. */
  ignore: number;
}

/** The kline intervals Binance serves. */
export const INTERVALS = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
] as const;

export type Interval = (typeof INTERVALS)[number];

/** The kinds of anomaly the sample market injects (and users hunt). */
export type AnomalyKind =
  | 'flash-crash'
  | 'pump-and-dump'
  | 'volume-spike'
  | 'volatility-break'
  | 'stale-price';

/** One injected anomaly event: the candles with open time in [startTime, endTime] belong to it. */
export interface AnomalyLabel {
  kind: AnomalyKind;
  startTime: number;
  endTime: number;
  /** Index of the first and last affected candle in the generated series. */
  startIndex: number;
  endIndex: number;
  /** A short human description, e.g. "-18% in 3 candles, recovered in 9". */
  description: string;
}

/** Which candles a source is asked for: one pair, open times in [start, end) (Unix ms). */
export interface KlineRequest {
  symbol: string;
  interval: Interval;
  start?: number;
  end?: number;
}

/** Where klines come from, as the engine sees it: anything that can list candles in order. */
export interface KlineSource {
  /** One line for people, e.g. "bundled sample market (seed 7, 1h, 4000 candles)". */
  describe(): string;
  /** Closed candles for symbol and interval in [start, end), oldest first, no duplicates. */
  load(request: KlineRequest): Promise<Kline[]>;
}

/** One state of the sample market's hidden Markov chain. */
export interface MarketRegime {
  name: string;
  /** Multiplies the base volatility while the regime lasts. */
  volatilityMultiplier: number;
  /** Multiplies the base volume while the regime lasts. */
  volumeMultiplier: number;
  /** Mean log return per day (drift). */
  dailyDrift: number;
  /** Mean time spent in the regime before switching, in days. */
  meanDurationDays: number;
}

/**
 * Parameters of the labelled sample market. Every field has a default (see
 * `SAMPLE_MARKET_DEFAULTS`); pass a `Partial` to change some.
 */
export interface SampleMarketOptions {
  /** Seed of the generator's own PRNG: the same seed gives the same candles and labels. Default 42. */
  seed: number;
  /** Candle interval. Default '1h'. */
  interval: Interval;
  /** Open time of the first candle, Unix ms. Default 2024-01-01T00:00:00Z. */
  start: number;
  /** Number of candles. Default 5000. */
  count: number;
  /** Symbol name written into the source's answers. Default 'BTCUSDT'. */
  symbol: string;
  /** Open price of the first candle. Default 42000. */
  startPrice: number;
  /** Price tick: prices are rounded to it. Default 0.01. */
  tickSize: number;
  /** Standard deviation of daily log returns in a regime with multiplier 1, before anomalies. Default 0.03. */
  dailyVolatility: number;
  /** Degrees of freedom of the Student-t shocks (> 2; lower means fatter tails). Default 5. */
  degreesOfFreedom: number;
  /** GARCH(1,1) reaction to the last squared shock, per candle. Default 0.07. */
  garchAlpha: number;
  /** GARCH(1,1) persistence of variance, per candle (alpha + beta < 1). Default 0.91. */
  garchBeta: number;
  /** The Markov regimes; the chain starts in the first. Default normal / calm / turbulent (DEFAULT_REGIMES). */
  regimes: readonly MarketRegime[];
  /** Base-asset volume traded per day in a regime with multiplier 1. Default 30000. */
  dailyVolume: number;
  /**
   * How strongly log volume follows this candle's |shock| (on top of following the conditional
   * volatility with elasticity 1, and the regime's volume multiplier). Default 0.2.
   */
  volumeReturnSensitivity: number;
  /** Day-to-day autocorrelation of the slow log-volume component (0 ≤ x < 1). Default 0.995. */
  volumePersistence: number;
  /** Standard deviation of the slow log-volume component. Default 0.9. */
  volumeNoise: number;
  /** Standard deviation of the per-candle log-volume noise. Default 0.25. */
  candleVolumeNoise: number;
  /** Mean number of trades per unit of base volume. Default 40. */
  tradesPerUnit: number;
  /**
   * Injected anomaly events per 1000 candles, by kind. Each kind with a positive rate gets at least
   * one event when the series has room for it. Default flash-crash 1, pump-and-dump 1,
   * volume-spike 2, volatility-break 0.5, stale-price 1.
   */
  anomaliesPerThousand: Readonly<Record<AnomalyKind, number>>;
}

/** A generated series with the truth about what was injected into it. */
export interface SampleMarket {
  symbol: string;
  interval: Interval;
  klines: Kline[];
  /** Injected anomaly events, ordered by start index. */
  labels: AnomalyLabel[];
  /** The options the series was generated with, defaults filled in. */
  options: SampleMarketOptions;
}

/** A KlineSource over the sample market that can also hand out the market with its labels. */
export interface SampleKlineSource extends KlineSource {
  readonly options: SampleMarketOptions;
  /** The generated market for an interval and symbol (default: the options' own). */
  market(request?: { symbol?: string; interval?: Interval }): SampleMarket;
}

/** Options of `csvSource` and `readKlinesCsv`. */
export interface CsvReadOptions {
  /**
   * Skip malformed lines instead of refusing the file. Skipped lines are still reported through
   * `onSkippedLine`; never silent. Default false.
   */
  skipMalformed: boolean;
  /** Called once per skipped line when `skipMalformed` is set. */
  onSkippedLine?: (line: number, reason: string) => void;
}

/** Options of `writeKlinesCsv` and `exportCsv`. */
export interface CsvWriteOptions {
  /**
   * Replace an existing file even when it is not a kline CSV in the layout this package writes.
   * Default false: such a file is refused with `TARGET_NOT_OURS` and left as it is.
   */
  overwrite: boolean;
}

/**
 * What `generateSampleMarket` and `sampleSource` accept: any subset of the options, and any subset
 * of the anomaly rates (the others keep their defaults).
 */
export type SampleMarketInput = Partial<Omit<SampleMarketOptions, 'anomaliesPerThousand'>> & {
  anomaliesPerThousand?: Partial<Record<AnomalyKind, number>>;
};

/** A half-open span of open times, Unix ms: [start, end). */
export interface TimeRange {
  start: number;
  end: number;
}

/** Missing candles between two stored ones: open times in [start, end) are absent. */
export interface KlineGap {
  /** Open time of the first missing candle. */
  start: number;
  /** Open time of the next stored candle. */
  end: number;
  /** How many candles are missing. */
  missing: number;
}

/** One symbol/interval pair held by a store. */
export interface StoredPair {
  symbol: string;
  interval: Interval;
  rows: number;
  firstOpenTime: number;
  lastOpenTime: number;
}

/** Why a fetch is waiting instead of asking (each wait is reported once, before it starts). */
export type FetchWaitReason = 'rate-limit' | 'weight-limit' | 'retry';

/** Progress of `fetchKlines`, after each stored page and before each wait. */
export interface FetchProgress {
  /** Pages stored so far. */
  pages: number;
  /** Rows stored so far. */
  rows: number;
  /** Rows stored per second of wall time so far (waits included). */
  rowsPerSecond: number;
  /** Rows the missing ranges can hold at most (an upper bound: outages hold none). */
  expectedRows: number;
  /** Estimated time to finish at the current rate. */
  etaMs?: number;
  /** Set while waiting: how long this wait lasts. */
  waitingMs?: number;
  waitReason?: FetchWaitReason;
  /** A short human line about the wait (the status code or error behind it). */
  message?: string;
}

/**
 * The calls filling a store makes of it (`fetchKlines`, `downloadArchive`, `binanceSource`).
 * `KlineStore` implements it; it is declared here so the option types can name a store without
 * this file importing the DuckDB-backed class.
 */
export interface IngestStore {
  /** Absolute path of the database file (or ':memory:'). */
  readonly path: string;
  /** The spans of [start, end) neither stored nor recorded as answered by the exchange. */
  missingRanges(symbol: string, interval: Interval, range: TimeRange): Promise<TimeRange[]>;
  /** Inserts or replaces klines in one transaction; `covered` records the span the exchange answered for. */
  upsert(symbol: string, interval: Interval, klines: readonly Kline[], covered?: TimeRange): Promise<number>;
  /** Merges a pair's answered spans. */
  compactCoverage(symbol: string, interval: Interval): Promise<number>;
  lastOpenTime(symbol: string, interval: Interval): Promise<number | undefined>;
  /** Stored klines of a pair in [start, end), oldest first. */
  klines(symbol: string, interval: Interval, range?: Partial<TimeRange>): Promise<Kline[]>;
}

/** What `fetchKlines` and `downloadArchive` both take: a range of one pair, and the store it goes into. */
export interface StoreIngestOptions {
  symbol: string;
  interval: Interval;
  /** First open time wanted, Unix ms. */
  since: number;
  /** End of the wanted range (exclusive), Unix ms. Default: now. */
  until?: number;
  store: IngestStore;
  signal?: AbortSignal;
  /**
   * The longest the whole run may take, waits and retries included; past it, it stops with a
   * `TIMEOUT` error (what was stored stays; a rerun resumes). `Infinity` for no limit. Default
   * 3,600,000 ms (one hour).
   */
  giveUpAfterMs?: number;
}

/** Options of `fetchKlines`. */
export interface FetchKlinesOptions extends StoreIngestOptions {
  /** REST base URL. Default `https://data-api.binance.vision` (public market data). */
  baseUrl?: string;
  onProgress?: (progress: FetchProgress) => void;
  /** Retries of one request after 5xx, timeouts, resets and bad JSON. Default 5. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry, with jitter. Default 500 ms. */
  retryBaseMs?: number;
  /** Longest backoff delay. Default 30,000 ms. */
  retryMaxMs?: number;
  /**
   * Deadline of one request, from connecting to the last byte (a server that trickles bytes still
   * hits it); a request past it is retried like a timeout. Default 15,000 ms.
   */
  requestTimeoutMs?: number;
  /** Request weight allowed per minute (Binance spot: 6000). Default 6000. */
  weightLimit?: number;
  /** Pause until the next minute once used weight passes this share of the limit. Default 0.8. */
  weightSafety?: number;
  /** 429 answers waited out in a row before giving up. Default 30. */
  maxRateLimitWaits?: number;
  /** Longest wait accepted from a Retry-After header. Default 120,000 ms. */
  maxRetryAfterMs?: number;
  /** Candles per request (Binance allows 1000). Default 1000. */
  pageSize?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** What `fetchKlines` did. */
export interface FetchKlinesResult {
  symbol: string;
  interval: Interval;
  /** The missing ranges it asked for. */
  ranges: TimeRange[];
  pages: number;
  rows: number;
  requests: number;
  retries: number;
  rateLimitWaits: number;
  /** Newest stored open time after the fetch. */
  lastOpenTime?: number;
  /**
   * Spans of the range the exchange served nothing for, asked twice (a short or empty answer with
   * no candle after it: a pair that stopped trading, or a failing server). They stay missing, so
   * the next fetch asks again. Empty when the whole range was served.
   */
  unserved: TimeRange[];
  elapsedMs: number;
}

/** One candle that breaks a rule, for reports. */
export interface QualityIssue {
  openTime: number;
  /** Index in the analysed sequence (file order for files, time order for the store). */
  index: number;
  reason: string;
}

/** Data-quality findings for one symbol/interval series. */
export interface QualityReport {
  symbol: string;
  interval: Interval;
  rows: number;
  firstOpenTime?: number;
  lastOpenTime?: number;
  /** Candles the span from first to last open time should hold. */
  expectedRows: number;
  /** Missing intervals (exchange outages leave these). */
  gaps: KlineGap[];
  missingRows: number;
  /** Rows whose open time repeats an earlier row's. */
  duplicates: number;
  /** Rows whose open time is earlier than the row before. */
  outOfOrder: number;
  /** Rows with zero volume. */
  zeroVolume: number;
  /** Rows whose open time is not on the interval's grid. */
  misaligned: number;
  /** Rows with low above open/close, high below them, negative values, taker-buy above volume, … */
  inconsistent: number;
  /** Up to `maxExamples` rows per finding. */
  examples: QualityIssue[];
  /** The unit of the timestamps as read: Binance archive files use microseconds from 2025-01-01. */
  timestampUnit: 'milliseconds' | 'microseconds' | 'mixed' | 'none';
}

/** One archive file's fate in `downloadArchive`. */
export interface ArchiveFileProgress {
  /** File name, e.g. BTCUSDT-1h-2024-01.zip. */
  file: string;
  /**
   * `waiting`: before `file` is asked for, the REST request for where the pair's candles are
   * (see `rest`) waits, for a rate limit or a retry; `message` says which and how long.
   */
  status: 'loaded' | 'missing' | 'retrying' | 'waiting';
  /** Files handled so far and planned in all. */
  files: number;
  filesTotal: number;
  /** Rows stored so far. */
  rows: number;
  /** Timestamp unit found in the file. */
  timestampUnit?: 'milliseconds' | 'microseconds';
  message?: string;
}

/** Options of `downloadArchive`. */
export interface DownloadArchiveOptions extends StoreIngestOptions {
  /** Archive base URL. Default `https://data.binance.vision`. */
  baseUrl?: string;
  onProgress?: (progress: ArchiveFileProgress) => void;
  /** Retries per file after network errors, 5xx and checksum mismatches. Default 3. */
  maxRetries?: number;
  /** First backoff delay, doubling per retry. Default 1000 ms. */
  retryBaseMs?: number;
  /** Deadline of one request, from connecting to the last byte. Default 60,000 ms. */
  requestTimeoutMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /**
   * How to ask the REST API where the pair's candles are (the settings of `fetchKlines`, same
   * defaults): one request for the first candle at or after the first missing span (GET
   * /api/v3/klines, limit 1, weight 2), and one after each monthly file the archive lacks, so
   * the files of months and days the pair had no candles in (before it listed, while it was
   * delisted) are never asked for. Default `{}` (the public REST host). false: no REST request;
   * every planned file is asked for, one 404 per month and day before a late listing. A failed
   * answer, or a symbol the REST API no longer knows (the archive keeps delisted pairs), walks
   * the archive as with false.
   */
  rest?: BinanceRestOptions | false;
}

/** What `downloadArchive` did. */
export interface DownloadArchiveResult {
  files: number;
  /**
   * Files asked for that the archive does not have (not yet published; a month it lacks; with
   * `rest: false`, also those before the symbol listed).
   */
  missingFiles: string[];
  rows: number;
  /** Files whose timestamps were microseconds. */
  microsecondFiles: number;
}

/**
 * How to reach Binance's REST API: the settings of `fetchKlines` that are not the range or the
 * store, with the same meaning and defaults. `binanceSource` and the live streams' back-fill take them.
 */
export type BinanceRestOptions = Pick<
  FetchKlinesOptions,
  | 'baseUrl'
  | 'maxRetries'
  | 'retryBaseMs'
  | 'retryMaxMs'
  | 'requestTimeoutMs'
  | 'weightLimit'
  | 'weightSafety'
  | 'maxRateLimitWaits'
  | 'maxRetryAfterMs'
  | 'pageSize'
  | 'now'
>;

/** A closed candle of one symbol, and where it came from. */
export interface LiveCandle {
  symbol: string;
  interval: Interval;
  kline: Kline;
  /** The WebSocket stream, the REST back-fill of what closed while it was down, or a replay. */
  via: 'stream' | 'backfill' | 'replay';
}

/** Options of `liveKlineStreams`; every field but `symbols` and `interval` has a default. */
export interface LiveStreamsOptions {
  /** Symbols in capitals, e.g. BTCUSDT; each once. */
  symbols: string[];
  interval: Interval;
  /**
   * WebSocket base URL; the client opens `${wsUrl}/stream?streams=btcusdt@kline_1m/...`.
   * Default `wss://stream.binance.com:9443`.
   */
  wsUrl?: string;
  /**
   * REST settings for the back-fill of candles that closed while a connection was down (and
   * after `resumeFrom`), same meaning and defaults as `fetchKlines`'. Default `{}` (on, the
   * public REST host); false: stream only, no REST request, and a gap stays a gap.
   */
  rest?: BinanceRestOptions | false;
  /**
   * Per symbol, the open time of the last candle already handled: candles after it are
   * back-filled first, candles up to it are never yielded. Default: none, the first candle is
   * the first one the stream closes.
   */
  resumeFrom?: Record<string, number>;
  /** Streams (symbols) per WebSocket connection; more symbols open more connections. Default 200 (Binance allows 1024). */
  streamsPerConnection?: number;
  /** First reconnect wait; doubles per failed attempt, with jitter (half to all of it). Default 500 ms. */
  reconnectBaseMs?: number;
  /** Longest reconnect wait. Default 30,000 ms. */
  reconnectMaxMs?: number;
  /**
   * A connection is replaced (the new one opened before the old one closes) after this long,
   * before Binance cuts it at 24 h. Default 85,800,000 ms (23 h 50 min).
   */
  connectionLifetimeMs?: number;
  /** A connection with no message for this long (the handshake included) is dropped and reopened. Default 60,000 ms. */
  silenceTimeoutMs?: number;
  /** Connection attempts allowed per `connectionAttemptWindowMs` (Binance: 300 per 5 minutes per IP). Default 300. */
  maxConnectionAttempts?: number;
  /** The window of `maxConnectionAttempts`. Default 300,000 ms. */
  connectionAttemptWindowMs?: number;
  /** How often a `rate` status is reported. Default 10,000 ms. */
  rateIntervalMs?: number;
  /** Back-fills running at once (one REST pager each). Default 4. */
  backfillConcurrency?: number;
  /**
   * The pause before a back-fill that failed (REST errors after their retries) is tried once more,
   * the stream's candles held meanwhile, in order: a REST outage shorter than it costs no candle.
   * A second failure gives the gap up (`backfill-failed`) and the stream goes on. Default 15,000 ms.
   */
  backfillRetryPauseMs?: number;
  onStatus?: (status: LiveStatus) => void;
  /** Ends the iteration and closes every connection. */
  signal?: AbortSignal;
}

/**
 * Options of `liveKlines`, the one-symbol form of `liveKlineStreams`: the same options and
 * defaults, but the back-fill over REST is off unless `backfill` is given.
 */
export type LiveKlinesOptions = Omit<LiveStreamsOptions, 'symbols' | 'rest'> & {
  symbol: string;
  /** REST settings of the back-fill (`{}` for the defaults). Default false: stream only, no REST request. */
  backfill?: BinanceRestOptions | false;
};

/** News from `liveKlineStreams`; plain data, never printed. Connections are numbered from 1. */
export type LiveStatus =
  /** A connection opens (`reason` when it replaces one that reached `connectionLifetimeMs`). */
  | { type: 'connecting'; connection: number; streams: number; reason?: string }
  | { type: 'connected'; connection: number }
  /** A connection was lost (why in `reason`) and is reopened after `waitMs`; `attempt` counts from 1 until a message arrives. */
  | { type: 'reconnecting'; connection: number; attempt: number; waitMs: number; reason: string }
  /** `maxConnectionAttempts` were made within the window: the next attempt waits `waitMs`. */
  | { type: 'connection-limit'; connection: number; waitMs: number }
  /** A back-fill over REST starts: about `candles` closed since the last one handled. */
  | { type: 'backfilling'; symbol: string; candles: number }
  /** A back-fill ended: `candles` were yielded from it. */
  | { type: 'backfilled'; symbol: string; candles: number }
  /** A back-fill pauses before its next request (a 429's Retry-After, the used weight, a retry). */
  | { type: 'backfill-waiting'; symbol: string; waitMs: number; message: string }
  /** A back-fill failed after its retries: the stream goes on, the candles in `from`..`to` are missing. */
  | { type: 'backfill-failed'; symbol: string; message: string; from: number; to: number }
  /**
   * A malformed candle (skipped; the symbol goes on), or a symbol the exchange does not know
   * (`dropped`: skipped from now on). The other symbols go on either way.
   */
  | { type: 'symbol-error'; symbol: string; message: string; dropped: boolean }
  /** A message no symbol can be named for (not JSON, not a kline event); skipped. */
  | { type: 'message-error'; connection: number; message: string }
  /** Stream messages per second since the last `rate` status. */
  | { type: 'rate'; messagesPerSecond: number };

/** Options of `replayKlines`. */
export interface ReplayOptions {
  symbols: string[];
  interval: Interval;
  /** The candles of one symbol (e.g. from the store or a CSV file), any order; repeated open times once. */
  load: (symbol: string) => Promise<Kline[]> | Kline[];
  /** 'max': as fast as they are consumed; N: N times real time (the gap between two closes / N). */
  speed: number | 'max';
  /** Per symbol, the open time of the last candle already handled: it and earlier ones are skipped. */
  resumeFrom?: Record<string, number>;
  signal?: AbortSignal;
}

/** A score row kept in the store: one detector's score of one candle. */
export interface StoredScore {
  symbol: string;
  interval: Interval;
  openTime: number;
  detector: string;
  score: number;
  threshold: number;
  flagged: boolean;
}

/** Which stored alerts `KlineStore.alertsSince` returns. */
export interface AlertQuery {
  symbol?: string;
  interval?: Interval;
  /** At most this many, the newest. Default 1000. */
  limit?: number;
}

/** An alert kept in the store; `id` is its unique key, `payload` the alert as JSON. */
export interface StoredAlert {
  id: string;
  symbol: string;
  interval: Interval;
  openTime: number;
  detector: string;
  payload: string;
}

/** Options of `topSymbolsByQuoteVolume`. */
export interface TopSymbolsOptions {
  /** Quote asset the pairs are quoted in, e.g. USDT, FDUSD, BTC. Default 'USDT'. */
  quote?: string;
  /** How many pairs, at most (an integer, 1 or more). */
  top: number;
  /** How to reach the REST API (`{}` for the defaults: the public host, the same retries and rate-limit waits). */
  rest?: BinanceRestOptions;
  /**
   * Keep leveraged tokens (BTCUPUSDT, ETHDOWNUSDT, BNBBULLUSDT, ...: a base asset that is another
   * listed base asset plus UP, DOWN, BULL or BEAR). Default false.
   */
  includeLeveraged?: boolean;
  signal?: AbortSignal;
  /** Hears every wait (rate limit, retry) before it starts. */
  onWait?: (waitingMs: number, reason: FetchWaitReason, message: string) => void;
}

/** One pair's candles in a batched write (`KlineStore.upsertMany`, `KlineStore.saveBurst`). */
export interface PairKlines {
  symbol: string;
  interval: Interval;
  klines: readonly Kline[];
}

/** What `KlineStore.saveBurst` writes in one transaction; each part may be left out or empty. */
export interface StoreBurst {
  klines?: readonly PairKlines[];
  scores?: readonly StoredScore[];
  alerts?: readonly StoredAlert[];
}

/** What `KlineStore.saveBurst` wrote: rows per table, and the alert ids not stored before, in the order given. */
export interface StoreBurstResult {
  klines: number;
  scores: number;
  newAlertIds: string[];
}

/** How `binanceSource` reaches the data archive: the settings of `downloadArchive`, same defaults. */
export type BinanceArchiveOptions = Pick<
  DownloadArchiveOptions,
  'baseUrl' | 'maxRetries' | 'retryBaseMs' | 'requestTimeoutMs' | 'now'
>;

/** What `binanceSource` reports while it fills the store, in order; plain data, never printed. */
export type BinanceFillEvent =
  /** The archive download starts (only with `archive`). */
  | { type: 'archive-start'; symbol: string; interval: Interval; baseUrl: string }
  /** One archive file loaded, missing (not published) or retried. */
  | { type: 'archive-file'; progress: ArchiveFileProgress }
  | { type: 'archive-done'; result: DownloadArchiveResult }
  /** The REST fetch of what is still missing starts. */
  | { type: 'fetch-start'; symbol: string; interval: Interval; baseUrl: string }
  /** After each stored page and before each wait of the REST fetch. */
  | { type: 'fetch-progress'; progress: FetchProgress }
  /** The store holds everything the exchange has for the range. */
  | { type: 'filled'; result: BinanceFillResult }
  /**
   * The fill ran past `giveUpAfterMs` and stops with a `TIMEOUT` error (what was stored stays).
   * `giveUpAfterMs` is the option as given (undefined: the default).
   */
  | { type: 'gave-up'; elapsedMs: number; giveUpAfterMs: number | undefined };

/** What one fill did: the archive's part (with `archive`) and the REST fetch's. */
export interface BinanceFillResult {
  symbol: string;
  interval: Interval;
  archive?: DownloadArchiveResult;
  fetch: FetchKlinesResult;
  /** Wall time of the whole fill, archive included. */
  elapsedMs: number;
}

/** Options of `binanceSource`. */
export interface BinanceSourceOptions {
  /** First open time to fill and read when a request names no start, Unix ms. */
  since?: number;
  /** End (exclusive) to fill and read when a request names no end, Unix ms. Default: now. */
  until?: number;
  /**
   * Bulk-load Binance's monthly and daily archive files before asking the REST API for the rest
   * (`{}` for the defaults). Default false: REST only.
   */
  archive?: BinanceArchiveOptions | false;
  /** Progress of each fill, as events (see `BinanceFillEvent`). */
  onProgress?: (event: BinanceFillEvent) => void;
  /** Stops a fill (the store keeps what was stored). */
  signal?: AbortSignal;
  /**
   * The longest one fill may take, archive and REST together, waits included; past it, it stops
   * with `TIMEOUT`. `Infinity` for no limit. Default 3,600,000 ms (one hour).
   */
  giveUpAfterMs?: number;
}

/** A KlineSource that fills its store from Binance before reading it; `fill` does the first half alone. */
export interface BinanceKlineSource extends KlineSource {
  /** Fills the store for the request (archive first when asked, then REST) without reading it back. */
  fill(request: KlineRequest): Promise<BinanceFillResult>;
}
