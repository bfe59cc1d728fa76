import type { CsvReadOptions, Interval, TimeRange } from './api.js';
import { parseKlineFileName, readKlinesCsvBatches, writeKlinesCsv } from './csv.js';
import { DataError } from './errors.js';
import { assertInterval } from './intervals.js';
import type { KlineStore } from './store.js';
import { assertSymbol } from './validate.js';

/**
 * Streams a CSV file in the Binance layout into the store, one transaction per batch (10,000
 * rows). Symbol and interval come from options or a file name such as `BTCUSDT_1h.csv`.
 * Malformed lines refuse the file (nothing after the bad line is written; earlier batches stay)
 * unless `skipMalformed` is set.
 */
export async function importCsv(
  store: KlineStore,
  path: string,
  options: Partial<CsvReadOptions> & {
    symbol?: string;
    interval?: Interval;
    batchSize?: number;
    onProgress?: (rows: number) => void;
  } = {},
): Promise<{ symbol: string; interval: Interval; rows: number; skipped: number }> {
  const fromName = parseKlineFileName(path);
  const symbol = options.symbol ?? fromName.symbol;
  const interval = options.interval ?? fromName.interval;
  if (symbol === undefined || interval === undefined) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `Cannot tell the symbol and interval of ${path} from its name; pass them (e.g. { symbol: 'BTCUSDT', interval: '1h' }) or name the file like BTCUSDT_1h.csv.`,
    );
  }
  assertSymbol('symbol', symbol);
  assertInterval(interval);
  let rows = 0;
  let skipped = 0;
  // The next batch is parsed while the previous one is written (DuckDB works off the JS thread).
  let writing: Promise<number> | undefined;
  const settle = async () => {
    if (!writing) return;
    const pending = writing;
    writing = undefined;
    rows += await pending;
    options.onProgress?.(rows);
  };
  try {
    for await (const batch of readKlinesCsvBatches(path, {
      ...options,
      onSkippedLine: (line, reason) => {
        skipped++;
        options.onSkippedLine?.(line, reason);
      },
    })) {
      await settle();
      writing = store.upsert(symbol, interval, batch);
      writing.catch(() => undefined);
    }
    await settle();
  } finally {
    // A parse error leaves the batch before it being written: let it finish (it is kept).
    await writing?.catch(() => undefined);
  }
  return { symbol, interval, rows, skipped };
}

/** Writes a stored range to a CSV file in the export layout; resolves to the rows written. */
export async function exportCsv(
  store: KlineStore,
  path: string,
  symbol: string,
  interval: Interval,
  range: Partial<TimeRange> = {},
): Promise<number> {
  const klines = await store.klines(symbol, interval, range);
  return writeKlinesCsv(path, klines);
}
