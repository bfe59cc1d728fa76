import { resolve } from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import type {
  AlertQuery,
  IngestStore,
  Interval,
  Kline,
  KlineGap,
  PairKlines,
  StoreBurst,
  StoreBurstResult,
  StoredAlert,
  StoredPair,
  StoredScore,
  TimeRange,
} from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval, intervalToMilliseconds, nextOpenTime } from '../intervals.js';
import {
  assertKnownKeys,
  assertSymbol,
  assertTimeRange,
  describeValue,
  keysOf,
  TIME_RANGE_KEYS,
} from '../validate.js';
import { type DuckDB, damagedStore, defaultStorePath, isDamage, openStoreFile } from './duckdb-file.js';
import { klinesFromColumns, SELECT_KLINE, validateKline } from './kline-rows.js';
import { inTransaction, pairKlineRows, writeOnePair, writePairKlines } from './kline-writes.js';
import { mergeRanges, subtractRanges } from './ranges.js';
import {
  alertsSince,
  checkAlerts,
  checkScores,
  lastScoredOpenTime,
  saveAlerts,
  saveScores,
  scoresOf,
  writeAlerts,
  writeScores,
} from './score-and-alert-tables.js';

const ALERT_QUERY_KEYS = keysOf<AlertQuery>({ symbol: true, interval: true, limit: true });
const BURST_KEYS = keysOf<StoreBurst>({ klines: true, scores: true, alerts: true });

/**
 * Klines in an embedded DuckDB file, keyed by (symbol, interval, open_time). Every write is one
 * transaction: a killed process loses no committed page and leaves no half-written row. Besides
 * the candles it records which spans the exchange was asked for and answered, so a span the
 * exchange has no candles for (an outage) is not asked for again.
 *
 * Calls on one store run one at a time (DuckDB runs one transaction per connection); open a
 * file from one process at a time.
 */
