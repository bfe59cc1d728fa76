/**
 * A stand-in for Binance's combined kline streams: a real WebSocket server (the `ws` package) on
 * 127.0.0.1, port chosen by the system. Plain Node and ws, no test-runner imports, so tests of
 * any package can use it by relative path.
 *
 *   const fake = await FakeBinanceStream.start();
 *   liveKlineStreams({ symbols: ['BTCUSDT'], interval: '1m', wsUrl: fake.url, ... });
 *   await fake.waitForConnections(1);          // resolves once that many connections were accepted
 *   fake.connections[0].streams;               // ['btcusdt@kline_1m'], what the URL asked for
 *   fake.pushKline('BTCUSDT', '1m', kline);    // a closed candle to every connection carrying it
 *   fake.pushKline('BTCUSDT', '1m', kline, { closed: false }); // an update of a forming candle
 *   fake.pushRaw('{not json', 'BTCUSDT');      // any text, to the symbol's connections (all without a symbol)
 *   fake.silent = true;                        // pushes are swallowed: connections go quiet
 *   fake.dropAll();                            // every open connection cut (no close frame)
 *   fake.refuseNext(2);                        // the next 2 connections are accepted, then cut at once
 *   fake.holdHandshakes = true;                // opening handshakes wait unanswered ...
 *   await fake.waitForHandshakes(2);           // ... (counted as they arrive, held or not)
 *   fake.releaseHandshakes();                  // ... until released (also sets holdHandshakes false)
 *   await fake.connections[0].closed;          // resolves when the client (or the fake) closed it
 *   fake.openConnections();                    // connections still open now
 *   await fake.close();
 *
 * Only `GET /stream?streams=a/b/...` is served (other paths are refused with 400); a pushed
 * kline goes out as `{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":..,"s":"BTCUSDT","k":{..}}}`
 * with decimal strings, as Binance sends it. Repeating a push sends a duplicate. Protocol pings
 * from a client are answered by ws; `ping()` sends one to every client (ws clients answer it).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Kline } from '../../src/index.js';

/** One connection a client opened. */
export interface FakeStreamConnection {
  /** 1 for the first accepted connection, then 2, ... */
  readonly id: number;
  /** The stream names the client asked for in its URL, in order (e.g. 'btcusdt@kline_1m'). */
  readonly streams: string[];
  readonly socket: WebSocket;
  /** Whether it is still open. */
  readonly open: boolean;
  /** Resolves when the connection has closed, from either side. */
  readonly closed: Promise<void>;
  /** Messages sent on it (pushes that reached it). */
  readonly sent: number;
}

class Connection implements FakeStreamConnection {
  sent = 0;
  readonly closed: Promise<void>;
  constructor(
    readonly id: number,
    readonly streams: string[],
    readonly socket: WebSocket,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }
}

/** Binance's combined-stream event for a kline of `symbol`. */
export function klineEvent(symbol: string, interval: string, kline: Kline, closed = true): string {
  const stream = `${symbol.toLowerCase()}@kline_${interval}`;
  return JSON.stringify({
    stream,
    data: {
      e: 'kline',
      E: closed ? kline.closeTime + 1 : kline.openTime + 1,
      s: symbol,
      k: {
        t: kline.openTime,
        T: kline.closeTime,
        s: symbol,
        i: interval,
        f: 100,
        L: 200,
        o: kline.open.toFixed(8),
        c: kline.close.toFixed(8),
        h: kline.high.toFixed(8),
        l: kline.low.toFixed(8),
        v: kline.volume.toFixed(8),
        n: kline.numberOfTrades,
        x: closed,
        q: kline.quoteAssetVolume.toFixed(8),
        V: kline.takerBuyBaseAssetVolume.toFixed(8),
        Q: kline.takerBuyQuoteAssetVolume.toFixed(8),
        B: '0',
      },
    },
  });
}

