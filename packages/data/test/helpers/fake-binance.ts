import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kline } from '../../src/index.js';

/** A fault the fake exchange answers the next request with. */
export type Fault =
  | { type: '429'; retryAfterSeconds: number }
  | { type: '418'; bannedUntil: number }
  | { type: '500' }
  | { type: 'slow'; ms: number }
  | { type: 'reset' }
  | { type: 'bad-json' }
  /** 200 with an empty list, as a struggling server or proxy may answer. */
  | { type: 'empty' }
  /** 200, then one byte of the body every `everyMs`, never finishing. */
  | { type: 'trickle'; everyMs: number };

/** A row of the 24 h ticker the fake serves: a symbol, its quote volume, and optionally its trade count. */
export interface TickerRowInput {
  symbol: string;
  /** Quote-asset volume over 24 h (sent as a decimal string, as Binance does). */
  quoteVolume: number | string;
  /** Trades over 24 h. Default 1000; 0 for a halted pair. */
  count?: number;
}

/**
 * A real HTTP server on 127.0.0.1 that answers GET /api/v3/klines and GET /api/v3/ticker/24hr
 * like Binance: the same query parameters, 12-field arrays with decimal strings, ticker rows
 * with decimal strings, the used-weight header, error bodies with Binance codes (-1121, -1120,
 * -1003), and faults injected on demand (for either endpoint).
 */
export class FakeBinance {
  readonly klines = new Map<string, Kline[]>();
  private readonly faults: Fault[] = [];
  private server: Server | undefined;
  requests = 0;
  /** Value of x-mbx-used-weight-1m; undefined = 2 per request, like a fresh minute. */
  usedWeight: number | undefined;
  /** Called for every request, before it is answered. */
  onRequest: ((request: URL) => void) | undefined;
  url = '';
  /** How far the exchange's clock (GET /api/v3/time) is ahead of the local one, in ms. */
  clockOffsetMs = 0;
  /** Headers of the latest request. */
  lastHeaders: Record<string, string | string[] | undefined> = {};
  /** Headers of every request, in order. */
  readonly headers: Record<string, string | string[] | undefined>[] = [];
  /** Archive files by path (/data/spot/...), served like data.binance.vision; others answer 404. */
  readonly archiveFiles = new Map<string, Buffer>();
  /** Archive paths asked for, in order. */
  readonly archiveRequests: string[] = [];
  /** Rows of GET /api/v3/ticker/24hr (see `serveTicker`); the query of each ticker request, in order. */
  tickerRows: TickerRowInput[] = [];
  readonly tickerRequests: URLSearchParams[] = [];

  /** Sets the rows GET /api/v3/ticker/24hr answers with (all of them, whatever the query). */
  serveTicker(rows: TickerRowInput[]): this {
    this.tickerRows = rows;
    return this;
  }

  serve(symbol: string, interval: string, klines: Kline[]): this {
    this.klines.set(`${symbol}/${interval}`, klines);
    return this;
  }

  /** A pair delisted: its klines are answered with -1121 from now on. */
  forget(symbol: string, interval: string): this {
    this.klines.delete(`${symbol}/${interval}`);
    return this;
  }

