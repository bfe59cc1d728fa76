export type {
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
  LiveKlinesOptions,
  LiveStatus,
  MarketRegime,
  QualityIssue,
  QualityReport,
  SampleKlineSource,
  SampleMarket,
  SampleMarketInput,
  SampleMarketOptions,
  StoredPair,
  StoreIngestOptions,
  TimeRange,
} from './api.js';
export { INTERVALS } from './api.js';
export {
  type ArchiveFile,
  DEFAULT_ARCHIVE_BASE_URL,
  downloadArchive,
  planArchiveFiles,
} from './archive.js';
export { writeFileAtomically } from './atomic-file.js';
export { binanceSource } from './binance-source.js';
export {
  assertKlineCsvTarget,
  type CsvKlineSource,
  type CsvStreamOptions,
  csvSource,
  formatCsvTime,
  KLINE_CSV_COLUMNS,
  KLINE_CSV_HEADER,
  klinesToCsv,
  klineToCsvLine,
  MICROSECOND_THRESHOLD,
  parseKlineFileName,
  parseKlinesCsvStream,
  readKlinesCsv,
  readKlinesCsvBatches,
  toMilliseconds,
  writeKlinesCsv,
} from './csv.js';
export { DataError, type DataErrorCode, isDataError } from './errors.js';
export { DEFAULT_REST_BASE_URL, fetchKlines, parseKlinesResponse } from './fetch.js';
export { assertInterval, intervalToMilliseconds, isInterval, nextOpenTime } from './intervals.js';
export { DEFAULT_WS_BASE_URL, liveKlines, parseStreamKline } from './live.js';
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
export { SeededRandom } from './random.js';
export {
  ANOMALY_KINDS,
  DEFAULT_REGIMES,
  generateSampleMarket,
  labelsToCsv,
  resolveSampleMarketOptions,
  SAMPLE_MARKET_DEFAULTS,
  sampleSource,
  writeLabelsCsv,
} from './sample-market.js';
export {
  defaultStorePath,
  KlineStore,
  mergeRanges,
  STORE_PATH_ENV,
  storeSource,
  subtractRanges,
} from './store.js';
export { exportCsv, importCsv } from './store-csv.js';
