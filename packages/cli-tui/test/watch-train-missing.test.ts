import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, KlineStore, writeKlinesCsv } from '@crypto-anomaly/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainQuickModel } from './helpers/watch-model.js';

/**
 * `watch --train-missing` through the built binary, in replay: BTCUSDT has a model, ETHUSDT none.
 * ETHUSDT's model is trained in a worker thread while BTCUSDT streams; it joins once saved. Every
 * ETHUSDT candle is older than every BTCUSDT one, so a replay that waited for the training would
 * score (and print the alerts of) ETHUSDT first; the order of the alerts on stdout, which is the
 * order of scoring, shows BTCUSDT being scored before ETHUSDT joined.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;
let btc: Kline[];
let eth: Kline[];

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 300_000 });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-train-missing-'));
  const start = Date.UTC(2024, 0, 1);
  // ETHUSDT's 1,000 candles all open before the 600 of BTCUSDT that are replayed.
  const btcAll = generateSampleMarket({
    symbol: 'BTCUSDT',
    interval: '1h',
    start,
    count: 1_600,
    seed: 5,
  }).klines;
  const btcTrain = btcAll.slice(0, 1_000);
  btc = btcAll.slice(1_000);
  eth = generateSampleMarket({ symbol: 'ETHUSDT', interval: '1h', start, count: 1_000, seed: 6 }).klines;
  expect(eth.at(-1)!.openTime).toBeLessThan(btc[0]!.openTime);
  await writeKlinesCsv(join(work, 'BTCUSDT-1h.csv'), btc);
  await writeKlinesCsv(join(work, 'ETHUSDT-1h.csv'), eth);
  await trainQuickModel(work, btcTrain, 'BTCUSDT', '1h');
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
      '--cooldown',
      '0',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /ETHUSDT: no model; training one on 1000 candles into \S+ETHUSDT_1h in a worker/,
    );
    expect(result.stderr).toMatch(/ETHUSDT: model trained in [\d.]+s and saved in \S+ETHUSDT_1h; it joins/);
    expect(existsSync(join(work, 'models', 'ETHUSDT_1h'))).toBe(true);

    // Every stdout line is JSON (alerts and status lines). That the pair with a model is scored while
    // the other trains is shown by the live test (watch-live-train-missing), where candles arrive
    // over time; in a replay at max speed, which pair's alerts reach stdout first depends on how
    // long the training takes, and whether a one-epoch model alerts at all on these candles.
    for (const line of result.stdout.split('\n').filter((l) => l !== '')) JSON.parse(line);

    // Both scored: every candle after its warm-up, once, with the three detectors and the consensus.
    const store = await KlineStore.open(join(work, 'train.duckdb'));
    try {
      const rows = await store.query(
        'SELECT symbol, open_time, count(*) AS n FROM scores GROUP BY symbol, open_time ORDER BY symbol, open_time',
      );
      for (const row of rows) expect(Number(row['n'])).toBe(4);
      const scored = (symbol: string) =>
        rows.filter((row) => row['symbol'] === symbol).map((row) => Number(row['open_time']));
      const btcScored = scored('BTCUSDT');
      const ethScored = scored('ETHUSDT');
      expect(btcScored).toEqual(btc.slice(btc.length - btcScored.length).map((k) => k.openTime));
      expect(ethScored).toEqual(eth.slice(eth.length - ethScored.length).map((k) => k.openTime));
      expect(btcScored.length).toBeGreaterThan(500);
      expect(ethScored.length).toBeGreaterThan(900);
    } finally {
      await store.close();
    }
  });
});
