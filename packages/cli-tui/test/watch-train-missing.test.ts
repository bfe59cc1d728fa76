import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, KlineStore, writeKlinesCsv } from '@crypto-anomaly/data';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * `watch --train-missing` through the built binary, in replay: BTCUSDT has a model, ETHUSDT none.
 * ETHUSDT's model is trained in a worker thread while BTCUSDT streams; it joins once saved. The
 * order in which score rows reached the store (DuckDB keeps insertion order in `rowid`) shows
 * BTCUSDT being scored before ETHUSDT joined, rather than everything waiting for the training.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 300_000 });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-train-missing-'));
  const btc = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1h', count: 1_600, seed: 5 }).klines;
  const eth = generateSampleMarket({ symbol: 'ETHUSDT', interval: '1h', count: 1_000, seed: 6 }).klines;
  await writeKlinesCsv(join(work, 'train.csv'), btc.slice(0, 1_000));
  await writeKlinesCsv(join(work, 'BTCUSDT-1h.csv'), btc.slice(1_000));
  await writeKlinesCsv(join(work, 'ETHUSDT-1h.csv'), eth);
  const trained = cli(
    'train',
    '--source',
    'csv',
    '--input',
    'train.csv',
    '--symbol',
    'BTCUSDT',
    '--interval',
    '1h',
    '--epochs',
    '1',
    '--no-charts',
    '--out',
    'models/BTCUSDT_1h',
  );
  expect(trained.status, trained.stderr).toBe(0);
}, 300_000);

describe('crypto-anomaly watch --train-missing', () => {
  it('trains the pair without a model in a worker while the other is scored; both end up scored', async () => {
    const result = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv,ETHUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      'train.duckdb',
      '--json',
      '--train-missing',
      '--epochs',
      '1',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /ETHUSDT: no model; training one on 1000 candles into \S+ETHUSDT_1h in a worker/,
    );
    expect(result.stderr).toMatch(/ETHUSDT: model trained in [\d.]+s and saved in \S+ETHUSDT_1h; it joins/);
    expect(existsSync(join(work, 'models', 'ETHUSDT_1h'))).toBe(true);

    const store = await KlineStore.open(join(work, 'train.duckdb'));
    try {
      const rows = await store.query(
        'SELECT symbol, open_time, min(rowid) AS first_row, count(*) AS n FROM scores GROUP BY symbol, open_time ORDER BY first_row',
      );
      const bySymbol = (symbol: string) => rows.filter((row) => row['symbol'] === symbol);
      const btc = bySymbol('BTCUSDT');
      const eth = bySymbol('ETHUSDT');
      for (const row of rows) expect(Number(row['n'])).toBe(4);
      // Both scored: every candle after its warm-up, once.
      expect(btc.length).toBeGreaterThan(400);
      expect(eth.length).toBeGreaterThan(800);
      expect(new Set(eth.map((row) => Number(row['open_time']))).size).toBe(eth.length);
      // BTCUSDT streamed while ETHUSDT trained: bursts of its scores reached the store before
      // ETHUSDT's first. (Had the training come first, the two would start in the same burst and
      // one BTCUSDT candle at most would precede it; how many more depends on the machine.)
      const ethFirst = Number(eth[0]!['first_row']);
      const btcBefore = btc.filter((row) => Number(row['first_row']) < ethFirst).length;
      expect(btcBefore).toBeGreaterThan(1);
      // Once joined, ETHUSDT scored the whole replayed file after its warm-up, in order.
      const ethTimes = eth.map((row) => Number(row['open_time']));
      expect(ethTimes).toEqual([...ethTimes].sort((a, b) => a - b));
    } finally {
      await store.close();
    }
  });
});
