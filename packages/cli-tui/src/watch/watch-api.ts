import type { Alert, CandleScore } from '@crypto-anomaly/core';
import type { Interval, Kline, LiveCandle, LiveStatus, StoredAlert, StoredScore } from '@crypto-anomaly/data';

export type { StoredAlert, StoredScore };

/**
 * The types `watch` is built on. The scorer and the store are written here by the shape the loop
 * uses (core's `StreamScorer`, data's `KlineStore` have it), so the loop depends on nothing else.
 */

/** One symbol's streaming scorer, as core's `StreamScorer` is. */
export interface WatchScorer {
  /** Closed candles it needs before the first score. */
  readonly historyNeeded: number;
  /** Sets the rolling state from history (oldest first); scores nothing. */
  warmUp(klines: readonly Kline[]): void;
  /** One alert per flagged detector (the consensus included). */
  alertsOf(score: CandleScore): Alert[];
}

/** Scores a burst of closed candles across symbols (core's `scoreMany`), one result per item, in order. */
export type ScoreBurst<S extends WatchScorer> = (
  items: { scorer: S; kline: Kline }[],
) => Promise<CandleScore[]>;

/** A closed candle from the live streams, their back-fill, or a replay. */
export type WatchCandle = LiveCandle;

/** The connection as data's live streams report it (their `onStatus`). */
export type ConnectionStatus = LiveStatus;

/** What the loop needs of the DuckDB store (data's `KlineStore`). */
export interface WatchStore {
  upsert(symbol: string, interval: Interval, klines: readonly Kline[]): Promise<number>;
  saveScores(rows: StoredScore[]): Promise<void>;
  /** Resolves to the ids that were new; an id already stored is skipped. */
  saveAlerts(alerts: StoredAlert[]): Promise<string[]>;
  lastScoredOpenTime(symbol: string, interval: Interval): Promise<number | undefined>;
  /**
   * Candles, scores and alerts of a group of bursts in one transaction (data's `saveBurst`);
   * resolves to the alert ids that were new. Without it, the three are written one after another.
   */
  saveBurst?(burst: {
    klines: { symbol: string; interval: Interval; klines: readonly Kline[] }[];
    scores: StoredScore[];
    alerts: StoredAlert[];
  }): Promise<{ newAlertIds: string[] }>;
}

/** Everything the loop tells its display: the dashboard's reducer and the plain lines read these. */
export type WatchEvent =
  /** `interval` absent: every interval (watch --bus without --interval). */
  | { type: 'started'; symbols: string[]; interval?: Interval; mode: 'live' | 'replay'; at: number }
  | { type: 'warming-up'; symbol: string; candles: number; from: 'store' | 'rest' | 'replay' }
  | { type: 'symbol-stopped'; symbol: string; reason: string }
  /** A live symbol's warm-up failed; it is tried again (`attempt` of `attempts`) after `waitMs`. */
  | {
      type: 'warm-up-retry';
      symbol: string;
      reason: string;
      waitMs: number;
      attempt: number;
      attempts: number;
    }
  | { type: 'connection'; status: ConnectionStatus; at: number }
  | {
      type: 'scored';
      score: CandleScore;
      via: WatchCandle['via'];
      /** Wall time from the candle's close to the end of its scoring (0 in a replay). */
      lagMs: number;
      at: number;
    }
  | {
      type: 'alert';
      alert: Alert;
      /** False when the symbol's cool-down held it back from the sinks. */
      delivered: boolean;
      at: number;
    }
  | { type: 'sink-error'; sink: string; message: string; at: number }
  | {
      type: 'model-refit';
      symbol: string;
      /** `started`: training on the candles through `through`; `swapped`: the new model scores from the next candle. */
      status: 'started' | 'swapped' | 'failed';
      /** Open time of the last candle the new model was trained on. */
      through: number;
      message?: string;
      at: number;
    }
  | { type: 'finished'; candles: number; alerts: number; at: number };

/** Somewhere alerts go: the alerts file, the webhook, stdout. */
export interface AlertSink {
  readonly name: string;
  /** Hands over one alert; must not wait on the network (the webhook queues it). */
  deliver(alert: Alert): void | Promise<void>;
  /** Waits for work in flight (a webhook retrying) up to `timeoutMs`, then releases its files. */
  close(timeoutMs?: number): Promise<void>;
}
