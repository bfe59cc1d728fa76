import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, KlineStore } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBinance } from '../../data/test/helpers/fake-binance.js';
import { FakeBinanceStream } from '../../data/test/helpers/fake-binance-stream.js';
import { trainQuickModel } from './helpers/watch-model.js';

/**
 * A live `watch` through the built binary against the data package's stand-ins on 127.0.0.1: the
 * WebSocket combined stream and the REST API. Warm-up over REST, candles on the stream, a dropped
 * connection whose missed candles come back over REST, a repeated candle: each closed candle
 * scored exactly once, as the store shows.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
const MINUTE = 60_000;
let work: string;
let klines: Kline[];
let rest: FakeBinance;
let stream: FakeBinanceStream;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-live-'));
  // 1,300 one-minute candles: the first 1,200 closed before now (the REST history), the rest
  // close "later" (the stream's; the REST stand-in's clock runs ahead so a back-fill finds them).
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 1_200 * MINUTE;
  klines = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1m', start, count: 1_300, seed: 5 }).klines;
  await trainQuickModel(work, klines.slice(0, 1_000), 'BTCUSDT', '1m');
  rest = await new FakeBinance().serve('BTCUSDT', '1m', klines.slice(0, 1_200)).start();
  rest.clockOffsetMs = 3 * 3_600_000;
  stream = await FakeBinanceStream.start();
});

afterAll(async () => {
  await stream?.close();
  await rest?.close();
});

describe('crypto-anomaly watch, live (non-TTY)', () => {
  it('warms up over REST, scores streamed candles, back-fills after a drop: every closed candle once', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        bin,
        'watch',
        '--symbols',
        'BTCUSDT',
        '--interval',
        '1m',
        '--model',
        'models',
        '--store',
        'live.duckdb',
        '--base-url',
        rest.url,
        '--stream-url',
        stream.url,
        '--json',
        '--status-every',
        '1',
        '--alerts-file',
        'alerts.jsonl',
      ],
      { env, cwd: work },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const lastStatus = () =>
      stdout
        .split('\n')
        .filter((line) => line.includes('"type":"status"'))
        .map((line) => JSON.parse(line))
        .at(-1);
    const until = async (what: string, condition: () => boolean) => {
      for (let i = 0; i < 750 && !condition(); i++) await new Promise((r) => setTimeout(r, 40));
      expect(condition(), `${what}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr}`).toBe(true);
    };

    await until('a connection', () => stream.connections.length >= 1);
    await until('connected', () => lastStatus()?.connection === 'connected');
    expect(stderr).toMatch(/BTCUSDT: warmed up on \d+ candles from the exchange \(REST\)/);
    // Candles 1200..1239 on the stream, one repeated, one not closed yet.
    for (let i = 1_200; i < 1_240; i++) stream.pushKline('BTCUSDT', '1m', klines[i]!);
    stream.pushKline('BTCUSDT', '1m', klines[1_239]!);
    stream.pushKline('BTCUSDT', '1m', klines[1_240]!, { closed: false });
    await until('40 streamed candles scored', () => lastStatus()?.candles === 40);

    // The connection drops; 1240..1269 close meanwhile (REST has them), then the stream resumes.
    rest.serve('BTCUSDT', '1m', klines.slice(0, 1_270));
    stream.dropAll();
    await until('a second connection', () => stream.connections.length >= 2);
    await until('back-filled', () => lastStatus()?.candles === 70);
    for (let i = 1_270; i < 1_280; i++) stream.pushKline('BTCUSDT', '1m', klines[i]!);
    await until('all 80 scored', () => lastStatus()?.candles === 80);
    expect(stderr).toMatch(/connection 1 lost/);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);

    const store = await KlineStore.open(join(work, 'live.duckdb'));
    try {
      const rows = await store.query(
        "SELECT open_time, count(*) AS n FROM scores WHERE symbol = 'BTCUSDT' GROUP BY open_time ORDER BY open_time",
      );
      expect(rows.map((row) => Number(row['open_time']))).toEqual(
        klines.slice(1_200, 1_280).map((k) => k.openTime),
      );
      for (const row of rows) expect(Number(row['n'])).toBe(4);
      expect(await store.count('BTCUSDT', '1m', { start: klines[1_200]!.openTime })).toBe(80);
    } finally {
      await store.close();
    }
  });
});
