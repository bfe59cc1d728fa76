import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, writeKlinesCsv } from '@crypto-anomaly/data';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The watch dashboard in a real terminal: tmux runs the built binary in a 100x30 pane with a clean
 * environment (no CI variable, so Ink draws every frame), replaying a CSV at a modest speed; the
 * test reads the screen with capture-pane and types keys with send-keys. Skipped, saying why,
 * where tmux is not installed.
 */
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const socket = `cli-tui-watch-test-${process.pid}`;
const session = 'watch';

const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session).stdout;

async function waitFor(what: string, predicate: (text: string) => boolean, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = screen();
    if (predicate(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}; the screen was:\n${last}`);
}

afterAll(() => {
  if (hasTmux) tmux('kill-server');
});

describe('the watch dashboard in a real terminal (tmux)', () => {
  it.skipIf(!hasTmux)(
    hasTmux
      ? 'shows the pairs and the alert feed, opens the detail with enter, closes it with esc, quits with q (exit 0)'
      : 'SKIPPED: tmux is not installed (apt-get install tmux to run the real-terminal test)',
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'watch-tmux-'));
      const klines = generateSampleMarket({
        symbol: 'BTCUSDT',
        interval: '1h',
        count: 1_500,
        seed: 11,
      }).klines;
      await writeKlinesCsv(join(work, 'train.csv'), klines.slice(0, 1_000));
      await writeKlinesCsv(join(work, 'BTCUSDT-1h.csv'), klines.slice(1_000));
      const trained = spawnSync(
        process.execPath,
        [
          bin,
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
        ],
        { encoding: 'utf8', cwd: work, env: { ...process.env, CI: 'true' }, timeout: 240_000 },
      );
      expect(trained.status, trained.stderr).toBe(0);

      // 72,000 times real time: 20 hourly candles a second, so the replay lasts about 25 s.
      const command = [
        `cd ${JSON.stringify(work)} &&`,
        'env -i',
        `PATH=${JSON.stringify(process.env['PATH'] ?? '/usr/bin:/bin')}`,
        `HOME=${JSON.stringify(work)}`,
        'TERM=xterm-256color',
        JSON.stringify(process.execPath),
        JSON.stringify(bin),
        'watch --replay BTCUSDT-1h.csv --model models --store watch.duckdb --speed 72000 --cooldown 0',
        '; echo "EXIT=$?"; sleep 120',
      ].join(' ');
      expect(tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command).status).toBe(0);

      const table = await waitFor(
        'the pairs table and an alert in the feed',
        (text) =>
          /^›BTCUSDT\s+[\d.]+/m.test(text) && /^\d{2}-\d{2} \d{2}:\d{2} BTCUSDT \S+ \(dspot\): /m.test(text),
      );
      expect(table).toMatch(/crypto-anomaly watch · 1 pair 1h · replay/);
      expect(table).toMatch(/^replaying · \d+ candles · \d+ alerts/m);
      expect(table).toMatch(/^ pair\s+close\s+change\s+forest\s+dense\s+attn\s+consensus\s+alert/m);
      expect(table).toMatch(/alerts \(newest first\)/);
      expect(table).toMatch(/↑\/↓ select · enter detail · s sort \(by \w+\) · q quit/);
      for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(100);

      tmux('send-keys', '-t', session, 'Enter');
      const detail = await waitFor('the detail view', (text) => /esc back/.test(text));
      expect(detail).toMatch(/^BTCUSDT · close [\d.]+ · \d+ candles · \d+ alerts, \d+ suppressed/m);
      expect(detail).toMatch(/scores \/ threshold: forest dense attn consensus/);
      expect(detail).toMatch(/BTCUSDT alerts \(newest first\)/);
      expect(detail).not.toMatch(/^ pair\s+close/m);

      tmux('send-keys', '-t', session, 'Escape');
      const back = await waitFor('the table again', (text) => /enter detail/.test(text));
      expect(back).toMatch(/^ pair\s+close/m);
      expect(back).not.toMatch(/esc back/);

      tmux('send-keys', '-t', session, 'q');
      const quit = await waitFor('the exit code', (text) => /EXIT=\d+/.test(text));
      expect(quit).toMatch(/EXIT=0/);

      // Stopped by a signal, the dashboard leaves at once (it waited for a q nobody would press,
      // until the grace ran out and the process was killed).
      tmux('kill-session', '-t', session);
      const slow = command.replace(
        '--store watch.duckdb --speed 72000',
        '--store stopped.duckdb --speed 3600',
      );
      expect(tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', slow).status).toBe(0);
      await waitFor('the replay running', (text) => /^replaying · \d+ candles/m.test(text));
      // The node process itself, not the shell tmux started it with.
      const pid = spawnSync('pgrep', ['-f', 'stopped.duckdb'], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .find((candidate) => readFileSync(`/proc/${candidate}/comm`, 'utf8').trim() === 'node')!;
      process.kill(Number(pid), 'SIGTERM');
      const stopped = await waitFor('the exit code', (text) => /EXIT=\d+/.test(text));
      expect(stopped).toMatch(/EXIT=143/);
      expect(stopped).not.toMatch(/did not stop within/);
    },
    300_000,
  );
});
