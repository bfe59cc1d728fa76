import type { DuckDBConnection } from '@duckdb/node-api';
import type { AlertQuery, Interval, StoredAlert, StoredScore } from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval } from '../intervals.js';
import { assertInteger, assertSymbol, assertTimestamp, describeValue } from '../validate.js';
import type { DuckDB } from './duckdb-file.js';
import { appendToTemp, inTransaction } from './kline-writes.js';

function checkRecord(
  what: string,
  i: number,
  row: { symbol: unknown; interval: unknown; openTime: unknown; detector: unknown },
): void {
  assertSymbol(`${what}[${i}].symbol`, row.symbol);
  assertInterval(String(row.interval));
  assertTimestamp(`${what}[${i}].openTime`, row.openTime);
  if (typeof row.detector !== 'string' || row.detector === '') {
    throw new DataError(
      'INVALID_ARGUMENT',
      `${what}[${i}].detector must be a detector name, got ${JSON.stringify(row.detector)}.`,
    );
  }
}

/** Checks score rows before they reach the store. */
export function checkScores(rows: readonly StoredScore[]): void {
  rows.forEach((row, i) => {
    checkRecord('scores', i, row);
    // A stored score is a candle a detector scored against a threshold it had: NaN or an
    // infinity would be neither, and would sort and compare as nonsense in every query.
    for (const field of ['score', 'threshold'] as const) {
      if (typeof row[field] !== 'number' || !Number.isFinite(row[field])) {
        throw new DataError(
          'INVALID_ARGUMENT',
          `scores[${i}].${field} must be a finite number, got ${describeValue(row[field])}: ` +
            'store only candles a detector scored.',
        );
      }
    }
    if (typeof row.flagged !== 'boolean') {
      throw new DataError(
        'INVALID_ARGUMENT',
        `scores[${i}].flagged must be true or false, got ${describeValue(row.flagged)}.`,
      );
    }
  });
}

/** Checks alert rows before they reach the store. */
export function checkAlerts(alerts: readonly StoredAlert[]): void {
  alerts.forEach((alert, i) => {
    checkRecord('alerts', i, alert);
    if (typeof alert.id !== 'string' || alert.id === '' || typeof alert.payload !== 'string') {
      throw new DataError(
        'INVALID_ARGUMENT',
        `alerts[${i}] needs a non-empty string id and a string payload (the alert as JSON).`,
      );
    }
  });
}

/**
 * Writes score rows inside the caller's transaction: appended to `score_stage`, then one
 * `INSERT OR REPLACE`, so a candle scored again replaces its rows (the last of repeated keys in
 * one call wins).
 */
export async function writeScores(
  connection: DuckDBConnection,
  duckdb: DuckDB,
  rows: readonly StoredScore[],
): Promise<number> {
  const byKey = new Map<string, StoredScore>();
  for (const r of rows) byKey.set(`${r.symbol}\u0000${r.interval}\u0000${r.openTime}\u0000${r.detector}`, r);
  const unique = [...byKey.values()];
  if (unique.length === 0) return 0;
  const { VARCHAR, BIGINT, DOUBLE, BOOLEAN } = duckdb;
  await appendToTemp(
    connection,
    duckdb,
    'score_stage',
    [VARCHAR, VARCHAR, BIGINT, VARCHAR, DOUBLE, DOUBLE, BOOLEAN],
    [
      unique.map((r) => r.symbol),
      unique.map((r) => r.interval),
      unique.map((r) => BigInt(r.openTime)),
      unique.map((r) => r.detector),
      unique.map((r) => r.score),
      unique.map((r) => r.threshold),
      unique.map((r) => r.flagged),
    ],
  );
  await connection.run('INSERT OR REPLACE INTO scores SELECT * FROM score_stage');
  await connection.run('DELETE FROM score_stage');
  return rows.length;
}

/**
 * Writes the alerts whose id is not stored yet inside the caller's transaction (appended to
 * `alert_stage`, then one `INSERT ... ON CONFLICT DO NOTHING RETURNING id`); the ids that were
 * new, in the order given, each once.
 */
