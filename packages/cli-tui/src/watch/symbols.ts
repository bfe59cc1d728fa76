import { existsSync, readFileSync, statSync } from 'node:fs';
import { CliError, usageError } from '../errors.js';

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

/** One row of GET /api/v3/ticker/24hr, the fields used. */
interface Ticker24h {
  symbol: string;
  quoteVolume: string;
  count?: number;
}

/**
 * `--quote USDT --top N`: the N pairs quoted in `quote` with the most quote volume over the last
 * 24 h, from the exchange's ticker (GET /api/v3/ticker/24hr, weight 80). Pairs with no trade in
 * 24 h (halted) are left out.
 */
export async function topSymbols(
  baseUrl: string,
  quote: string,
  count: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v3/ticker/24hr`;
  let rows: unknown;
  try {
    const response = await fetch(url, {
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(15_000)]) : AbortSignal.timeout(15_000),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    rows = await response.json();
  } catch (error) {
    throw new CliError('RUNTIME', `could not read the 24 h ticker at ${url}: ${(error as Error).message}`, {
      hint: 'check the connection or --base-url, or name the pairs with --symbols',
      cause: error,
    });
  }
  if (!Array.isArray(rows)) {
    throw new CliError('RUNTIME', `the 24 h ticker at ${url} is not a list of pairs`, {
      hint: 'check --base-url, or name the pairs with --symbols',
    });
  }
  const wanted = quote.toUpperCase();
  const pairs = (rows as Ticker24h[])
    .filter(
      (row) =>
        typeof row?.symbol === 'string' &&
        row.symbol.endsWith(wanted) &&
        row.symbol.length > wanted.length &&
        (row.count === undefined || row.count > 0),
    )
    .map((row) => ({ symbol: row.symbol, volume: Number(row.quoteVolume) }))
    .filter((row) => Number.isFinite(row.volume))
    .sort((a, b) => b.volume - a.volume || a.symbol.localeCompare(b.symbol));
  if (pairs.length === 0) {
    throw new CliError('RUNTIME', `the 24 h ticker lists no pair quoted in ${wanted}`, {
      hint: 'check --quote (e.g. USDT, BTC, FDUSD)',
    });
  }
  return pairs.slice(0, count).map((row) => row.symbol);
}
