import { closeSync, existsSync, mkdirSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { DataError } from '../errors.js';

/** Environment variable that overrides the default store location. */
export const STORE_PATH_ENV = 'CRYPTO_ANOMALY_STORE';

/** Where the default store is and why: the variable, the XDG data folder, or the old location. */
export interface StoreLocation {
  path: string;
  /**
   * `env`: `$CRYPTO_ANOMALY_STORE`; `xdg`: `$XDG_DATA_HOME/crypto-anomaly/` (else
   * `~/.local/share/crypto-anomaly/`); `legacy`: `~/.crypto-anomaly/`, used while it holds a store
   * and the XDG one does not exist (nothing is moved: the caller says so to the user).
   */
  source: 'env' | 'xdg' | 'legacy';
}

/** The store's file name inside its folder. */
const STORE_FILE = 'klines.duckdb';

/** The store's place before the XDG folders: still read when it is the only one. */
export function legacyStorePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['HOME'] || homedir(), '.crypto-anomaly', STORE_FILE);
}

/**
 * `$CRYPTO_ANOMALY_STORE`, else `$XDG_DATA_HOME/crypto-anomaly/klines.duckdb` (XDG_DATA_HOME
 * defaulting to `~/.local/share`), else, when only it exists, the old `~/.crypto-anomaly/klines.duckdb`.
 */
export function defaultStoreLocation(env: NodeJS.ProcessEnv = process.env): StoreLocation {
  const fromEnv = env[STORE_PATH_ENV];
  if (fromEnv && fromEnv.trim() !== '') return { path: resolve(fromEnv), source: 'env' };
  const home = env['HOME'] || homedir();
  // The XDG spec: a relative XDG_DATA_HOME is invalid and ignored.
  const dataHome =
    env['XDG_DATA_HOME'] && isAbsolute(env['XDG_DATA_HOME'])
      ? env['XDG_DATA_HOME']
      : join(home, '.local', 'share');
  const xdg = join(dataHome, 'crypto-anomaly', STORE_FILE);
  const legacy = legacyStorePath(env);
  if (!existsSync(xdg) && existsSync(legacy)) return { path: legacy, source: 'legacy' };
  return { path: xdg, source: 'xdg' };
}

/** The default store's path (see `defaultStoreLocation`). */
export function defaultStorePath(): string {
  return defaultStoreLocation().path;
}

const COLUMNS = `
  symbol VARCHAR NOT NULL,
  interval VARCHAR NOT NULL,
  open_time BIGINT NOT NULL,
  open DOUBLE NOT NULL,
  high DOUBLE NOT NULL,
  low DOUBLE NOT NULL,
  close DOUBLE NOT NULL,
  volume DOUBLE NOT NULL,
  close_time BIGINT NOT NULL,
  quote_asset_volume DOUBLE NOT NULL,
  number_of_trades BIGINT NOT NULL,
  taker_buy_base_asset_volume DOUBLE NOT NULL,
  taker_buy_quote_asset_volume DOUBLE NOT NULL,
  ignore DOUBLE NOT NULL`;

export type DuckDB = typeof import('@duckdb/node-api');
let duckdbModule: Promise<DuckDB> | undefined;

/** DuckDB (a native module) is loaded on first open, so importing this package stays light. */
export function loadDuckDB(): Promise<DuckDB> {
  duckdbModule ??= import('@duckdb/node-api');
  return duckdbModule;
}

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
  // Rows on their way in: appended here, then moved into the table by one statement.
  `CREATE TEMP TABLE IF NOT EXISTS score_stage (
     symbol VARCHAR, interval VARCHAR, open_time BIGINT, detector VARCHAR, score DOUBLE, threshold DOUBLE,
     flagged BOOLEAN)`,
  `CREATE TEMP TABLE IF NOT EXISTS alert_stage (
     id VARCHAR, symbol VARCHAR, interval VARCHAR, open_time BIGINT, detector VARCHAR, payload VARCHAR,
     stored_at BIGINT)`,
];

/** DuckDB's memory limit for one open store (its buffer pool and working memory). */
export const STORE_MEMORY_LIMIT = process.env['CRYPTO_ANOMALY_STORE_MEMORY'] ?? '256MB';

/**
 * Opens (creating if needed) the database file at `location` (absolute, or ':memory:') with the
 * store's tables; a file that cannot be opened fails with what to do (see `openFailure`).
 */