export class FakeBinanceStream {
  /** Every connection accepted, in order (refused ones included, already closed). */
  readonly connections: FakeStreamConnection[] = [];
  /** When true, pushes are swallowed (the connections stay open but quiet). */
  silent = false;
  /** When true, opening handshakes are held unanswered until `releaseHandshakes()`. */
  holdHandshakes = false;
  /** Opening handshakes received so far, held ones included. */
  handshakes = 0;
  private refusals = 0;
  private held: (() => void)[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  private handshakeWaiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    /** `ws://127.0.0.1:PORT`, the `wsUrl` to hand to the client. */
    readonly url: string,
  ) {}

  static async start(): Promise<FakeBinanceStream> {
    const http = createServer((_request, response) => {
      response.writeHead(426).end('WebSocket only');
    });
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const fake = new FakeBinanceStream(http, wss, url);
    http.on('upgrade', (request: IncomingMessage, socket, head) => {
      const target = new URL(request.url ?? '/', 'http://127.0.0.1');
      const streams = target.searchParams.get('streams');
      if (target.pathname !== '/stream' || !streams) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        return;
      }
      const upgrade = () =>
        wss.handleUpgrade(request, socket, head, (ws) => fake.accept(ws, streams.split('/')));
      if (fake.holdHandshakes) fake.held.push(upgrade);
      else upgrade();
      fake.handshakes++;
      fake.handshakeWaiters = fake.handshakeWaiters.filter((waiter) => {
        if (fake.handshakes < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
    return fake;
  }

  private accept(socket: WebSocket, streams: string[]): void {
    const connection = new Connection(this.connections.length + 1, streams, socket);
    this.connections.push(connection);
    if (this.refusals > 0) {
      this.refusals--;
      socket.terminate();
    }
    this.waiters = this.waiters.filter((waiter) => {
      if (this.connections.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once `count` connections in all have been accepted (refused ones included). */
  waitForConnections(count: number): Promise<void> {
    if (this.connections.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Resolves once `count` opening handshakes in all have arrived (held ones included). */
  waitForHandshakes(count: number): Promise<void> {
    if (this.handshakes >= count) return Promise.resolve();
    return new Promise((resolve) => this.handshakeWaiters.push({ count, resolve }));
  }

  /** Answers the held handshakes and stops holding new ones. */
  releaseHandshakes(): void {
    this.holdHandshakes = false;
    const held = this.held;
    this.held = [];
    for (const upgrade of held) upgrade();
  }

  /** Connections open now. */
  openConnections(): FakeStreamConnection[] {
    return this.connections.filter((connection) => connection.open);
  }

  /**
   * Sends a kline event (closed unless `closed: false`) to every open connection that asked for
   * the symbol's stream; returns how many it reached (0 when silent).
   */
  pushKline(symbol: string, interval: string, kline: Kline, options: { closed?: boolean } = {}): number {
    const stream = `${symbol.toLowerCase()}@kline_${interval}`;
    return this.send(klineEvent(symbol, interval, kline, options.closed ?? true), stream);
  }

  /** Sends any text to the open connections carrying `symbol` (any interval), or to all of them. */
  pushRaw(text: string, symbol?: string): number {
    return this.send(text, symbol ? `${symbol.toLowerCase()}@kline_` : undefined, true);
  }

  /** Cuts every open connection at once, as a network failure does (no close frame). */
  dropAll(): void {
    for (const connection of this.openConnections()) connection.socket.terminate();
  }

  /** The next `count` connections are accepted and cut at once, before any message. */
  refuseNext(count: number): void {
    this.refusals += count;
  }

  /** A protocol ping to every open connection. */
  ping(): void {
    for (const connection of this.openConnections()) connection.socket.ping();
  }

  async close(): Promise<void> {
    for (const connection of this.openConnections()) connection.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private send(text: string, stream: string | undefined, prefix = false): number {
    if (this.silent) return 0;
    let reached = 0;
    for (const connection of this.openConnections()) {
      const carries =
        stream === undefined ||
        connection.streams.some((name) => (prefix ? name.startsWith(stream) : name === stream));
      if (!carries) continue;
      connection.socket.send(text);
      (connection as Connection).sent++;
      reached++;
    }
    return reached;
  }
}
