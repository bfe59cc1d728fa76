import type { Alert, CandleScore } from '@crypto-anomaly/core';
import type { Interval, Kline } from '@crypto-anomaly/data';

/**
 * The names and shapes of the distributed mode (`--bus nats://HOST:PORT`): what ingest, the workers
 * and `watch --bus` agree on in JetStream. A leaf: types and constants only.
 *
 * Streams (file storage, created idempotently by whichever process starts first):
 * - `KLINES` on `klines.<interval>.<SYMBOL>`: closed candles, one message per candle, message id
 *   `SYMBOL:interval:openTime`, so two ingest processes store each candle once.
 * - `SCORES` on `scores.<interval>.<SYMBOL>`: one message per scored candle (a `CandleScore`),
 *   message id `SYMBOL:interval:openTime`.
 * - `ALERTS` on `alerts.<interval>.<SYMBOL>`: one message per alert, message id = the alert's id.
 * - `DLQ` on `dlq.klines.<interval>.<SYMBOL>`: candles a worker could not read after
 *   `poisonAfter` deliveries, with why in headers.
 * KV buckets: `ca-markets` (the markets ingest feeds, `<interval>.<SYMBOL>`), `ca-leases` (which
 * worker owns a market, expiring after the lease's time to live), `ca-workers` (workers alive).
 */
export const STREAMS = Object.freeze({
  klines: 'KLINES',
  scores: 'SCORES',
  alerts: 'ALERTS',
  deadLetters: 'DLQ',
  /** Training jobs (`jobs.train`), a work queue: each job is taken by one worker, gone once done. */
  jobs: 'JOBS',
  /** Training progress (`train.progress.<SYMBOL_INTERVAL>`), kept a day for dashboards. */
  training: 'TRAINING',
});

export const TRAIN_JOB_SUBJECT = 'jobs.train';
export const trainProgressSubject = (pair: string) => `train.progress.${pair}`;

export const BUCKETS = Object.freeze({
  markets: 'ca-markets',
  leases: 'ca-leases',
  workers: 'ca-workers',
  /** `models.<SYMBOL_INTERVAL>` → the latest model version (see models.ts); also the object store's name. */
  models: 'ca-models',
  /** `jobs.<job id>` → the version a training job stored: a job redelivered after that is not trained again. Kept a day. */
  trainJobs: 'ca-train-jobs',
});

/** Message headers the bus sets. */
export const HEADERS = Object.freeze({
  /** On a score and an alert: the KLINES sequence of the candle scored. */
  klineSequence: 'Ca-Kline-Seq',
  /** On a score and an alert: when the server stored the candle (ms since the epoch, its clock). */
  klineStoredAt: 'Ca-Kline-Stored-At',
  /** On a score and an alert: the worker that scored it. */
  worker: 'Ca-Worker',
  /** On a score and an alert: the version of the pair's model that scored it (models on the bus). */
  modelVersion: 'Ca-Model-Version',
  /** On a parked candle: why it was parked, its subject, sequence and deliveries. */
  reason: 'Ca-Reason',
  subject: 'Ca-Subject',
  sequence: 'Ca-Seq',
  deliveries: 'Ca-Deliveries',
});

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Retention and dedupe of the streams, and the lease timings; every field has a default. */
export interface BusOptions {
  /**
   * How long a message id is remembered: a second publish of the same candle, score or alert
   * within it is dropped. It covers two ingest processes' lag and a restart. Default 1 h.
   */
  duplicateWindowMs: number;
  /** Candles kept: workers warm a market up from them. Default 7 days. */
  klinesMaxAgeMs: number;
  /** Scores kept. Default 7 days. */
  scoresMaxAgeMs: number;
  /** Alerts kept. Default 30 days. */
  alertsMaxAgeMs: number;
  /** A lease lives this long unless renewed (renewed every third of it). Default 10 s. */
  leaseTtlMs: number;
}

export const DEFAULT_BUS_OPTIONS: Readonly<BusOptions> = Object.freeze({
  duplicateWindowMs: HOUR_MS,
  klinesMaxAgeMs: 7 * DAY_MS,
  scoresMaxAgeMs: 7 * DAY_MS,
  alertsMaxAgeMs: 30 * DAY_MS,
  leaseTtlMs: 10_000,
});

/** A market: one symbol at one interval, the unit a worker owns. */
export interface Market {
  symbol: string;
  interval: Interval;
}

/** A candle as it travels on `klines.<interval>.<SYMBOL>`. */
export interface KlineMessage {
  symbol: string;
  interval: Interval;
  kline: Kline;
  via: 'stream' | 'backfill' | 'replay';
}

/** A score as it travels on `scores.<interval>.<SYMBOL>`. */
export type ScoreMessage = CandleScore;

/** An alert as it travels on `alerts.<interval>.<SYMBOL>`. */
export type AlertMessage = Alert;

export const klineSubject = (interval: Interval, symbol: string) => `klines.${interval}.${symbol}`;
export const scoreSubject = (interval: Interval, symbol: string) => `scores.${interval}.${symbol}`;
export const alertSubject = (interval: Interval, symbol: string) => `alerts.${interval}.${symbol}`;
export const deadLetterSubject = (interval: Interval, symbol: string) => `dlq.klines.${interval}.${symbol}`;
/** The KV key of a market (markets and leases buckets). */
export const marketKey = (market: Market) => `${market.interval}.${market.symbol}`;
/** The message id of a candle and of its score. */
export const candleId = (symbol: string, interval: Interval, openTime: number) =>
  `${symbol}:${interval}:${openTime}`;
/** The durable consumer a market's owner reads its candles from. */
export const consumerName = (market: Market) => `score-${market.interval}-${market.symbol}`;

/** What a worker tells about its work (the plain lines on stderr, and the bench). */
export type WorkerEvent =
  | { type: 'connected'; server: string }
  | { type: 'disconnected' }
  | { type: 'reconnected'; server: string }
  | { type: 'claimed'; market: Market; warmUp: number; from: 'scored' | 'start'; startSequence: number }
  | { type: 'released'; market: Market; reason: string }
  | { type: 'parked'; market: Market; sequence: number; deliveries: number; reason: string }
  | { type: 'skipped'; market: Market; reason: string }
  | { type: 'scored'; candles: number; alerts: number }
  | { type: 'switched'; market: Market; from: number; to: number; warmUp: number };

/** Where a job's candles come from, on the worker that takes it. */
export type TrainJobSource =
  | { kind: 'sample'; seed?: number; count?: number; start?: number }
  /** The worker's own kline store (DuckDB file), filled from Binance first with `binance`. */
  | { kind: 'binance'; store?: string; baseUrl?: string }
  | { kind: 'store'; store?: string };

/** One pair to train, as `train --bus` puts it on `jobs.train`. */
export interface TrainJob {
  /** `<request>.<SYMBOL_INTERVAL>`: the message id, and the key that makes a job done once. */
  id: string;
  request: string;
  pair: string;
  symbol: string;
  interval: Interval;
  since?: number;
  until?: number;
  source: TrainJobSource;
  epochs?: number;
  seed?: number;
  backend?: 'auto' | 'wasm' | 'node' | 'cpu';
  /** The config file's `pipeline` section. */
  config?: unknown;
}
