import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type CsvError, parse } from 'csv-parse';
import type { CsvReadOptions, CsvWriteOptions, Interval, Kline, KlineSource } from './api.js';
import { writeFileAtomically } from './atomic-file.js';
import { DataError } from './errors.js';
import { assertInterval, isInterval } from './intervals.js';
import { assertSymbol, assertTimeRange } from './validate.js';

/** Column names of the Binance kline layout, in order; the exported CSV puts `open_time_utc` first. */
export const KLINE_CSV_COLUMNS = [
  'open_time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'close_time',
  'quote_asset_volume',
  'number_of_trades',
  'taker_buy_base_asset_volume',
  'taker_buy_quote_asset_volume',
  'ignore',
] as const;

/** Header names Binance's archive files use for the same columns. */
const COLUMN_ALIASES: Record<string, (typeof KLINE_CSV_COLUMNS)[number]> = {
  quote_volume: 'quote_asset_volume',
  count: 'number_of_trades',
  taker_buy_volume: 'taker_buy_base_asset_volume',
  taker_buy_quote_volume: 'taker_buy_quote_asset_volume',
};

const CSV_READ_DEFAULTS: Readonly<CsvReadOptions> = Object.freeze({ skipMalformed: false });

/** Below this an open time is milliseconds; above it, microseconds (Binance archives from 2025-01-01). */
export const MICROSECOND_THRESHOLD = 1e14;

/** Converts an archive timestamp (ms or µs) to Unix milliseconds. */
export function toMilliseconds(time: number): number {
  return time >= MICROSECOND_THRESHOLD ? Math.floor(time / 1000) : time;
}

/**
 * Streams klines out of a CSV file in the Binance layout, in batches, file order kept. Accepts a
 * header with the 12 Binance columns (plus an optional `open_time_utc`, or archive names such as
 * `count`), or no header and the 12 columns in Binance order (the archive files). Microsecond
 * timestamps are converted to milliseconds. A malformed line throws a MALFORMED_CSV DataError
 * naming its line, unless `skipMalformed` is set.
 */
export function readKlinesCsvBatches(path: string, options: CsvStreamOptions = {}): AsyncGenerator<Kline[]> {
  return parseKlinesCsvStream(createReadStream(path), path, options);
}

/** Options of `readKlinesCsvBatches` and `parseKlinesCsvStream`. */
export type CsvStreamOptions = Partial<CsvReadOptions> & {
  batchSize?: number;
  rawTimestamps?: boolean;
  /** Called for every candle read, with the file line it came from (1-based). */
  onRow?: (kline: Kline, line: number) => void;
};

/** `readKlinesCsvBatches` over any readable stream (a zip entry, a socket); `label` names it in errors. */
export async function* parseKlinesCsvStream(
  input: Readable,
  label: string,
  options: CsvStreamOptions = {},
): AsyncGenerator<Kline[]> {
  const path = label;
  const opts = { ...CSV_READ_DEFAULTS, ...options };
  const batchSize = options.batchSize ?? 10_000;
  const skipped = (line: number, reason: string) => {
    if (!opts.skipMalformed) {
      throw new DataError(
        'MALFORMED_CSV',
        `${path} line ${line}: ${reason}. Fix or delete the line (from code, skipMalformed: true skips such lines).`,
      );
    }
    opts.onSkippedLine?.(line, reason);
  };
  const parser = parse({
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    info: true,
    skip_records_with_error: opts.skipMalformed,
    on_skip: (error: CsvError | undefined) => {
      opts.onSkippedLine?.(Number(error?.lines ?? 0), error?.message ?? 'unreadable CSV');
      return undefined;
    },
  });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);

  let columns: number[] | undefined;
  let width: number = KLINE_CSV_COLUMNS.length;
  let batch: Kline[] = [];
  /** Line of the last record read: an unclosed quote is only reported at the end of the file. */
  let lastLine = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const line = info.lines;
      lastLine = line;
      if (columns === undefined) {
        const header = headerColumns(record);
        if (header) {
          columns = header.columns;
          width = record.length;
          continue;
        }
        columns = KLINE_CSV_COLUMNS.map((_, index) => index);
      }
      if (record.length !== width) {
        skipped(line, `expected ${width} columns, got ${record.length}`);
        continue;
      }
      const kline = parseRow(record, columns, options.rawTimestamps === true);
      if (typeof kline === 'string') {
        skipped(line, kline);
        continue;
      }
      options.onRow?.(kline, line);
      batch.push(kline);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    const csvError = error as Partial<CsvError>;
    if ((error as { code?: string }).code === 'ENOENT') {
      throw new DataError('NOT_FOUND', `CSV file not found: ${path}.`, { cause: error });
    }
    if (csvError.code === 'CSV_QUOTE_NOT_CLOSED') {
      throw new DataError(
        'MALFORMED_CSV',
        `${path} line ${lastLine + 1}: a quote opened on this line is never closed (the rest of the file was read as one field). Fix or delete the line (from code, skipMalformed: true skips such lines).`,
        { cause: error },
      );
    }
    if (typeof csvError.lines === 'number') {
      throw new DataError(
        'MALFORMED_CSV',
        `${path} line ${csvError.lines}: ${csvError.message}. Fix or delete the line (from code, skipMalformed: true skips such lines).`,
        { cause: error },
      );
    }
    throw new DataError('MALFORMED_CSV', `Cannot read ${path}: ${(error as Error).message}.`, {
      cause: error,
    });
  } finally {
    input.destroy();
  }
  if (batch.length > 0) yield batch;
}

