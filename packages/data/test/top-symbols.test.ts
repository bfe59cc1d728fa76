import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isDataError, topSymbolsByQuoteVolume } from '../src/index.js';
import { FakeBinance, type TickerRowInput } from './helpers/fake-binance.js';

let server: FakeBinance;
const fast = { retryBaseMs: 5, retryMaxMs: 40, requestTimeoutMs: 2_000, maxRetries: 2 };

const ROWS: TickerRowInput[] = [
  { symbol: 'ETHUSDT', quoteVolume: 9_000_000_000 },
  { symbol: 'BTCUSDT', quoteVolume: 20_000_000_000.5 },
  { symbol: 'SOLUSDT', quoteVolume: '3000000000.00000000' },
  { symbol: 'ETHBTC', quoteVolume: 50_000 },
  { symbol: 'BTCFDUSD', quoteVolume: 8_000_000_000 },
  // Leveraged tokens: another listed base asset plus UP / DOWN / BULL / BEAR.
  { symbol: 'BTCUPUSDT', quoteVolume: 30_000_000_000 },
  { symbol: 'ETHDOWNUSDT', quoteVolume: 7_000_000_000 },
  { symbol: 'ETHBULLUSDT', quoteVolume: 6_000_000_000 },
  // Real coins whose name ends the same way: JUP (no J pair), SYRUP (no SYR pair).
  { symbol: 'JUPUSDT', quoteVolume: 1_000_000_000 },
  { symbol: 'SYRUPUSDT', quoteVolume: 900_000_000 },
  // Halted: no trade in 24 h.
  { symbol: 'LUNAUSDT', quoteVolume: 5_000_000_000, count: 0 },
  // Ties are broken by name.
  { symbol: 'BBBUSDT', quoteVolume: 100 },
  { symbol: 'AAAUSDT', quoteVolume: 100 },
  // The quote asset alone is not a pair; a row with no number is skipped.
  { symbol: 'USDT', quoteVolume: 1e12 },
  { symbol: 'ODDUSDT', quoteVolume: 'n/a' },
];

beforeAll(async () => {
  server = await new FakeBinance().start();
});
beforeEach(() => {
  server.serveTicker(ROWS);
});
afterAll(async () => {
  await server?.close();
});

describe('topSymbolsByQuoteVolume', () => {
  it('ranks the pairs quoted in USDT by 24 h quote volume, without halted pairs and leveraged tokens', async () => {
    const asked = server.tickerRequests.length;
    const symbols = await topSymbolsByQuoteVolume({ top: 20, rest: { baseUrl: server.url } });
    expect(symbols).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'JUPUSDT', 'SYRUPUSDT', 'AAAUSDT', 'BBBUSDT']);
    // One request, for the small form of the rows.
    expect(server.tickerRequests.length - asked).toBe(1);
    expect(server.tickerRequests.at(-1)!.get('type')).toBe('MINI');
    expect(await topSymbolsByQuoteVolume({ top: 2, quote: 'USDT', rest: { baseUrl: server.url } })).toEqual([
      'BTCUSDT',
      'ETHUSDT',
    ]);
  });

  it('keeps leveraged tokens when asked, and takes any quote asset', async () => {
    const rest = { baseUrl: server.url };
    expect(await topSymbolsByQuoteVolume({ top: 4, rest, includeLeveraged: true })).toEqual([
      'BTCUPUSDT',
      'BTCUSDT',
      'ETHUSDT',
      'ETHDOWNUSDT',
    ]);
    expect(await topSymbolsByQuoteVolume({ top: 5, quote: 'fdusd', rest })).toEqual(['BTCFDUSD']);
    expect(await topSymbolsByQuoteVolume({ top: 5, quote: 'BTC', rest })).toEqual(['ETHBTC']);
  });

  it('retries a failing or half-sent answer with the REST policy, reporting each wait', async () => {
    server.inject({ type: '500' }, { type: 'bad-json' });
    const waits: string[] = [];
    const symbols = await topSymbolsByQuoteVolume({
      top: 1,
      rest: { ...fast, baseUrl: server.url },
      onWait: (_ms, reason, message) => waits.push(`${reason}: ${message.split(';')[0]}`),
    });
    expect(symbols).toEqual(['BTCUSDT']);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBe('retry: Binance answered HTTP 500');
    expect(waits[1]).toMatch(/^retry: /);
    expect(server.pendingFaults).toBe(0);
  });

  it('gives up after the retry limit, within the request deadline, with a clear error', async () => {
    server.inject({ type: '500' }, { type: 'trickle', everyMs: 20 }, { type: '500' });
    const error = await topSymbolsByQuoteVolume({
      top: 1,
      rest: { ...fast, requestTimeoutMs: 300, baseUrl: server.url },
    }).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('NETWORK');
    expect((error as Error).message).toMatch(
      /HTTP 500; gave up after 3 attempts \(2 retries\) for GET http:\/\/127\.0\.0\.1:\d+\/api\/v3\/ticker\/24hr\. Nothing was changed/,
    );
    expect(server.pendingFaults).toBe(0);
  });

  it('refuses a quote asset no pair is quoted in, a bad top, and a body that is not a list', async () => {
    const rest = { ...fast, baseUrl: server.url };
    await expect(topSymbolsByQuoteVolume({ top: 3, quote: 'XYZ', rest })).rejects.toThrow(
      /lists no pair quoted in XYZ/,
    );
    for (const top of [0, 1.5, Number.NaN]) {
      const error = await topSymbolsByQuoteVolume({ top, rest }).catch((e: unknown) => e);
      expect(isDataError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
    await expect(topSymbolsByQuoteVolume({ top: 3, quote: 'US DT', rest })).rejects.toThrow(/quote must be/);
    await expect(topSymbolsByQuoteVolume({ top: 3, rest, includeLeveragd: true } as never)).rejects.toThrow(
      /^unknown key includeLeveragd in topSymbolsByQuoteVolume options \(the keys there are includeLeveraged, /,
    );
    await expect(topSymbolsByQuoteVolume({ top: 3, rest: { ...rest, retries: 1 } } as never)).rejects.toThrow(
      /unknown key retries in topSymbolsByQuoteVolume options.rest/,
    );
    server.serveTicker({ symbol: 'BTCUSDT' } as unknown as TickerRowInput[]);
    const error = await topSymbolsByQuoteVolume({ top: 3, rest }).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('BAD_RESPONSE');
  });

  it('is cancelled by its AbortSignal', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await topSymbolsByQuoteVolume({
      top: 3,
      rest: { baseUrl: server.url },
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('ABORTED');
  });
});