  inject(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  get pendingFaults(): number {
    return this.faults.length;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.handle(request, response));
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests++;
    this.lastHeaders = request.headers;
    this.headers.push(request.headers);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    this.onRequest?.(url);
    const weight = this.usedWeight ?? this.requests * 2;
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, {
        'content-type': 'application/json;charset=UTF-8',
        'x-mbx-used-weight': String(weight),
        'x-mbx-used-weight-1m': String(weight),
        ...headers,
      });
      response.end(body);
    };
    if (url.pathname.startsWith('/data/')) {
      this.archiveRequests.push(url.pathname);
      const file = this.archiveFiles.get(url.pathname);
      if (file) response.writeHead(200, { 'content-type': 'application/zip' }).end(file);
      else response.writeHead(404).end();
      return;
    }
    if (url.pathname === '/api/v3/time') {
      send(200, JSON.stringify({ serverTime: Date.now() + this.clockOffsetMs }));
      return;
    }
    const ticker = url.pathname === '/api/v3/ticker/24hr';
    if (!ticker && url.pathname !== '/api/v3/klines') {
      send(404, JSON.stringify({ code: -1, msg: 'Not found' }));
      return;
    }
    const fault = this.faults.shift();
    if (fault?.type === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.type === '429') {
      send(
        429,
        JSON.stringify({
          code: -1003,
          msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
        }),
        { 'retry-after': String(fault.retryAfterSeconds) },
      );
      return;
    }
    if (fault?.type === '418') {
      send(
        418,
        JSON.stringify({
          code: -1003,
          msg: `Way too much request weight used; IP banned until ${fault.bannedUntil}. Please use WebSocket Streams for live updates to avoid bans.`,
        }),
        { 'retry-after': String(Math.ceil((fault.bannedUntil - Date.now()) / 1000)) },
      );
      return;
    }
    if (fault?.type === 'empty') {
      send(200, '[]');
      return;
    }
    if (fault?.type === 'trickle') {
      response.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
      response.write('[');
      const timer = setInterval(() => response.write(' '), fault.everyMs);
      response.on('close', () => clearInterval(timer));
      return;
    }
    if (fault?.type === '500') {
      response.writeHead(500, { 'content-type': 'text/html' });
      response.end('<html><body>Internal Server Error</body></html>');
      return;
    }
    if (ticker) this.tickerRequests.push(url.searchParams);
    const answer = () => {
      if (ticker) {
        // Anything but a list (a test's broken body) is sent as it is.
        const rows = Array.isArray(this.tickerRows)
          ? this.tickerRows.map((row) => tickerRow(row, url.searchParams.get('type')))
          : this.tickerRows;
        const body = JSON.stringify(rows);
        send(200, fault?.type === 'bad-json' ? body.slice(0, Math.floor(body.length / 2)) : body);
        return;
      }
      const symbol = url.searchParams.get('symbol') ?? '';
      const interval = url.searchParams.get('interval') ?? '';
      if (!/^(1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)$/.test(interval)) {
        send(400, JSON.stringify({ code: -1120, msg: 'Invalid interval.' }));
        return;
      }
      const series = this.klines.get(`${symbol}/${interval}`);
      if (!series) {
        send(400, JSON.stringify({ code: -1121, msg: 'Invalid symbol.' }));
        return;
      }
      const startTime = Number(url.searchParams.get('startTime') ?? 0);
      const endTime = Number(url.searchParams.get('endTime') ?? Number.MAX_SAFE_INTEGER);
      const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 500));
      let low = 0;
      let high = series.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (series[mid]!.openTime < startTime) low = mid + 1;
        else high = mid;
      }
      const rows: unknown[] = [];
      for (let i = low; i < series.length && rows.length < limit && series[i]!.openTime <= endTime; i++) {
        rows.push(toBinanceArray(series[i]!));
      }
      const body = JSON.stringify(rows);
      send(200, fault?.type === 'bad-json' ? body.slice(0, Math.floor(body.length / 2)) : body);
    };
    if (fault?.type === 'slow') setTimeout(answer, fault.ms);
    else answer();
  }
}

/** A 24 h ticker row as Binance writes it (FULL, or the MINI subset when asked for). */
function tickerRow(row: TickerRowInput, type: string | null): Record<string, unknown> {
  const closeTime = Date.now();
  const mini = {
    symbol: row.symbol,
    openPrice: '1.00000000',
    highPrice: '1.10000000',
    lowPrice: '0.90000000',
    lastPrice: '1.05000000',
    volume: '1000.00000000',
    quoteVolume: typeof row.quoteVolume === 'number' ? row.quoteVolume.toFixed(8) : row.quoteVolume,
    openTime: closeTime - 86_400_000,
    closeTime,
    firstId: 1,
    lastId: row.count ?? 1000,
    count: row.count ?? 1000,
  };
  if (type === 'MINI') return mini;
  return {
    ...mini,
    priceChange: '0.05000000',
    priceChangePercent: '5.000',
    weightedAvgPrice: '1.01000000',
    prevClosePrice: '1.00000000',
    lastQty: '1.00000000',
    bidPrice: '1.04000000',
    bidQty: '1.00000000',
    askPrice: '1.06000000',
    askQty: '1.00000000',
  };
}

/** A kline the way Binance's REST API writes it: numbers for times and counts, strings for decimals. */
export function toBinanceArray(k: Kline): (number | string)[] {
  return [
    k.openTime,
    k.open.toFixed(8),
    k.high.toFixed(8),
    k.low.toFixed(8),
    k.close.toFixed(8),
    k.volume.toFixed(8),
    k.closeTime,
    k.quoteAssetVolume.toFixed(8),
    k.numberOfTrades,
    k.takerBuyBaseAssetVolume.toFixed(8),
    k.takerBuyQuoteAssetVolume.toFixed(8),
    '0',
  ];
}
