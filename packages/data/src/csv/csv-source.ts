import { open } from 'node:fs/promises';
import type { CsvReadOptions, Interval, Kline, KlineSource } from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval } from '../intervals.js';
import { assertKnownKeys, assertSymbol, assertTimeRange, KLINE_REQUEST_KEYS } from '../validate.js';
import { parseKlineFileName } from './layout.js';
import { CSV_READ_KEYS, csvReadOptionsOf, readKlinesCsvBatches } from './read-csv.js';

/** A KlineSource over a CSV file, which also knows the file line each candle came from. */
export interface CsvKlineSource extends KlineSource {
  /** The 1-based line of the candle opening at `openTime` (ms), once loaded; undefined if none. */
  lineOf(openTime: number): number | undefined;
  /**
   * Forgets the candles read and their lines (a later load reads the file again): a year of minute
   * candles held that way is about 100 MB a long run does not need once it has its features.
   */
  release(): void;
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
  assertKnownKeys('csvSource options', options, [...CSV_READ_KEYS, 'symbol', 'interval']);
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
      ...csvReadOptionsOf(options),
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
    release() {
      cached = undefined;
      lines.clear();
    },
    async load(request) {
      assertKnownKeys('the load request', request, KLINE_REQUEST_KEYS);
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