/** Reads a whole CSV file into memory (see `readKlinesCsvBatches`). */
export async function readKlinesCsv(path: string, options: Partial<CsvReadOptions> = {}): Promise<Kline[]> {
  const all: Kline[] = [];
  for await (const batch of readKlinesCsvBatches(path, options)) {
    for (const kline of batch) all.push(kline);
  }
  return all;
}

function headerColumns(record: string[]): { columns: number[] } | undefined {
  const first = record[0] ?? '';
  if (first === '' || /^[\d.eE+-]+$/.test(first)) return undefined;
  const names = record.map((name) => {
    const key = name.toLowerCase().trim();
    return COLUMN_ALIASES[key] ?? key;
  });
  const missing = KLINE_CSV_COLUMNS.filter((name) => !names.includes(name));
  if (missing.length > 0) {
    throw new DataError(
      'MALFORMED_CSV',
      `line 1: the header lacks ${missing.join(', ')}. Expected the Binance columns ${KLINE_CSV_COLUMNS.join(',')} (open_time_utc optional).`,
    );
  }
  return { columns: KLINE_CSV_COLUMNS.map((name) => names.indexOf(name)) };
}

/** One row to a Kline, or the reason it is malformed. */
function parseRow(record: string[], columns: number[], rawTimestamps = false): Kline | string {
  const values = new Array<number>(12);
  for (let k = 0; k < 12; k++) {
    const text = record[columns[k]!]!;
    const value = text === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value)) {
      return `${KLINE_CSV_COLUMNS[k]} is not a number: ${JSON.stringify(text.slice(0, 40))}`;
    }
    values[k] = value;
  }
  const [openTime, open, high, low, close, volume, closeTime, quote, trades, takerBase, takerQuote, ignore] =
    values as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
  if (!Number.isInteger(openTime) || openTime < 0) return `open_time is not a Unix time: ${openTime}`;
  if (!Number.isInteger(closeTime) || closeTime < 0) return `close_time is not a Unix time: ${closeTime}`;
  if (!Number.isInteger(trades) || trades < 0) return `number_of_trades is not a count: ${trades}`;
  return {
    openTime: rawTimestamps ? openTime : toMilliseconds(openTime),
    open,
    high,
    low,
    close,
    volume,
    closeTime: rawTimestamps ? closeTime : toMilliseconds(closeTime),
    quoteAssetVolume: quote,
    numberOfTrades: trades,
    takerBuyBaseAssetVolume: takerBase,
    takerBuyQuoteAssetVolume: takerQuote,
    ignore,
  };
}

/** Guesses symbol and interval from names like `BTCUSDT_1h.csv` or `BTCUSDT-1h-2024-01.csv`. */
export function parseKlineFileName(path: string): { symbol?: string; interval?: Interval } {
  const match = /^([A-Z0-9]+)[_-](\d+[smhdwM])(?:[_.-]|$)/.exec(basename(path));
  if (!match || !isInterval(match[2]!)) return {};
  return { symbol: match[1]!, interval: match[2] as Interval };
}

/** A KlineSource over a CSV file, which also knows the file line each candle came from. */
export interface CsvKlineSource extends KlineSource {
  /** The 1-based line of the candle opening at `openTime` (ms), once loaded; undefined if none. */
  lineOf(openTime: number): number | undefined;
}

