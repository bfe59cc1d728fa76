import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import type { CsvReadOptions, Kline } from '../api.js';
import { DataError } from '../errors.js';
import { KLINE_CSV_COLUMNS, toMilliseconds } from './layout.js';

/** Header names Binance's archive files use for the same columns. */
const COLUMN_ALIASES: Record<string, (typeof KLINE_CSV_COLUMNS)[number]> = {
  quote_volume: 'quote_asset_volume',
  count: 'number_of_trades',
  taker_buy_volume: 'taker_buy_base_asset_volume',
  taker_buy_quote_volume: 'taker_buy_quote_asset_volume',
};

const CSV_READ_DEFAULTS: Readonly<CsvReadOptions> = Object.freeze({ skipMalformed: false });

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
