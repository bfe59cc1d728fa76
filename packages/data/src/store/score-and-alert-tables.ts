import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { AlertQuery, Interval, StoredAlert, StoredScore } from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval } from '../intervals.js';
import { assertInteger, assertSymbol, assertTimestamp } from '../validate.js';

/**
 * The tables `watch` keeps beside the klines. `CREATE ... IF NOT EXISTS` on every open, so a
 * store file written before they existed gains them and keeps its klines.
 */
export const SCORE_AND_ALERT_TABLES = [
  `CREATE TABLE IF NOT EXISTS scores (
     symbol VARCHAR NOT NULL, interval VARCHAR NOT NULL, open_time BIGINT NOT NULL, detector VARCHAR NOT NULL,
     score DOUBLE NOT NULL, threshold DOUBLE NOT NULL, flagged BOOLEAN NOT NULL,
     PRIMARY KEY (symbol, interval, open_time, detector))`,
  `CREATE TABLE IF NOT EXISTS alerts (
     id VARCHAR PRIMARY KEY, symbol VARCHAR NOT NULL, interval VARCHAR NOT NULL, open_time BIGINT NOT NULL,
     detector VARCHAR NOT NULL, payload VARCHAR NOT NULL, stored_at BIGINT NOT NULL)`,
];

/** Rows per INSERT statement (each row is 7 parameters). */
const ROWS_PER_STATEMENT = 500;

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
    if (
      typeof row.score !== 'number' ||
      typeof row.threshold !== 'number' ||
      typeof row.flagged !== 'boolean'
    ) {
      throw new DataError(
        'INVALID_ARGUMENT',
        `scores[${i}] needs a number score and threshold and a boolean flagged.`,
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

/** Runs `work` in one transaction; a failure rolls back and is a STORE error naming `what`. */
async function inTransaction<T>(
  connection: DuckDBConnection,
  path: string,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  await connection.run('BEGIN TRANSACTION');
  try {
    const result = await work();
    await connection.run('COMMIT');
    return result;
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw new DataError('STORE', `${what} in ${path} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** `rows` in multi-row INSERT statements of ROWS_PER_STATEMENT rows; what RETURNING gave. */
async function insertRows(
  connection: DuckDBConnection,
  head: string,
  tail: string,
  rows: DuckDBValue[][],
): Promise<unknown[][]> {
  const returned: unknown[][] = [];
  for (let offset = 0; offset < rows.length; offset += ROWS_PER_STATEMENT) {
    const batch = rows.slice(offset, offset + ROWS_PER_STATEMENT);
    const width = batch[0]!.length;
    const values = batch
      .map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`)
      .join(', ');
    const reader = await connection.runAndReadAll(`${head} VALUES ${values} ${tail}`, batch.flat());
    returned.push(...reader.getRows());
  }
  return returned;
}

/** Inserts score rows, a candle scored again replacing its rows; one transaction. */
export function saveScores(
  connection: DuckDBConnection,
  path: string,
  rows: readonly StoredScore[],
): Promise<number> {
  return inTransaction(connection, path, `Saving ${rows.length} scores`, async () => {
    await insertRows(
      connection,
      'INSERT OR REPLACE INTO scores',
      '',
      rows.map((r) => [
        r.symbol,
        r.interval,
        BigInt(r.openTime),
        r.detector,
        r.score,
        r.threshold,
        r.flagged,
      ]),
    );
    return rows.length;
  });
}

/** Inserts the alerts whose id is not stored yet; the ids that were new, in the order given. */
export function saveAlerts(
  connection: DuckDBConnection,
  path: string,
  alerts: readonly StoredAlert[],
): Promise<string[]> {
  const unique = [...new Map(alerts.map((a) => [a.id, a] as const)).values()];
  return inTransaction(connection, path, `Saving ${alerts.length} alerts`, async () => {
    const storedAt = BigInt(Date.now());
    const returned = await insertRows(
      connection,
      'INSERT INTO alerts',
      'ON CONFLICT (id) DO NOTHING RETURNING id',
      unique.map((a) => [a.id, a.symbol, a.interval, BigInt(a.openTime), a.detector, a.payload, storedAt]),
    );
    const fresh = new Set(returned.map(([id]) => String(id)));
    return unique.map((a) => a.id).filter((id) => fresh.has(id));
  });
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
