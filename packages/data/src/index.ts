export type {
  AlertQuery,
  AnomalyKind,
  AnomalyLabel,
  ArchiveFileProgress,
  BinanceArchiveOptions,
  BinanceFillEvent,
  BinanceFillResult,
  BinanceKlineSource,
  BinanceRestOptions,
  BinanceSourceOptions,
  CsvReadOptions,
  CsvWriteOptions,
  DownloadArchiveOptions,
  DownloadArchiveResult,
  FetchKlinesOptions,
  FetchKlinesResult,
  FetchProgress,
  FetchWaitReason,
  IngestStore,
  Interval,
  Kline,
  KlineGap,
  KlineRequest,
  KlineSource,
  LiveCandle,
  LiveKlinesOptions,
  LiveStatus,
  LiveStreamsOptions,
  MarketRegime,
  PairKlines,
  QualityIssue,
  QualityReport,
  ReplayOptions,
  SampleKlineSource,
  SampleMarket,
  SampleMarketInput,
  SampleMarketOptions,
  StoreBurst,
  StoreBurstResult,
  StoredAlert,
  StoredPair,
  StoredScore,
  StoreIngestOptions,
  TimeRange,
  TopSymbolsOptions,
} from './api.js';
export { INTERVALS } from './api.js';
export { existingTarget, writeFileAtomically } from './atomic-file.js';
export {
  type ArchiveFile,
  DEFAULT_ARCHIVE_BASE_URL,
  downloadArchive,
  planArchiveFiles,
} from './binance/archive.js';
export { binanceSource } from './binance/binance-source.js';
export { fetchKlines } from './binance/fetch-klines.js';
export { parseKlinesResponse } from './binance/kline-response.js';
export { liveKlineStreams, liveKlines } from './binance/live-streams.js';
export { DEFAULT_REST_BASE_URL } from './binance/rest-pager.js';
export { DEFAULT_WS_BASE_URL, parseStreamKline } from './binance/stream-kline.js';
export { topSymbolsByQuoteVolume } from './binance/ticker.js';
export { type CsvKlineSource, csvSource } from './csv/csv-source.js';
export {
  formatCsvTime,
  KLINE_CSV_COLUMNS,
  KLINE_CSV_HEADER,
  MICROSECOND_THRESHOLD,
  parseKlineFileName,
  toMilliseconds,
} from './csv/layout.js';
export {
  type CsvStreamOptions,
  parseKlinesCsvStream,
  readKlinesCsv,
  readKlinesCsvBatches,
} from './csv/read-csv.js';
export { assertKlineCsvTarget, klinesToCsv, klineToCsvLine, writeKlinesCsv } from './csv/write-csv.js';
export { DataError, type DataErrorCode, isDataError } from './errors.js';
export { assertInterval, intervalToMilliseconds, isInterval, nextOpenTime } from './intervals.js';
export { makeTemporaryFolder, processAlive, removeLeftovers } from './leftovers.js';
export {
  analyzeKlines,
  assertCandleQuality,
  type CandleAcceptance,
  type CandleQualityOptions,
  candleQualityError,
  csvQualityReport,
  formatQualityReport,
  qualityReport,
} from './quality.js';
export { replayKlines } from './replay.js';
export { labelsToCsv, writeLabelsCsv } from './sample/labels-csv.js';
export {
  ANOMALY_KINDS,
  DEFAULT_REGIMES,
  resolveSampleMarketOptions,
  SAMPLE_MARKET_DEFAULTS,
} from './sample/market-options.js';
export { SeededRandom } from './sample/random.js';
export { generateSampleMarket } from './sample/sample-market.js';
export { sampleSource } from './sample/sample-source.js';
export {
  type SymbolMarketInput,
  sampleMarketFor,
  sampleMarketKlines,
  sampleMarketOptionsFor,
} from './sample/symbol-markets.js';
export { exportCsv, importCsv } from './store/csv-import-export.js';
export {
  defaultStoreLocation,
  defaultStorePath,
  legacyStorePath,
  STORE_PATH_ENV,
  type StoreLocation,
} from './store/duckdb-file.js';
export { KlineStore } from './store/kline-store.js';
export { mergeRanges, subtractRanges } from './store/ranges.js';
export { storeSource } from './store/store-source.js';