export class KlineStore implements IngestStore {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    /** Absolute path of the database file (or ':memory:'). */
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly duckdb: DuckDB,
  ) {}

  /** Opens (creating if needed) the store at `path`, default `defaultStorePath()`. */
  static async open(path: string = defaultStorePath()): Promise<KlineStore> {
    const location = path === ':memory:' ? path : resolve(path);
    const { duckdb, instance, connection } = await openStoreFile(location);
    return new KlineStore(location, instance, connection, duckdb);
  }

  /** Runs store calls one after another on the single connection. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(
        new DataError('STORE', `The kline store at ${this.path} is closed; open it again.`),
      );
    }
    // A damaged file can also show itself in a later read or write, not only on open.
    const guarded = () =>
      work().catch((error: unknown) => {
        throw isDamage(error) ? damagedStore(this.path, error) : error;
      });
    const next = this.queue.then(guarded, guarded);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Inserts or replaces klines (the key is symbol, interval, open_time; the last of repeated open
   * times wins) in one transaction. `covered`, when given, records that the exchange answered for
   * that span of open times, in the same transaction. Resolves to the number of rows written.
   */
  async upsert(
    symbol: string,
    interval: Interval,
    klines: readonly Kline[],
    covered?: TimeRange,
  ): Promise<number> {
    assertSymbol('symbol', symbol);
    assertInterval(interval);
    if (!Array.isArray(klines)) {
      throw new DataError(
        'INVALID_ARGUMENT',
        `klines must be an array of klines, got ${describeValue(klines)}: to store one kline, pass [kline].`,
      );
    }
    const byTime = new Map<number, Kline>();
    for (const kline of klines) {
      validateKline(kline);
      byTime.set(kline.openTime, kline);
    }
    const rows = [...byTime.values()];
    return this.exclusive(() =>
      inTransaction(this.connection, this.path, `Writing ${rows.length} klines`, async () => {
        await writeOnePair(this.connection, this.duckdb, symbol, interval, rows, covered);
        return rows.length;
      }),
    );
  }

  /**
   * Inserts or replaces the klines of many pairs (a burst of closed candles, one per symbol) in
   * one transaction, however many pairs: the same guarantees as `upsert` (the key is symbol,
   * interval, open time; the last of repeated keys wins, across items too). Resolves to the
   * number of rows written.
   */
  async upsertMany(items: readonly PairKlines[]): Promise<number> {
    const rows = pairKlineRows(items);
    if (rows.length === 0) return 0;
    return this.exclusive(() =>
      inTransaction(this.connection, this.path, `Writing ${rows.length} klines`, () =>
        writePairKlines(this.connection, this.duckdb, rows),
      ),
    );
  }

  /**
   * What one burst of `watch` leaves in the store, in one transaction: klines as `upsertMany`,
   * scores as `saveScores`, alerts as `saveAlerts` (all checked before it starts; all or none
   * written). Resolves to the rows written and the alert ids that were new.
   */
  async saveBurst(burst: StoreBurst): Promise<StoreBurstResult> {
    assertKnownKeys('saveBurst burst', burst, BURST_KEYS);
    const rows = pairKlineRows(burst.klines ?? []);
    const scores = burst.scores ?? [];
    const alerts = burst.alerts ?? [];
    checkScores(scores);
    checkAlerts(alerts);
    if (rows.length + scores.length + alerts.length === 0) return { klines: 0, scores: 0, newAlertIds: [] };
    const what = `Saving ${rows.length} klines, ${scores.length} scores and ${alerts.length} alerts`;
    return this.exclusive(() =>
      inTransaction(this.connection, this.path, what, async () => ({
        klines: await writePairKlines(this.connection, this.duckdb, rows),
        scores: await writeScores(this.connection, this.duckdb, scores),
        newAlertIds: await writeAlerts(this.connection, this.duckdb, alerts),
      })),
    );
  }

  /** Stored klines for a pair with open time in [start, end), oldest first. */
  async klines(symbol: string, interval: Interval, range: Partial<TimeRange> = {}): Promise<Kline[]> {
    const { start, end } = checkRange('klines', symbol, interval, range);
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(
        `SELECT ${SELECT_KLINE} FROM klines
         WHERE symbol = $1 AND interval = $2 AND open_time >= $3 AND open_time < $4 ORDER BY open_time`,
        [symbol, interval, BigInt(start), BigInt(end)],
      );
      return klinesFromColumns(reader.getColumns() as DuckDBValue[][], reader.currentRowCount);
    });
  }

  /**
   * The same klines as `klines`, `chunkRows` at a time, oldest first: an export of millions of
   * candles holds one chunk in memory, not the whole range.
   */
  async *klineChunks(
    symbol: string,
    interval: Interval,
    range: Partial<TimeRange> = {},
    chunkRows = 50_000,
  ): AsyncGenerator<Kline[]> {
    const { start, end } = checkRange('klineChunks', symbol, interval, range);
    let from = start;
    for (;;) {
      const chunk = await this.exclusive(async () => {
        const reader = await this.connection.runAndReadAll(
          `SELECT ${SELECT_KLINE} FROM klines
           WHERE symbol = $1 AND interval = $2 AND open_time >= $3 AND open_time < $4 ORDER BY open_time LIMIT $5`,
          [symbol, interval, BigInt(from), BigInt(end), BigInt(chunkRows)],
        );
        return klinesFromColumns(reader.getColumns() as DuckDBValue[][], reader.currentRowCount);
      });
      if (chunk.length > 0) yield chunk;
      if (chunk.length < chunkRows) return;
      from = chunk.at(-1)!.openTime + 1;
    }
  }

  /** Number of stored klines for a pair in [start, end). */
  async count(symbol: string, interval: Interval, range: Partial<TimeRange> = {}): Promise<number> {
    const { start, end } = checkRange('count', symbol, interval, range);
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(
        'SELECT count(*) FROM klines WHERE symbol = $1 AND interval = $2 AND open_time >= $3 AND open_time < $4',
        [symbol, interval, BigInt(start), BigInt(end)],
      );
      return Number(reader.getRows()[0]![0]);
    });
  }

  /** Open time of the newest stored kline of a pair, or undefined when there is none. */
  async lastOpenTime(symbol: string, interval: Interval): Promise<number | undefined> {
    return (await this.bounds(symbol, interval))?.last;
  }

  /** Open time of the oldest stored kline of a pair, or undefined when there is none. */
  async firstOpenTime(symbol: string, interval: Interval): Promise<number | undefined> {
    return (await this.bounds(symbol, interval))?.first;
  }

  private async bounds(
    symbol: string,
    interval: Interval,
  ): Promise<{ first: number; last: number } | undefined> {
    checkRange('firstOpenTime', symbol, interval, {});
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(
        'SELECT min(open_time), max(open_time) FROM klines WHERE symbol = $1 AND interval = $2',
        [symbol, interval],
      );
      const [first, last] = reader.getRows()[0]!;
      return first === null || first === undefined ? undefined : { first: Number(first), last: Number(last) };
    });
  }

  /** Every pair the store holds, with row counts and first/last open times. */
  async pairs(): Promise<StoredPair[]> {
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(
        `SELECT symbol, interval, count(*), min(open_time), max(open_time) FROM klines
         GROUP BY symbol, interval ORDER BY symbol, interval`,
      );
      return reader.getRows().map(([symbol, interval, rows, first, last]) => ({
        symbol: symbol as string,
        interval: interval as Interval,
        rows: Number(rows),
        firstOpenTime: Number(first),
        lastOpenTime: Number(last),
      }));
    });
  }

  /**
   * Missing candles between stored ones in [start, end) (only between two stored candles: what
   * lies before the first or after the last is not a gap). For `1M`, calendar months.
   */
  async findGaps(symbol: string, interval: Interval, range: Partial<TimeRange> = {}): Promise<KlineGap[]> {
    const { start, end } = checkRange('findGaps', symbol, interval, range);
    return this.exclusive(async () => {
      if (interval === '1M') {
        const reader = await this.connection.runAndReadAll(
          `SELECT open_time FROM klines WHERE symbol = $1 AND interval = $2 AND open_time >= $3 AND open_time < $4
           ORDER BY open_time`,
          [symbol, interval, BigInt(start), BigInt(end)],
        );
        const times = reader.getColumns()[0]!.map(Number);
        const gaps: KlineGap[] = [];
        for (let i = 1; i < times.length; i++) {
          let missing = 0;
          let t = nextOpenTime(interval, times[i - 1]!);
          const first = t;
          while (t < times[i]!) {
            missing++;
            t = nextOpenTime(interval, t);
          }
          if (missing > 0) gaps.push({ start: first, end: times[i]!, missing });
        }
        return gaps;
      }
      const step = intervalToMilliseconds(interval);
      const reader = await this.connection.runAndReadAll(
        `SELECT open_time, next_open FROM (
           SELECT open_time, lead(open_time) OVER (ORDER BY open_time) AS next_open FROM klines
           WHERE symbol = $1 AND interval = $2 AND open_time >= $3 AND open_time < $4)
         WHERE next_open - open_time > $5 ORDER BY open_time`,
        [symbol, interval, BigInt(start), BigInt(end), BigInt(step)],
      );
      return reader.getRows().map(([previous, next]) => {
        const first = Number(previous) + step;
        return { start: first, end: Number(next), missing: Math.ceil((Number(next) - first) / step) };
      });
    });
  }

  /**
   * The spans of open times in [start, end) that are neither stored nor recorded as answered by
   * the exchange: what an incremental fetch still has to ask for.
   */
  async missingRanges(symbol: string, interval: Interval, range: TimeRange): Promise<TimeRange[]> {
    const { start, end } = checkRange('missingRanges', symbol, interval, range);
    if (start >= end) return [];
    const [gaps, bounds, covered] = await Promise.all([
      this.findGaps(symbol, interval, { start, end }),
      this.exclusive(async () => {
        const reader = await this.connection.runAndReadAll(
          `SELECT min(open_time), max(open_time) FROM klines
           WHERE symbol = $1 AND interval = $2 AND open_time >= $3 AND open_time < $4`,
          [symbol, interval, BigInt(start), BigInt(end)],
        );
        const [first, last] = reader.getRows()[0]!;
        return first === null ? undefined : { first: Number(first), last: Number(last) };
      }),
      this.coverage(symbol, interval),
    ]);
    // Present = the stored runs of candles plus the spans the exchange has answered for.
    const present: TimeRange[] = [...covered];
    if (bounds) {
      let runStart = bounds.first;
      for (const gap of gaps) {
        present.push({ start: runStart, end: gap.start });
        runStart = gap.end;
      }
      present.push({ start: runStart, end: nextOpenTime(interval, bounds.last) });
    }
    return subtractRanges({ start, end }, present);
  }

  /** The spans recorded as answered by the exchange (merged). */
  async coverage(symbol: string, interval: Interval): Promise<TimeRange[]> {
    checkRange('coverage', symbol, interval, {});
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(
        'SELECT start_time, end_time FROM coverage WHERE symbol = $1 AND interval = $2 ORDER BY start_time',
        [symbol, interval],
      );
      return mergeRanges(reader.getRows().map(([s, e]) => ({ start: Number(s), end: Number(e) })));
    });
  }

  /**
   * Rewrites a pair's answered spans as their merged union (one row per span instead of one per
   * page), in one transaction. `fetchKlines` and `downloadArchive` call it when they finish.
   */
  async compactCoverage(symbol: string, interval: Interval): Promise<number> {
    checkRange('compactCoverage', symbol, interval, {});
    return this.exclusive(() =>
      inTransaction(this.connection, this.path, 'Compacting coverage', async () => {
        const c = this.connection;
        const reader = await c.runAndReadAll(
          'SELECT start_time, end_time FROM coverage WHERE symbol = $1 AND interval = $2',
          [symbol, interval],
        );
        const rows = reader.getRows();
        const merged = mergeRanges(rows.map(([start, end]) => ({ start: Number(start), end: Number(end) })));
        if (merged.length < rows.length) {
          await c.run('DELETE FROM coverage WHERE symbol = $1 AND interval = $2', [symbol, interval]);
          for (const range of merged) {
            await c.run('INSERT INTO coverage VALUES ($1, $2, $3, $4)', [
              symbol,
              interval,
              BigInt(range.start),
              BigInt(range.end),
            ]);
          }
        }
        return merged.length;
      }),
    );
  }

  /** Stores one score row per candle and detector (a candle scored again replaces its rows), in one transaction. */
  async saveScores(rows: readonly StoredScore[]): Promise<number> {
    checkScores(rows);
    return rows.length === 0
      ? 0
      : this.exclusive(() => saveScores(this.connection, this.duckdb, this.path, rows));
  }

  /** Stores the alerts whose id is not stored yet, in one transaction; resolves to the new ids. */
  async saveAlerts(alerts: readonly StoredAlert[]): Promise<string[]> {
    checkAlerts(alerts);
    return alerts.length === 0
      ? []
      : this.exclusive(() => saveAlerts(this.connection, this.duckdb, this.path, alerts));
  }

  /** Open time of the newest scored candle of a pair, or undefined: where a restart resumes. */
  async lastScoredOpenTime(symbol: string, interval: Interval): Promise<number | undefined> {
    checkRange('lastScoredOpenTime', symbol, interval, {});
    return this.exclusive(() => lastScoredOpenTime(this.connection, symbol, interval));
  }

  /**
   * Stored score rows of a pair (every detector's score, threshold and flag of each candle `watch`
   * scored) with open time in [start, end), oldest first.
   */
  async scores(symbol: string, interval: Interval, range: Partial<TimeRange> = {}): Promise<StoredScore[]> {
    const { start, end } = checkRange('scores', symbol, interval, range);
    return this.exclusive(() => scoresOf(this.connection, symbol, interval, start, end));
  }

  /** Stored alerts of candles opening at or after `since`, newest first (at most `limit`, 1000). */
  async alertsSince(since: number, query: AlertQuery = {}): Promise<StoredAlert[]> {
    assertKnownKeys('alertsSince query', query, ALERT_QUERY_KEYS);
    return this.exclusive(() => alertsSince(this.connection, since, query));
  }

  /** Runs read-only SQL against the store (for reports and tools); rows as JS values. */
  async query(sql: string, parameters: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(sql, parameters);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    });
  }

  /** Closes the file. Pending calls finish first; later calls are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

function checkRange(
  method: string,
  symbol: string,
  interval: Interval,
  range: Partial<TimeRange>,
): TimeRange {
  assertKnownKeys(`${method} range`, range, TIME_RANGE_KEYS);
  assertSymbol('symbol', symbol);
  assertInterval(interval);
  return assertTimeRange(range, { start: 0, end: Number.MAX_SAFE_INTEGER });
}
