import type { CsvReadOptions, CsvWriteOptions, Interval, Kline, TimeRange } from '../api.js';
import { parseKlineFileName } from '../csv/layout.js';
import { CSV_READ_KEYS, csvReadOptionsOf, readKlinesCsvBatches } from '../csv/read-csv.js';
import { CSV_WRITE_KEYS, writeKlinesCsv } from '../csv/write-csv.js';
import { DataError } from '../errors.js';
import { assertInterval } from '../intervals.js';
import { assertKnownKeys, assertSymbol, TIME_RANGE_KEYS } from '../validate.js';
import type { KlineStore } from './kline-store.js';

/** A fingerprint of a candle's values (not its open time), to tell a repeated line from a conflicting one. */
function fingerprint(kline: Kline): number {
  let hash = 0x811c9dc5;
  const bits = new Float64Array(1);
  const bytes = new Uint8Array(bits.buffer);
  for (const value of [
    kline.open,
    kline.high,
    kline.low,
    kline.close,
    kline.volume,
    kline.closeTime,
    kline.quoteAssetVolume,
    kline.numberOfTrades,
    kline.takerBuyBaseAssetVolume,
    kline.takerBuyQuoteAssetVolume,
  ]) {
    bits[0] = value;
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}

function doubled(values: Float64Array): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(values.length * 2);
  grown.set(values);
  return grown;
}

/**
 * The open times a file has given so far, with their line and fingerprint, kept sorted in typed
 * arrays (24 bytes a candle): in-order rows append, a rare earlier one is looked up and inserted.
 */
class SeenCandles {
  #times = new Float64Array(4096);
  #lines = new Float64Array(4096);
  #prints = new Float64Array(4096);
  #size = 0;

  /** The earlier line holding `time`, and whether its values differ; undefined when new. */
  check(time: number, line: number, print: number): { line: number; differs: boolean } | undefined {
    let at = this.#size;
    if (this.#size > 0 && time <= this.#times[this.#size - 1]!) {
      let low = 0;
      let high = this.#size;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (this.#times[mid]! < time) low = mid + 1;
        else high = mid;
      }
      if (this.#times[low] === time) return { line: this.#lines[low]!, differs: this.#prints[low] !== print };
      at = low;
    }
    if (this.#size === this.#times.length) {
      this.#times = doubled(this.#times);
      this.#lines = doubled(this.#lines);
      this.#prints = doubled(this.#prints);
    }
    this.#times.copyWithin(at + 1, at, this.#size);
    this.#lines.copyWithin(at + 1, at, this.#size);
    this.#prints.copyWithin(at + 1, at, this.#size);
    this.#times[at] = time;
    this.#lines[at] = line;
    this.#prints[at] = print;
    this.#size++;
    return undefined;
  }
}

/**
 * Streams a CSV file in the Binance layout into the store, one transaction per batch (10,000
 * rows). Symbol and interval come from options or a file name such as `BTCUSDT_1h.csv`.
 * Malformed lines refuse the file (nothing after the bad line is written; earlier batches stay)
 * unless `skipMalformed` is set. So does an open time the file gives twice with different values
 * (BAD_CANDLES naming both lines; the store would otherwise keep whichever came last); a line
 * repeated as it is, is written once.
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
  assertKnownKeys('importCsv options', options, [
    ...CSV_READ_KEYS,
    'symbol',
    'interval',
    'batchSize',
    'onProgress',
  ]);
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
    const seen = new SeenCandles();
    for await (const batch of readKlinesCsvBatches(path, {
      ...csvReadOptionsOf(options),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      onRow: (kline, line) => {
        const earlier = seen.check(kline.openTime, line, fingerprint(kline));
        if (earlier?.differs) {
          throw new DataError(
            'BAD_CANDLES',
            `${path}: lines ${earlier.line} and ${line} both hold the candle opening at ` +
              `${new Date(kline.openTime).toISOString()} with different values: keep the right one and delete the other.`,
          );
        }
      },
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

/**
 * Writes a stored range to a CSV file in the export layout (atomically, refusing to replace a file
 * that is not a kline CSV unless `overwrite`: see `writeKlinesCsv`); resolves to the rows written.
 */
export async function exportCsv(
  store: KlineStore,
  path: string,
  symbol: string,
  interval: Interval,
  range: Partial<TimeRange> = {},
  options: Partial<CsvWriteOptions> = {},
): Promise<number> {
  assertKnownKeys('exportCsv range', range, TIME_RANGE_KEYS);
  assertKnownKeys('exportCsv options', options, CSV_WRITE_KEYS);
  return writeKlinesCsv(path, store.klineChunks(symbol, interval, range), options);
}
