import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, KlineStore } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBinance } from '../../data/test/helpers/fake-binance.js';
import { FakeBinanceStream } from '../../data/test/helpers/fake-binance-stream.js';
import { trainQuickModel } from './helpers/watch-model.js';

/**
 * A live `watch --train-missing` through the built binary against the stream and REST stand-ins
 * on 127.0.0.1: BTCUSDT has a model, ETHUSDT none. ETHUSDT's history comes over REST into the
 * store and is trained on in a worker thread while BTCUSDT's streamed candles are scored; once
 * its model is saved ETHUSDT joins (warmed up from the store, on a connection of its own) and its
 * streamed candles are scored too.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
const MINUTE = 60_000;
/** Candles closed before now, on REST; the stream's come after. */
const HISTORY = 6_000;
let work: string;
let btc: Kline[];
let eth: Kline[];
let rest: FakeBinance;
let stream: FakeBinanceStream;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-live-train-'));
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - HISTORY * MINUTE;
  const count = HISTORY + 50;
  btc = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1m', start, count, seed: 21 }).klines;
  eth = generateSampleMarket({ symbol: 'ETHUSDT', interval: '1m', start, count, seed: 22 }).klines;
  await trainQuickModel(work, btc.slice(0, 1_000), 'BTCUSDT', '1m');
  rest = await new FakeBinance()
    .serve('BTCUSDT', '1m', btc.slice(0, HISTORY))
    .serve('ETHUSDT', '1m', eth.slice(0, HISTORY))
    .start();
  rest.clockOffsetMs = 3 * 3_600_000;
  stream = await FakeBinanceStream.start();
}, 300_000);

afterAll(async () => {
  await stream?.close();
  await rest?.close();
});

describe('crypto-anomaly watch --train-missing, live', () => {
  it('scores the pair with a model while the other trains from REST history in a worker, then both', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        bin,
        'watch',
        '--symbols',
        'BTCUSDT,ETHUSDT',
        '--interval',
        '1m',
        '--model',
        'models',
        '--train-missing',
        // Long enough that BTCUSDT's candles are scored while it trains (one epoch trained in
        // 1.3 s, before they were); early stopping ends it well before the cap.
        '--epochs',
        '60',
        '--store',
        'live.duckdb',
        '--base-url',
        rest.url,
        '--stream-url',
        stream.url,
        '--json',
        '--status-every',
        '1',
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
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .at(-1);
    const until = async (what: string, condition: () => boolean) => {
      for (let i = 0; i < 3_000 && !condition(); i++) await new Promise((r) => setTimeout(r, 40));
      expect(condition(), `${what}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr}`).toBe(true);
    };

    await until('BTCUSDT connected', () => lastStatus()?.['connection'] === 'connected');
    await until('ETHUSDT training', () => /ETHUSDT: no model; training one on \d+ candles/.test(stderr));
    for (let i = HISTORY; i < HISTORY + 10; i++) stream.pushKline('BTCUSDT', '1m', btc[i]!);
    await until('BTCUSDT streamed candles scored', () => lastStatus()?.['candles'] === 10);
    // Scored while ETHUSDT's model was still being trained: the stream did not wait for it.
    expect(stderr).not.toMatch(/ETHUSDT: model trained/);

    await until('ETHUSDT joined', () => /ETHUSDT: warmed up on \d+ candles from the store/.test(stderr));
    expect(stderr).toMatch(/ETHUSDT: model trained in [\d.]+s and saved in \S+ETHUSDT_1m; it joins/);
    expect(existsSync(join(work, 'models', 'ETHUSDT_1m', 'pipeline.json'))).toBe(true);
    await until('ETHUSDT connection', () => stream.connections.length >= 2);
    await until('ETHUSDT connected', () => stream.openConnections().length >= 2);
    for (let i = HISTORY; i < HISTORY + 10; i++) stream.pushKline('ETHUSDT', '1m', eth[i]!);
    for (let i = HISTORY + 10; i < HISTORY + 20; i++) stream.pushKline('BTCUSDT', '1m', btc[i]!);
    await until('all scored', () => lastStatus()?.['candles'] === 30);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);

    const store = await KlineStore.open(join(work, 'live.duckdb'));
    try {
      const scored = async (symbol: string) =>
        (
          await store.query(
            'SELECT open_time, count(*) AS n FROM scores WHERE symbol = $1 GROUP BY open_time ORDER BY open_time',
            [symbol],
          )
        ).map((row) => {
          expect(Number(row['n'])).toBe(4);
          return Number(row['open_time']);
        });
      expect(await scored('BTCUSDT')).toEqual(btc.slice(HISTORY, HISTORY + 20).map((k) => k.openTime));
      expect(await scored('ETHUSDT')).toEqual(eth.slice(HISTORY, HISTORY + 10).map((k) => k.openTime));
    } finally {
      await store.close();
    }
  });
});
