import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, KlineStore, writeKlinesCsv } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainQuickModel } from './helpers/watch-model.js';

/**
 * `watch --refit-every` through the built binary, off a terminal: a replay of 600 hourly candles
 * with a re-fit every 10 days of candles, each trained in the worker thread on the candles before
 * it and swapped in while the replay goes on.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;
let replayed: Kline[];

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 300_000 });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-refit-'));
  const klines = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1h', count: 1_300, seed: 5 }).klines;
  replayed = klines.slice(700);
  await writeKlinesCsv(join(work, 'BTCUSDT-1h.csv'), replayed);
  await trainQuickModel(work, klines.slice(0, 700), 'BTCUSDT', '1h');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('crypto-anomaly watch --refit-every', () => {
  it('refuses a duration it cannot read and --model-for-all, naming the flag (exit 2)', () => {
    const bad = cli('watch', '--replay', 'BTCUSDT-1h.csv', '--model', 'models', '--refit-every', '10 days');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--refit-every.*Expected a duration/s);
    const shared = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models/BTCUSDT_1h',
      '--model-for-all',
      '--refit-every',
      '1d',
    );
    expect(shared.status).toBe(2);
    expect(shared.stderr).toMatch(/--refit-every: cannot be combined with --model-for-all/);
  });

  it('re-fits the model on the candles before, swaps it in and scores every candle once', async () => {
    const result = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      'refit.duckdb',
      '--no-tui',
      '--refit-every',
      '10d',
      '--epochs',
      '1',
    );
    expect(result.status, result.stderr).toBe(0);
    const started =
      result.stderr.match(/BTCUSDT: re-fitting its model on the candles through [\d-]+ [\d:]+/g) ?? [];
    const swapped = result.stderr.match(/BTCUSDT: model re-fitted through ([\d-]+ [\d:]+)/g) ?? [];
    // 600 candles, a re-fit once 240 have been scored since the last fit: two.
    expect(started).toHaveLength(2);
    expect(swapped).toHaveLength(2);
    expect(result.stderr).not.toMatch(/re-fit failed/);
    // The newest model is saved over the pair's folder: trained on candles up to the last re-fit.
    const manifest = JSON.parse(readFileSync(join(work, 'models', 'BTCUSDT_1h', 'pipeline.json'), 'utf8'));
    const lastThrough = Date.parse(`${swapped.at(-1)!.slice(-16).replace(' ', 'T')}Z`);
    expect(manifest.trainedOn.to).toBe(lastThrough);
    expect(manifest.trainedOn.from).toBeGreaterThanOrEqual(replayed[0]!.openTime);
    const store = await KlineStore.open(join(work, 'refit.duckdb'));
    try {
      const rows = await store.query(
        "SELECT count(DISTINCT open_time) AS candles, count(*) AS n FROM scores WHERE symbol = 'BTCUSDT'",
      );
      const scoredCandles = Number(rows[0]!['candles']);
      expect(Number(rows[0]!['n'])).toBe(scoredCandles * 4);
      expect(scoredCandles).toBeGreaterThan(500);
    } finally {
      await store.close();
    }
  });
});
