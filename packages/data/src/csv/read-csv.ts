import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import type { CsvReadOptions, Kline } from '../api.js';
import { DataError } from '../errors.js';
import { assertKnownKeys, keysOf } from '../validate.js';
import { KLINE_CSV_COLUMNS, toMilliseconds } from './layout.js';

/** Header names Binance's archive files use for the same columns. */
const COLUMN_ALIASES: Record<string, (typeof KLINE_CSV_COLUMNS)[number]> = {
  quote_volume: 'quote_asset_volume',
  count: 'number_of_trades',
  taker_buy_volume: 'taker_buy_base_asset_volume',
  taker_buy_quote_volume: 'taker_buy_quote_asset_volume',
};

const CSV_READ_DEFAULTS: Readonly<CsvReadOptions> = Object.freeze({ skipMalformed: false });

/** The reading settings (`CsvReadOptions`), as `readKlinesCsv`, `csvSource` and `importCsv` take them. */
export const CSV_READ_KEYS = keysOf<CsvReadOptions>({ skipMalformed: true, onSkippedLine: true });
const CSV_STREAM_KEYS = keysOf<CsvStreamOptions>({
  skipMalformed: true,
  onSkippedLine: true,
  batchSize: true,
  rawTimestamps: true,
  onRow: true,
});

/** The reading settings of `options`, without the keys a caller of the reader adds for itself. */
export function csvReadOptionsOf(options: Partial<CsvReadOptions>): Partial<CsvReadOptions> {
  return Object.fromEntries(Object.entries(options).filter(([key]) => CSV_READ_KEYS.includes(key)));
}

/**
 * Streams klines out of a CSV file in the Binance layout, in batches, file order kept. Accepts a
 * header with the 12 Binance columns (plus an optional `open_time_utc`, or archive names such as
 * `count`), or no header and the 12 columns in Binance order (the archive files). Microsecond
 * timestamps are converted to milliseconds. A malformed line throws a MALFORMED_CSV DataError
 * naming its line, unless `skipMalformed` is set.
 */