export async function openStoreFile(
  location: string,
): Promise<{ duckdb: DuckDB; instance: DuckDBInstance; connection: DuckDBConnection }> {
  const duckdb = await loadDuckDB();
  let instance: DuckDBInstance;
  try {
    if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
    // A bounded buffer pool: DuckDB's default (80% of RAM) lets a long-running watch grow with its
    // store; past the limit DuckDB spills to a temporary folder beside the file instead.
    instance = await duckdb.DuckDBInstance.create(location, { memory_limit: STORE_MEMORY_LIMIT });
  } catch (error) {
    throw openFailure(location, error);
  }
  let connection: DuckDBConnection | undefined;
  try {
    connection = await instance.connect();
    await assertStoreOrEmpty(connection, location);
    await connection.run(`CREATE TABLE IF NOT EXISTS klines (${COLUMNS},
        PRIMARY KEY (symbol, interval, open_time))`);
    await connection.run(`CREATE TABLE IF NOT EXISTS coverage (
        symbol VARCHAR NOT NULL, interval VARCHAR NOT NULL, start_time BIGINT NOT NULL, end_time BIGINT NOT NULL)`);
    for (const table of SCORE_AND_ALERT_TABLES) await connection.run(table);
    await connection.run(`CREATE TEMP TABLE IF NOT EXISTS stage (${COLUMNS})`);
  } catch (error) {
    connection?.closeSync();
    instance.closeSync();
    throw error instanceof DataError && error.code === 'TARGET_NOT_OURS'
      ? error
      : openFailure(location, error);
  }
  return { duckdb, instance, connection };
}

/**
 * Refuses (`TARGET_NOT_OURS`, before any table is created) a DuckDB database of another program:
 * tables, but no `klines` table, or one without the store's columns. A new database, or a store
 * (its own tables, and any a user added beside them), passes.
 */
async function assertStoreOrEmpty(connection: DuckDBConnection, location: string): Promise<void> {
  const reader = await connection.runAndReadAll(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_catalog = current_database()",
  );
  const columns = new Map<string, Set<string>>();
  for (const [table, column] of reader.getRows() as [string, string][]) {
    columns.set(table, (columns.get(table) ?? new Set()).add(column));
  }
  if (columns.size === 0) return;
  const klines = columns.get('klines');
  const ours =
    klines !== undefined && ['symbol', 'interval', 'open_time', 'close'].every((c) => klines.has(c));
  if (ours) return;
  const tables = [...columns.keys()].sort().slice(0, 5).join(', ');
  throw new DataError(
    'TARGET_NOT_OURS',
    `${location} is a DuckDB database of another program (its tables: ${tables}), not a kline store: ` +
      `it was left as it is. Give the store a new file (or set ${STORE_PATH_ENV} to one), or the store's own file.`,
  );
}

/** DuckDB's words for a file that is not, or no longer, a readable database. */
const DAMAGE_PATTERN =
  /not a valid DuckDB database|Corrupt database|checksum .* does not match|Could not read enough bytes|database file .*corrupt/i;
/** DuckDB's words for a file another process holds open. */
const LOCK_PATTERN = /Could not set lock|Conflicting lock/i;

/** Whether an error (or its causes) says the file is not a readable database. */
export function isDamage(error: unknown): boolean {
  for (let link = error, depth = 0; link !== undefined && depth < 3; depth++) {
    const message = link instanceof Error ? link.message : String(link);
    if (DAMAGE_PATTERN.test(message)) return true;
    link = link instanceof Error ? link.cause : undefined;
  }
  return false;
}

/** A STORE_DAMAGED error for the file at `location`: nothing was deleted, and how to rebuild. */
export function damagedStore(location: string, error: unknown): DataError {
  if (error instanceof DataError && error.code === 'STORE_DAMAGED') return error;
  const cause = error instanceof DataError && error.cause !== undefined ? error.cause : error;
  return new DataError(
    'STORE_DAMAGED',
    `The kline store at ${location} is damaged (${firstLine(cause)}). It was left as it is, nothing deleted. ` +
      `Rebuild it with a fresh fetch into a new file: move this one aside (or set ${STORE_PATH_ENV} to another path) and fetch the range again.`,
    { cause },
  );
}

/**
 * The first bytes of a file that is not a DuckDB database at all (no "DUCK" at byte 8, where every
 * DuckDB file has it), as text; undefined for a DuckDB file, or one that cannot be read.
 */
function foreignFileStart(location: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(location, 'r');
    const head = Buffer.alloc(64);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read >= 12 && head.toString('latin1', 8, 12) === 'DUCK') return undefined;
    return head
      .toString('utf8', 0, read)
      .replace(/[^\x20-\x7e]+/g, ' ')
      .trim()
      .slice(0, 40);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Why a store could not be opened, with what to do: damaged, held by another process, or the path. */
function openFailure(location: string, error: unknown): DataError {
  if (isDamage(error)) {
    // A file of the user's given as the store is not a damaged store: say what it is.
    const start = location === ':memory:' ? undefined : foreignFileStart(location);
    if (start !== undefined) {
      return new DataError(
        'TARGET_NOT_OURS',
        `${location} is not a kline store: it is not a DuckDB database file at all (it begins "${start}"). ` +
          `It was left as it is: give the store a new file (or set ${STORE_PATH_ENV} to one), or the store's own file.`,
        { cause: error },
      );
    }
    return damagedStore(location, error);
  }
  const message = firstLine(error);
  const hint = LOCK_PATTERN.test(message)
    ? ` Another process is using it: wait for it to finish, or point ${STORE_PATH_ENV} at another file.`
    : ` Check the path, or set ${STORE_PATH_ENV} to a writable file.`;
  return new DataError('STORE', `Cannot open the kline store at ${location}: ${message}.${hint}`, {
    cause: error,
  });
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? message).replace(/[.!]+$/, '');
}
