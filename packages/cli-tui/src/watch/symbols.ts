import { existsSync, readFileSync, statSync } from 'node:fs';
import * as data from '@crypto-anomaly/data';
import { usageError } from '../errors.js';

const SYMBOL = /^[A-Z0-9]{2,20}$/;

/**
 * `--symbols`: a comma-separated list (BTCUSDT,ETHUSDT), or a file naming them (commas, spaces or
 * one a line; `#` starts a comment). Upper-cased, each once, in the order given.
 */
export function readSymbols(value: string): string[] {
  const isFile = !value.includes(',') && existsSync(value) && statSync(value).isFile();
  const text = isFile ? readFileSync(value, 'utf8').replace(/#.*$/gm, '') : value;
  const symbols = [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((item) => item.trim().toUpperCase())
        .filter((item) => item.length > 0),
    ),
  ];
  const where = isFile ? `--symbols ${value}` : '--symbols';
  if (symbols.length === 0) throw usageError(where, 'names no symbol', 'give e.g. --symbols BTCUSDT,ETHUSDT');
  const bad = symbols.find((symbol) => !SYMBOL.test(symbol));
  if (bad !== undefined) {
    throw usageError(
      where,
      `"${bad}" is not a Binance symbol (letters and digits, e.g. BTCUSDT)`,
      isFile ? 'fix that line of the file' : 'give e.g. --symbols BTCUSDT,ETHUSDT, or a file naming them',
    );
  }
  return symbols;
}

/**
 * `--quote USDT --top N`: the N pairs quoted in `quote` with the most quote volume over the last
 * 24 h, from the exchange's ticker (data's `topSymbolsByQuoteVolume`: GET /api/v3/ticker/24hr with
 * the package's retry and rate-limit policy; halted pairs and leveraged tokens left out). A quote
 * asset the ticker lists no pair in is a usage error naming --quote.
 */
export async function topSymbols(
  rest: { baseUrl?: string },
  quote: string,
  count: number,
  signal?: AbortSignal,
): Promise<string[]> {
  try {
    return await data.topSymbolsByQuoteVolume({
      quote,
      top: count,
      rest,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (data.isDataError(error) && error.code === 'INVALID_ARGUMENT') {
      throw usageError('--quote', error.message, 'e.g. --quote USDT, FDUSD or BTC');
    }
    throw error;
  }
}
