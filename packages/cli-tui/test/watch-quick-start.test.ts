import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KlineStore } from '@crypto-anomaly/data';
import { describe, expect, it } from 'vitest';

/**
 * The root README's quick start for `watch`, run as written from a fresh folder with a fresh home
 * (so the default store is new): train on the bundled sample, then `watch --replay sample`. Neither
 * needs the network. Off a terminal, stdout carries the alerts and a final status as JSON lines.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

/** The README's line that starts with `prefix`, split into arguments (no quoting in these lines). */
function readmeCommand(prefix: string): string[] {
  const line = readme.split('\n').find((candidate) => candidate.startsWith(prefix));
  expect(line, `the root README has a line starting with "${prefix}"`).toBeDefined();
  const [command, ...args] = line!.trim().split(/\s+/);
  expect(command).toBe('crypto-anomaly');
  return args;
}

describe('the root README quick start of watch', () => {
  it('trains on the bundled sample and replays it offline, from a fresh folder', async () => {
    const work = mkdtempSync(join(tmpdir(), 'watch-quick-start-'));
    const {
      CRYPTO_ANOMALY_STORE: _store,
      XDG_DATA_HOME: _data,
      XDG_CONFIG_HOME: _config,
      ...rest
    } = process.env;
    const env = { ...rest, HOME: work, CI: 'true', NO_COLOR: '1' };
    const run = (args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 600_000 });

    const train = run(readmeCommand('crypto-anomaly train --symbol BTCUSDT --interval 1h'));
    expect(train.status, train.stderr).toBe(0);
    expect(existsSync(join(work, 'models', 'BTCUSDT_1h', 'pipeline.json'))).toBe(true);

    const watchArgs = readmeCommand('crypto-anomaly watch --replay sample');
    expect(watchArgs).toEqual(
      expect.arrayContaining(['--symbols', 'BTCUSDT', '--interval', '1h', '--model', 'models', '--store']),
    );
    const watch = run(watchArgs);
    expect(watch.status, watch.stderr).toBe(0);
    const lines = watch.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const status = lines.filter((line) => line['type'] === 'status');
    const alerts = lines.filter((line) => line['type'] === undefined);
    // A status line a minute, then the final one.
    expect(status.at(-1)).toMatchObject({ final: true, mode: 'replay', connection: 'finished', symbols: 1 });
    for (const line of status.slice(0, -1)) expect(line['final']).toBeUndefined();
    expect(alerts.length).toBeGreaterThan(0);
    expect(status.at(-1)!['alerts']).toBe(alerts.length);
    for (const alert of alerts) expect(alert['symbol']).toBe('BTCUSDT');
    expect(watch.stderr).toMatch(/BTCUSDT: warmed up on \d+ candles from the replay/);

    // The replay's own store holds the sample's candles and each one's scores once; the default
    // store (in the fresh home's XDG data folder) was never touched.
    expect(existsSync(join(work, '.local', 'share', 'crypto-anomaly', 'klines.duckdb'))).toBe(false);
    const storeFile = join(work, watchArgs[watchArgs.indexOf('--store') + 1]!);
    expect(existsSync(storeFile)).toBe(true);
    const store = await KlineStore.open(storeFile);
    try {
      const [row] = await store.query(
        "SELECT count(DISTINCT open_time) AS candles, count(*) AS rows FROM scores WHERE symbol = 'BTCUSDT'",
      );
      expect(Number(row!['candles'])).toBe(status.at(-1)!['candles']);
      expect(Number(row!['rows'])).toBe(4 * Number(row!['candles']));
      expect(Number(row!['candles'])).toBeGreaterThan(4_000);
    } finally {
      await store.close();
    }
    // The README's next line judges those flags against the sample's 28 labelled events.
    const evaluate = run(readmeCommand('crypto-anomaly evaluate --from-store'));
    expect(evaluate.status, evaluate.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(work, 'evaluation_BTCUSDT_1h', 'evaluation.json'), 'utf8'));
    expect(report.labels).toMatchObject({ source: 'sample', events: 28, eventsOutside: 0 });
    expect(report.rows.count).toBe(status.at(-1)!['candles']);
    expect(report.detectors.map((d: { name: string }) => d.name)).toEqual([
      'isolation-forest',
      'autoencoder',
      'attention',
      'consensus',
    ]);
    expect(evaluate.stdout).toMatch(/^all +28 /m);
    // A default training and a replay of 5,000 candles: the commands' own 10-minute limit, not
    // the suite's 2 minutes (exceeded at a load average of 10 on the 2-core box).
  }, 600_000);
});