/** The first field two candles disagree on, e.g. `close 42000.5 vs 42100`, or undefined when equal. */
function firstDifference(a: Kline, b: Kline): string | undefined {
  const names: [keyof Kline, string][] = [
    ['open', 'open'],
    ['high', 'high'],
    ['low', 'low'],
    ['close', 'close'],
    ['volume', 'volume'],
    ['closeTime', 'close_time'],
    ['quoteAssetVolume', 'quote_asset_volume'],
    ['numberOfTrades', 'number_of_trades'],
    ['takerBuyBaseAssetVolume', 'taker_buy_base_asset_volume'],
    ['takerBuyQuoteAssetVolume', 'taker_buy_quote_asset_volume'],
  ];
  for (const [key, name] of names) if (a[key] !== b[key]) return `${name} ${a[key]} vs ${b[key]}`;
  return undefined;
}

/** Why a file gave no candles: empty, or a header (or skipped lines) and nothing else. */
async function noCandlesError(path: string, skipped: number): Promise<DataError> {
  const handle = await open(path, 'r');
  let text: string;
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    text = buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  const what =
    text.trim() === ''
      ? 'is empty'
      : skipped > 0
        ? `holds no readable candle (all ${skipped} data lines were malformed and skipped)`
        : 'holds a header but no candle rows';
  return new DataError('NO_CANDLES', `CSV file ${path} ${what}: there is nothing to load.`);
}

/**
 * A KlineSource over one CSV file in the Binance layout (see `readKlinesCsvBatches`). The file
 * holds one symbol and interval: given in options or read from a name like `BTCUSDT_1h.csv`;
 * a request for another pair is refused. Rows are sorted by open time; a repeated open time with
 * the same values is read once, with different values it is refused (BAD_CANDLES naming both
 * lines). An empty or header-only file is refused (NO_CANDLES).
 */
export function csvSource(
  path: string,
  options: Partial<CsvReadOptions> & { symbol?: string; interval?: Interval } = {},
): CsvKlineSource {
  const fromName = parseKlineFileName(path);
  const symbol = options.symbol ?? fromName.symbol;
  const interval = options.interval ?? fromName.interval;
  if (options.symbol !== undefined) assertSymbol('symbol', options.symbol);
  if (options.interval !== undefined) assertInterval(options.interval);
  let cached: Promise<Kline[]> | undefined;
  const lines = new Map<number, number>();
  const loadAll = async () => {
    const byTime = new Map<number, Kline>();
    lines.clear();
    let skipped = 0;
    const onRow = (kline: Kline, line: number) => {
      const earlier = byTime.get(kline.openTime);
      if (!earlier) {
        byTime.set(kline.openTime, kline);
        lines.set(kline.openTime, line);
        return;
      }
      const difference = firstDifference(earlier, kline);
      if (difference === undefined) return;
      throw new DataError(
        'BAD_CANDLES',
        `${path}: lines ${lines.get(kline.openTime)} and ${line} both hold the candle opening at ` +
          `${new Date(kline.openTime).toISOString()} with different values (${difference}): keep the right one and delete the other.`,
      );
    };
    for await (const _batch of readKlinesCsvBatches(path, {
      ...options,
      onRow,
      onSkippedLine: (line, reason) => {
        skipped++;
        options.onSkippedLine?.(line, reason);
      },
    })) {
      // Rows are collected by onRow, which sees each one's line.
    }
    if (byTime.size === 0) throw await noCandlesError(path, skipped);
    return [...byTime.values()].sort((a, b) => a.openTime - b.openTime);
  };
  return {
    describe: () => `CSV file ${path}${symbol ? ` (${symbol}${interval ? ` ${interval}` : ''})` : ''}`.trim(),
    lineOf: (openTime) => lines.get(openTime),
    async load(request) {
      assertInterval(request.interval);
      if (symbol !== undefined && request.symbol !== symbol) {
        throw new DataError(
          'INVALID_ARGUMENT',
          `symbol "${request.symbol}" was asked of ${path}, which holds ${symbol}. Ask for ${symbol} or load another file.`,
        );
      }
      if (interval !== undefined && request.interval !== interval) {
        throw new DataError(
          'INVALID_ARGUMENT',
          `interval "${request.interval}" was asked of ${path}, which holds ${interval} candles. Ask for ${interval} or load another file.`,
        );
      }
      const { start, end } = assertTimeRange(request, { start: -Infinity, end: Infinity });
      cached ??= loadAll();
      const klines = await cached.catch((error) => {
        cached = undefined;
        throw error;
      });
      return klines.filter((k) => k.openTime >= start && k.openTime < end);
    },
  };
}

