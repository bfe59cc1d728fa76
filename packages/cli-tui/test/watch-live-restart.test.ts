import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, KlineStore } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBinance } from '../../data/test/helpers/fake-binance.js';
import { FakeBinanceStream } from '../../data/test/helpers/fake-binance-stream.js';
import { trainQuickModel } from './helpers/watch-model.js';

/**
 * A live `watch` killed with SIGKILL in the middle of a stream and started again, through the
 * built binary against the stream and REST stand-ins on 127.0.0.1: the restart resumes after the
 * last candle the store has scores of, back-fills over REST what closed while it was down, and
 * goes on with the stream. Every candle pushed is scored exactly once, and the alerts file never
 * gets an id twice.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
const MINUTE = 60_000;
let work: string;
let klines: Kline[];
let rest: FakeBinance;
let stream: FakeBinanceStream;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-live-restart-'));
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 1_200 * MINUTE;
  klines = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1m', start, count: 1_300, seed: 8 }).klines;
  await trainQuickModel(work, klines.slice(0, 1_000), 'BTCUSDT', '1m');
  rest = await new FakeBinance().serve('BTCUSDT', '1m', klines.slice(0, 1_200)).start();
  // The stand-in's clock runs ahead, so the candles pushed "later" count as closed for a back-fill.
  rest.clockOffsetMs = 3 * 3_600_000;
  stream = await FakeBinanceStream.start();
}, 300_000);

afterAll(async () => {
  await stream?.close();
  await rest?.close();
});

/** The watch process, its output, and a wait on the status lines it prints every second. */
function startWatch() {
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
      '--cooldown',
      '0',
    ],
    { env, cwd: work },
  );
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (output.stdout += chunk));
  child.stderr!.on('data', (chunk) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lastStatus = () =>
    output.stdout
      .split('\n')
      .filter((line) => line.includes('"type":"status"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .at(-1);
  const until = async (what: string, condition: () => boolean) => {
    for (let i = 0; i < 1_500 && !condition(); i++) await new Promise((r) => setTimeout(r, 40));
    expect(condition(), `${what}\nstdout: ${output.stdout.slice(-2000)}\nstderr: ${output.stderr}`).toBe(
      true,
    );
  };
  return { child, output, exited, lastStatus, until };
}

async function scoredOpenTimes(): Promise<number[]> {
  const store = await KlineStore.open(join(work, 'live.duckdb'));
  try {
    const rows = await store.query(
      "SELECT open_time, count(*) AS n FROM scores WHERE symbol = 'BTCUSDT' GROUP BY open_time ORDER BY open_time",
    );
    for (const row of rows) expect(Number(row['n'])).toBe(4);
    return rows.map((row) => Number(row['open_time']));
  } finally {
    await store.close();
  }
}

describe('crypto-anomaly watch, live, killed and restarted', () => {
  it('scores every pushed candle once across a SIGKILL, and writes no alert id twice', async () => {
    const first = startWatch();
    await first.until('connected', () => first.lastStatus()?.['connection'] === 'connected');
    for (let i = 1_200; i < 1_260; i++) stream.pushKline('BTCUSDT', '1m', klines[i]!);
    await first.until('some candles scored', () => Number(first.lastStatus()?.['candles'] ?? 0) >= 5);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    const before = await scoredOpenTimes();
    expect(before.length).toBeGreaterThan(0);
    expect(before).toEqual(klines.slice(1_200, 1_200 + before.length).map((k) => k.openTime));

    // While it was down, the exchange's history grew to candle 1,279 (what the stream sent, more).
    rest.serve('BTCUSDT', '1m', klines.slice(0, 1_280));
    const connections = stream.connections.length;
    const second = startWatch();
    await second.until('reconnected', () => stream.connections.length > connections);
    await second.until('back-filled', () => second.lastStatus()?.['candles'] === 80 - before.length);
    for (let i = 1_280; i < 1_290; i++) stream.pushKline('BTCUSDT', '1m', klines[i]!);
    await second.until('streamed', () => second.lastStatus()?.['candles'] === 90 - before.length);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(143);

    // None twice, none missed: exactly the candles from 1,200 through 1,289.
    expect(await scoredOpenTimes()).toEqual(klines.slice(1_200, 1_290).map((k) => k.openTime));
    const file = join(work, 'alerts.jsonl');
    const ids = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => (JSON.parse(line) as { id: string }).id)
      : [];
    expect(new Set(ids).size).toBe(ids.length);
    const stored = await KlineStore.open(join(work, 'live.duckdb'));
    try {
      const rows = await stored.query('SELECT count(*) AS n FROM alerts');
      // Each candle gives at most one alert to the file (--cooldown 0: one per candle); the store has all.
      expect(ids.length).toBeLessThanOrEqual(Number(rows[0]!['n']));
    } finally {
      await stored.close();
    }
  });
});
