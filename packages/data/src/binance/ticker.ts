import type { TopSymbolsOptions } from '../api.js';
import { DataError } from '../errors.js';
import { assertInteger, assertKnownKeys, describeValue, keysOf } from '../validate.js';
import { openRestSession, REST_OPTION_KEYS, resolveRestOptions } from './rest-pager.js';

/** One row of GET /api/v3/ticker/24hr, the fields used. */
interface TickerRow {
  symbol: string;
  quoteVolume: number;
  /** Trades in the last 24 h; 0 for a halted pair. */
  count: number | undefined;
}

const ENDPOINT = 'api/v3/ticker/24hr';
const LEVERAGED = /^(.+)(UP|DOWN|BULL|BEAR)$/;

/** The ticker's rows checked; a body that is not a list of rows is retried as BAD_RESPONSE. */
function parseTicker(raw: unknown): TickerRow[] {
  if (!Array.isArray(raw)) {
    throw new DataError(
      'BAD_RESPONSE',
      `GET /${ENDPOINT} did not answer a list of pairs (${describeValue(raw)}).`,
    );
  }
  const rows: TickerRow[] = [];
  for (const row of raw as Record<string, unknown>[]) {
    if (typeof row?.symbol !== 'string') continue;
    const quoteVolume = Number(row.quoteVolume);
    if (!Number.isFinite(quoteVolume)) continue;
    const count = row.count === undefined || row.count === null ? undefined : Number(row.count);
    rows.push({ symbol: row.symbol, quoteVolume, count });
  }
  return rows;
}

const TOP_SYMBOLS_KEYS = keysOf<TopSymbolsOptions>({
  quote: true,
  top: true,
  rest: true,
  includeLeveraged: true,
  signal: true,
  onWait: true,
});

/**
 * The `top` pairs quoted in `quote` (USDT by default) with the most quote volume over the last
 * 24 h, most first (ties by name): one GET /api/v3/ticker/24hr (weight 80) on the REST base URL,
 * with the package's deadline, retry and rate-limit policy. Left out: pairs with no trade in
 * 24 h (halted) and, unless `includeLeveraged`, leveraged tokens (a base asset that is another
 * base asset quoted in `quote` plus UP, DOWN, BULL or BEAR: BTCUPUSDT, but not JUPUSDT).
 * Refuses a quote asset the ticker lists no pair in (INVALID_ARGUMENT).
 */
export async function topSymbolsByQuoteVolume(options: TopSymbolsOptions): Promise<string[]> {
  assertKnownKeys('topSymbolsByQuoteVolume options', options, TOP_SYMBOLS_KEYS);
  if (options?.rest) assertKnownKeys('topSymbolsByQuoteVolume options.rest', options.rest, REST_OPTION_KEYS);
  const top = assertInteger('top', options?.top, 1);
  const quote = typeof options.quote === 'string' ? options.quote.toUpperCase() : options.quote;
  if (quote !== undefined && (typeof quote !== 'string' || !/^[A-Z0-9]{2,12}$/.test(quote))) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `quote must be an asset such as "USDT", "FDUSD" or "BTC", got ${describeValue(options.quote)}.`,
    );
  }
  const wanted = quote ?? 'USDT';
  const opts = resolveRestOptions({
    ...options.rest,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  const session = await openRestSession(opts, { requests: 0, retries: 0, rateLimitWaits: 0 }, options.onWait);
  const rows = await session.request((client) => client.get(ENDPOINT, { type: 'MINI' }), parseTicker, {
    context: `for GET ${opts.baseUrl}/${ENDPOINT}`,
    kept: 'Nothing was changed; try again later, or name the pairs instead.',
  });

  const quoted = rows.filter((row) => row.symbol.length > wanted.length && row.symbol.endsWith(wanted));
  if (quoted.length === 0) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `The 24 h ticker at ${opts.baseUrl} lists no pair quoted in ${wanted}; check the quote asset (e.g. USDT, FDUSD, BTC).`,
    );
  }
  const bases = new Set(quoted.map((row) => row.symbol.slice(0, -wanted.length)));
  const leveraged = (symbol: string) => {
    const match = LEVERAGED.exec(symbol.slice(0, -wanted.length));
    return match !== null && bases.has(match[1]!);
  };
  return quoted
    .filter((row) => row.count === undefined || row.count > 0)
    .filter((row) => options.includeLeveraged === true || !leveraged(row.symbol))
    .sort((a, b) => b.quoteVolume - a.quoteVolume || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0))
    .slice(0, top)
    .map((row) => row.symbol);
}
