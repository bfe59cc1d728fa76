import type { DuckDBDataChunk, DuckDBValue } from '@duckdb/node-api';
import type { Kline } from '../api.js';
import { DataError } from '../errors.js';
import { describeValue } from '../validate.js';
import type { DuckDB } from './duckdb-file.js';

function chunkTypes(duckdb: DuckDB) {
  const { VARCHAR, BIGINT, DOUBLE } = duckdb;
  return [
    VARCHAR,
    VARCHAR,
    BIGINT,
    DOUBLE,
    DOUBLE,
    DOUBLE,
    DOUBLE,
    DOUBLE,
    BIGINT,
    DOUBLE,
    BIGINT,
    DOUBLE,
    DOUBLE,
    DOUBLE,
  ];
}

/** DuckDB's vector size: one data chunk holds at most this many rows. */
export const CHUNK_ROWS = 2048;

/** The columns of a Kline, in its field order. */
export const SELECT_KLINE = `open_time, open, high, low, close, volume, close_time, quote_asset_volume,
  number_of_trades, taker_buy_base_asset_volume, taker_buy_quote_asset_volume, ignore`;

/** The columns of a `SELECT_KLINE` result as Klines (`count` rows). */
export function klinesFromColumns(columns: DuckDBValue[][], count: number): Kline[] {
  const out: Kline[] = new Array(count);
  const [ot, o, h, l, c, v, ct, q, n, tb, tq, ig] = columns;
  for (let i = 0; i < count; i++) {
    out[i] = {
      openTime: Number(ot![i]),
      open: o![i] as number,
      high: h![i] as number,
      low: l![i] as number,
      close: c![i] as number,
      volume: v![i] as number,
      closeTime: Number(ct![i]),
      quoteAssetVolume: q![i] as number,
      numberOfTrades: Number(n![i]),
      takerBuyBaseAssetVolume: tb![i] as number,
      takerBuyQuoteAssetVolume: tq![i] as number,
      ignore: ig![i] as number,
    };
  }
  return out;
}

/** Rows of one pair as a DuckDB data chunk (at most `CHUNK_ROWS`), for the appender. */
export function toChunk(
  duckdb: DuckDB,
  symbol: string,
  interval: string,
  rows: readonly Kline[],
): DuckDBDataChunk {
  const n = rows.length;
  return klineChunk(duckdb, new Array<string>(n).fill(symbol), new Array<string>(n).fill(interval), rows);
}

/** A kline of some pair, as a batched write holds it. */
export interface PairKline {
  symbol: string;
  interval: string;
  kline: Kline;
}

/** Rows of several pairs as one DuckDB data chunk (at most `CHUNK_ROWS`), for the appender. */
export function toMixedChunk(duckdb: DuckDB, rows: readonly PairKline[]): DuckDBDataChunk {
  return klineChunk(
    duckdb,
    rows.map((r) => r.symbol),
    rows.map((r) => r.interval),
    rows.map((r) => r.kline),
  );
}

function klineChunk(
  duckdb: DuckDB,
  symbols: string[],
  intervals: string[],
  rows: readonly Kline[],
): DuckDBDataChunk {
  const chunk = duckdb.DuckDBDataChunk.create(chunkTypes(duckdb), rows.length);
  const n = rows.length;
  const column = <T>(pick: (k: Kline) => T): T[] => {
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = pick(rows[i]!);
    return out;
  };
  chunk.setColumns([
    symbols,
    intervals,
    column((k) => BigInt(k.openTime)),
    column((k) => k.open),
    column((k) => k.high),
    column((k) => k.low),
    column((k) => k.close),
    column((k) => k.volume),
    column((k) => BigInt(k.closeTime)),
    column((k) => k.quoteAssetVolume),
    column((k) => BigInt(k.numberOfTrades)),
    column((k) => k.takerBuyBaseAssetVolume),
    column((k) => k.takerBuyQuoteAssetVolume),
    column((k) => k.ignore),
  ]);
  return chunk;
}

/**
 * Refuses a kline the table cannot hold: non-integer times or counts, non-numeric prices. A bad
 * value is quoted as it was given (`close = "42000"`, a string), so the message says what it is.
 */
export function validateKline(k: Kline): void {
  if (k === null || typeof k !== 'object' || Array.isArray(k)) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `a kline must be an object { openTime, open, high, low, close, volume, … }, got ${describeValue(k)}.`,
    );
  }
  for (const field of ['openTime', 'closeTime', 'numberOfTrades'] as const) {
    if (!Number.isInteger(k[field])) {
      throw new DataError(
        'INVALID_ARGUMENT',
        `kline at openTime ${describeValue(k.openTime)} has ${field} = ${describeValue(k[field])}, not an integer; ` +
          'times are Unix milliseconds and numberOfTrades a count.',
      );
    }
  }
  for (const field of ['open', 'high', 'low', 'close', 'volume', 'quoteAssetVolume'] as const) {
    if (!Number.isFinite(k[field])) {
      throw new DataError(
        'INVALID_ARGUMENT',
        `kline at openTime ${k.openTime} has ${field} = ${describeValue(k[field])}, not a finite number.`,
      );
    }
  }
}