export function readKlinesCsvBatches(path: string, options: CsvStreamOptions = {}): AsyncGenerator<Kline[]> {
  assertKnownKeys('readKlinesCsvBatches options', options, CSV_STREAM_KEYS);
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
  assertKnownKeys('parseKlinesCsvStream options', options, CSV_STREAM_KEYS);
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
  let columns: number[] | undefined;
  let width: number = KLINE_CSV_COLUMNS.length;
  let batch: Kline[] = [];
  /** Line of the last record read: an unclosed quote is only reported at the end of the file. */
  let lastLine = 0;
  try {
    for await (const { record, line } of csvRecords(input, opts)) {
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
    const systemCode = (error as { code?: string }).code;
    if (systemCode === 'ENOENT') {
      throw new DataError('NOT_FOUND', `CSV file not found: ${path}.`, { cause: error });
    }
    // The path itself, not a line of the file: a folder, a name too long, no permission.
    if (
      systemCode === 'EISDIR' ||
      systemCode === 'ENAMETOOLONG' ||
      systemCode === 'EACCES' ||
      systemCode === 'ENOTDIR'
    ) {
      const what =
        systemCode === 'EISDIR'
          ? 'is a folder, not a CSV file'
          : systemCode === 'EACCES'
            ? 'cannot be read (no permission)'
            : 'is not a path to a file';
      throw new DataError('NOT_FOUND', `${path} ${what} (${systemCode}).`, { cause: error });
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

/** A record of the file and the (1-based) line it ends on. */
export interface CsvRecord {
  record: string[];
  line: number;
}

const QUOTE = 0x22;
const CR = 0x0d;
const TAB = 0x09;

/**
 * The records of a CSV stream: comma-separated fields, trimmed, empty lines skipped, any column
 * count. Kline files hold numbers only, so lines without a quote and ending in LF or CRLF are split
 * here directly (csv-parse took 5 of the 10 s a year of minute candles took to load); from the
 * first line with anything else (a quote, a lone CR, a byte outside printable ASCII and tab), the
 * rest of the stream goes through csv-parse, which handles quoted fields, other line endings and
 * encodings, its line numbers carried on from there.
 */
export async function* csvRecords(
  input: Readable,
  opts: Pick<CsvReadOptions, 'skipMalformed' | 'onSkippedLine'>,
): AsyncGenerator<CsvRecord> {
  let line = 0;
  let delimiter: string | undefined;
  let rest = Buffer.alloc(0);
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  for (;;) {
    const next = await iterator.next();
    const chunk = next.done
      ? Buffer.alloc(0)
      : typeof next.value === 'string'
        ? Buffer.from(next.value)
        : next.value;
    const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    // Whole lines only, unless the stream ended (then the last line may lack its LF).
    const end = next.done ? data.length : data.lastIndexOf(0x0a) + 1;
    let start = 0;
    let handOver = -1;
    while (start < end) {
      let stop = data.indexOf(0x0a, start);
      if (stop < 0 || stop >= end) stop = end;
      const lineEnd = stop > start && data[stop - 1] === CR ? stop - 1 : stop;
      // csv-parse keeps the first line break it meets for the whole stream (another one is part of
      // a field, or counted apart): a line ending otherwise is its turn.
      const terminator = stop >= data.length ? undefined : lineEnd < stop ? '\r\n' : '\n';
      if (!isPlain(data, start, lineEnd) || (terminator && delimiter && terminator !== delimiter)) {
        handOver = start;
        break;
      }
      line += 1;
      delimiter ??= terminator;
      const record = data.toString('latin1', start, lineEnd).split(',');
      for (let i = 0; i < record.length; i++) record[i] = record[i]!.trim();
      // An empty or blank line is skipped, as csv-parse skips it.
      if (record.length > 1 || record[0] !== '') yield { record, line };
      start = stop + 1;
    }
    if (handOver >= 0) {
      yield* parsedRecords(data.subarray(handOver), iterator, line, delimiter, opts);
      return;
    }
    if (next.done) return;
    rest = Buffer.from(data.subarray(end));
  }
}

/** Printable ASCII or tab, and no quote: a line csv-parse would split at its commas and trim alike. */
function isPlain(data: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = data[i]!;
    if (byte === QUOTE || byte > 0x7e || (byte < 0x20 && byte !== TAB)) return false;
  }
  return true;
}

/** The records of `head` and then the rest of `iterator`, through csv-parse; lines counted from `offset`. */
async function* parsedRecords(
  head: Buffer,
  iterator: AsyncIterator<Buffer | string>,
  offset: number,
  delimiter: string | undefined,
  opts: Pick<CsvReadOptions, 'skipMalformed' | 'onSkippedLine'>,
): AsyncGenerator<CsvRecord> {
  const parser = parse({
    ...(delimiter ? { record_delimiter: delimiter } : {}),
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    info: true,
    skip_records_with_error: opts.skipMalformed,
    on_skip: (error: CsvError | undefined) => {
      opts.onSkippedLine?.(offset + Number(error?.lines ?? 0), error?.message ?? 'unreadable CSV');
      return undefined;
    },
  });
  // Resolves when the parser wants more, or has ended (failed, or destroyed by the reader).
  const room = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        parser.off('drain', done);
        parser.off('close', done);
        resolve();
      };
      parser.on('drain', done);
      parser.on('close', done);
    });
  const feed = (async () => {
    try {
      if (!parser.write(head)) await room();
      while (!parser.destroyed) {
        const next = await iterator.next();
        if (next.done || parser.destroyed) break;
        if (!parser.write(next.value)) await room();
      }
      if (!parser.destroyed) parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      yield { record, line: offset + info.lines };
    }
  } catch (error) {
    const csvError = error as Partial<CsvError>;
    if (typeof csvError.lines === 'number') csvError.lines += offset;
    throw error;
  } finally {
    parser.destroy();
    await feed;
  }
}

/** Reads a whole CSV file into memory (see `readKlinesCsvBatches`). */
export async function readKlinesCsv(path: string, options: Partial<CsvReadOptions> = {}): Promise<Kline[]> {
  assertKnownKeys('readKlinesCsv options', options, CSV_READ_KEYS);
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
