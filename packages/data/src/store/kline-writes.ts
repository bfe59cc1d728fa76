import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { Interval, Kline, PairKlines, TimeRange } from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval } from '../intervals.js';
import { assertSymbol } from '../validate.js';
import type { DuckDB } from './duckdb-file.js';
import { CHUNK_ROWS, type PairKline, toChunk, toMixedChunk, validateKline } from './kline-rows.js';

/** Runs `work` in one transaction; a failure rolls back and is a STORE error naming `what`. */
export async function inTransaction<T>(
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

/**
 * Appends `columns` (column-wise, all the same length) to the connection's temporary table
 * `table` through DuckDB's appender, one data chunk per `CHUNK_ROWS` rows.
 */
export async function appendToTemp(
  connection: DuckDBConnection,
  duckdb: DuckDB,
  table: string,
  types: DuckDBType[],
  columns: DuckDBValue[][],
): Promise<void> {
  const rows = columns[0]?.length ?? 0;
  const appender = await connection.createAppender(table, 'main', 'temp');
  try {
    for (let offset = 0; offset < rows; offset += CHUNK_ROWS) {
      const end = Math.min(rows, offset + CHUNK_ROWS);
      const chunk = duckdb.DuckDBDataChunk.create(types, end - offset);
      chunk.setColumns(columns.map((column) => column.slice(offset, end)));
      appender.appendDataChunk(chunk);
    }
  } finally {
    appender.closeSync();
  }
}

/**
 * Writes one pair's klines (unique open times, checked) inside the caller's transaction, and
 * `covered` when given. New rows (the common case) go straight into `klines` through the
 * appender; rows that may replace stored ones go through the `stage` table and INSERT OR REPLACE.
 */
export async function writeOnePair(
  c: DuckDBConnection,
  duckdb: DuckDB,
  symbol: string,
  interval: Interval,
  rows: readonly Kline[],
  covered?: TimeRange,
): Promise<void> {
  if (rows.length > 0) {
    let first = rows[0]!.openTime;
    let last = first;
    for (const row of rows) {
      if (row.openTime < first) first = row.openTime;
      if (row.openTime > last) last = row.openTime;
    }
    const existing = await c.runAndReadAll(
      'SELECT count(*) FROM klines WHERE symbol = $1 AND interval = $2 AND open_time BETWEEN $3 AND $4',
      [symbol, interval, BigInt(first), BigInt(last)],
    );
    const fresh = Number(existing.getRows()[0]![0]) === 0;
    const appender = await c.createAppender(fresh ? 'klines' : 'stage', 'main', fresh ? null : 'temp');
    try {
      for (let offset = 0; offset < rows.length; offset += CHUNK_ROWS) {
        appender.appendDataChunk(toChunk(duckdb, symbol, interval, rows.slice(offset, offset + CHUNK_ROWS)));
      }
    } finally {
      appender.closeSync();
    }
    if (!fresh) {
      await c.run('INSERT OR REPLACE INTO klines SELECT * FROM stage');
      await c.run('DELETE FROM stage');
    }
  }
  if (covered && covered.end > covered.start) {
    await c.run('INSERT INTO coverage VALUES ($1, $2, $3, $4)', [
      symbol,
      interval,
      BigInt(covered.start),
      BigInt(covered.end),
    ]);
  }
}

/**
 * The klines of a batched write, checked (the item named on failure) and made unique by
 * (symbol, interval, open time): the last of repeated keys wins, across items too.
 */
export function pairKlineRows(items: readonly PairKlines[]): PairKline[] {
  if (!Array.isArray(items)) {
    throw new DataError('INVALID_ARGUMENT', 'upsertMany takes an array of { symbol, interval, klines }.');
  }
  const byKey = new Map<string, PairKline>();
  items.forEach((item, i) => {
    assertSymbol(`items[${i}].symbol`, item?.symbol);
    assertInterval(item.interval);
    if (!Array.isArray(item.klines)) {
      throw new DataError('INVALID_ARGUMENT', `items[${i}].klines must be an array of klines.`);
    }
    for (const kline of item.klines) {
      validateKline(kline);
      byKey.set(`${item.symbol}\u0000${item.interval}\u0000${kline.openTime}`, {
        symbol: item.symbol,
        interval: item.interval,
        kline,
      });
    }
  });
  return [...byKey.values()];
}

/**
 * Writes klines of any pairs inside the caller's transaction: all go to the temporary `stage`
 * table through the appender, then into `klines` with one `INSERT OR REPLACE`, which finds the
 * rows it replaces through the primary key's index.
 */
export async function writePairKlines(
  connection: DuckDBConnection,
  duckdb: DuckDB,
  rows: readonly PairKline[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const appender = await connection.createAppender('stage', 'main', 'temp');
  try {
    for (let offset = 0; offset < rows.length; offset += CHUNK_ROWS) {
      appender.appendDataChunk(toMixedChunk(duckdb, rows.slice(offset, offset + CHUNK_ROWS)));
    }
  } finally {
    appender.closeSync();
  }
  await connection.run('INSERT OR REPLACE INTO klines SELECT * FROM stage');
  await connection.run('DELETE FROM stage');
  return rows.length;
}