export async function writeAlerts(
  connection: DuckDBConnection,
  duckdb: DuckDB,
  alerts: readonly StoredAlert[],
): Promise<string[]> {
  const unique = [...new Map(alerts.map((a) => [a.id, a] as const)).values()];
  if (unique.length === 0) return [];
  const storedAt = BigInt(Date.now());
  const { VARCHAR, BIGINT } = duckdb;
  await appendToTemp(
    connection,
    duckdb,
    'alert_stage',
    [VARCHAR, VARCHAR, VARCHAR, BIGINT, VARCHAR, VARCHAR, BIGINT],
    [
      unique.map((a) => a.id),
      unique.map((a) => a.symbol),
      unique.map((a) => a.interval),
      unique.map((a) => BigInt(a.openTime)),
      unique.map((a) => a.detector),
      unique.map((a) => a.payload),
      unique.map(() => storedAt),
    ],
  );
  const reader = await connection.runAndReadAll(
    'INSERT INTO alerts SELECT * FROM alert_stage ON CONFLICT (id) DO NOTHING RETURNING id',
  );
  await connection.run('DELETE FROM alert_stage');
  const fresh = new Set(reader.getRows().map(([id]) => String(id)));
  return unique.map((a) => a.id).filter((id) => fresh.has(id));
}

/** Inserts score rows, a candle scored again replacing its rows; one transaction. */
export function saveScores(
  connection: DuckDBConnection,
  duckdb: DuckDB,
  path: string,
  rows: readonly StoredScore[],
): Promise<number> {
  return inTransaction(connection, path, `Saving ${rows.length} scores`, () =>
    writeScores(connection, duckdb, rows),
  );
}

/** Inserts the alerts whose id is not stored yet; the ids that were new, in the order given. */
export function saveAlerts(
  connection: DuckDBConnection,
  duckdb: DuckDB,
  path: string,
  alerts: readonly StoredAlert[],
): Promise<string[]> {
  return inTransaction(connection, path, `Saving ${alerts.length} alerts`, () =>
    writeAlerts(connection, duckdb, alerts),
  );
}

/** Open time of the newest scored candle of a pair, or undefined. */
export async function lastScoredOpenTime(
  connection: DuckDBConnection,
  symbol: string,
  interval: Interval,
): Promise<number | undefined> {
  const reader = await connection.runAndReadAll(
    'SELECT max(open_time) FROM scores WHERE symbol = $1 AND interval = $2',
    [symbol, interval],
  );
  const last = reader.getRows()[0]?.[0];
  return last === null || last === undefined ? undefined : Number(last);
}

/** Score rows of a pair with open time in [start, end), oldest first, detectors by name within a candle. */
export async function scoresOf(
  connection: DuckDBConnection,
  symbol: string,
  interval: Interval,
  start: number,
  end: number,
): Promise<StoredScore[]> {
  const reader = await connection.runAndReadAll(
    `SELECT open_time, detector, score, threshold, flagged FROM scores
     WHERE symbol = $1 AND interval = $2 AND open_time >= $3 AND open_time < $4 ORDER BY open_time, detector`,
    [symbol, interval, BigInt(start), BigInt(end)],
  );
  return reader.getRows().map(([openTime, detector, score, threshold, flagged]) => ({
    symbol,
    interval,
    openTime: Number(openTime),
    detector: String(detector),
    score: Number(score),
    threshold: Number(threshold),
    flagged: flagged === true,
  }));
}

/** Alerts of candles opening at or after `since`, newest first. */
export async function alertsSince(
  connection: DuckDBConnection,
  since: number,
  query: AlertQuery,
): Promise<StoredAlert[]> {
  assertTimestamp('since', since);
  if (query.symbol !== undefined) assertSymbol('symbol', query.symbol);
  if (query.interval !== undefined) assertInterval(query.interval);
  const limit = assertInteger('limit', query.limit ?? 1000, 1);
  const reader = await connection.runAndReadAll(
    `SELECT id, symbol, interval, open_time, detector, payload FROM alerts
     WHERE open_time >= $1 AND ($2::VARCHAR IS NULL OR symbol = $2) AND ($3::VARCHAR IS NULL OR interval = $3)
     ORDER BY open_time DESC, id LIMIT $4`,
    [BigInt(since), query.symbol ?? null, query.interval ?? null, limit],
  );
  return reader.getRows().map(([id, symbol, interval, openTime, detector, payload]) => ({
    id: String(id),
    symbol: String(symbol),
    interval: interval as Interval,
    openTime: Number(openTime),
    detector: String(detector),
    payload: String(payload),
  }));
}