/** `2017-08-17 00:00:00`, the time column of the layout users already have. */
export function formatCsvTime(time: number): string {
  return new Date(time).toISOString().slice(0, 19).replace('T', ' ');
}

export const KLINE_CSV_HEADER = `open_time_utc,${KLINE_CSV_COLUMNS.join(',')}`;

/** One kline as a CSV line of the export layout (no newline). */
export function klineToCsvLine(k: Kline): string {
  return [
    formatCsvTime(k.openTime),
    k.openTime,
    decimal(k.open),
    decimal(k.high),
    decimal(k.low),
    decimal(k.close),
    decimal(k.volume),
    k.closeTime,
    decimal(k.quoteAssetVolume),
    k.numberOfTrades,
    decimal(k.takerBuyBaseAssetVolume),
    decimal(k.takerBuyQuoteAssetVolume),
    k.ignore,
  ].join(',');
}

/** Binance writes 8 decimals; toFixed(8) keeps that look and parses back to the same double. */
function decimal(value: number): string {
  return value.toFixed(8);
}

/** Klines as CSV text in the export layout, header included. */
export function klinesToCsv(klines: Iterable<Kline>): string {
  const lines = [KLINE_CSV_HEADER];
  for (const kline of klines) lines.push(klineToCsvLine(kline));
  return `${lines.join('\n')}\n`;
}

/**
 * Streams klines to a CSV file in the export layout; resolves to the number of rows written. The
 * file is written beside the target and renamed into place, so a failure leaves no half-written
 * CSV. An existing file is replaced only when it is a kline CSV in this layout (or empty), unless
 * `overwrite` is set: anything else is refused with `TARGET_NOT_OURS` (see `assertKlineCsvTarget`).
 */
export async function writeKlinesCsv(
  path: string,
  klines: Iterable<Kline> | AsyncIterable<Kline> | AsyncIterable<Kline[]>,
  options: Partial<CsvWriteOptions> = {},
): Promise<number> {
  await assertKlineCsvTarget(path, options);
  return writeFileAtomically(path, async (temporary) => {
    const output = createWriteStream(temporary, { encoding: 'utf8' });
    let rows = 0;
    let chunk: string[] = [KLINE_CSV_HEADER];
    const flush = async () => {
      if (chunk.length === 0) return;
      if (!output.write(`${chunk.join('\n')}\n`)) await once(output, 'drain');
      chunk = [];
    };
    try {
      for await (const item of klines as AsyncIterable<Kline | Kline[]>) {
        for (const kline of Array.isArray(item) ? item : [item]) {
          chunk.push(klineToCsvLine(kline));
          rows++;
        }
        if (chunk.length >= 5000) await flush();
      }
      await flush();
      output.end();
      await finished(output);
    } catch (error) {
      output.destroy();
      await finished(output).catch(() => undefined);
      throw error;
    }
    return rows;
  });
}

/**
 * Refuses a path `writeKlinesCsv` must not replace: an existing file that is not a kline CSV in
 * the layout it writes (first line `KLINE_CSV_HEADER`), or a folder. A missing or empty file
 * passes, and anything passes with `overwrite`. `writeKlinesCsv` checks on its own; call this too
 * before long work (a download) to refuse before it starts rather than after.
 */
export async function assertKlineCsvTarget(
  path: string,
  options: Partial<CsvWriteOptions> = {},
): Promise<void> {
  let size: number;
  try {
    const stats = await stat(path);
    if (stats.isDirectory()) {
      throw new DataError('INVALID_ARGUMENT', `${path} is a folder: name a CSV file to write the klines to.`);
    }
    size = stats.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (options.overwrite || size === 0) return;
  const expected = Buffer.from(`${KLINE_CSV_HEADER}\n`, 'utf8');
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(expected.length);
    const { bytesRead } = await handle.read(buffer, 0, expected.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (head.equals(expected)) return;
  throw new DataError(
    'TARGET_NOT_OURS',
    `${path} already exists and is not a kline CSV in the layout this package writes (its first line is not ` +
      `the open_time_utc,open_time,... header), so it was left as it is: write to another file, move this one ` +
      'aside, or pass { overwrite: true } to replace it.',
  );
}
