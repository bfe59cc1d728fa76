import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The dashboard in a real terminal: tmux runs the built binary in a 100x30 pane with a clean
 * environment (no CI variables), the test reads the screen with capture-pane and types keys
 * with send-keys. Skipped, saying why, where tmux is not installed.
 */
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const socket = `cli-tui-test-${process.pid}`;
const session = 'dashboard';

const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session).stdout;

async function waitFor(
  what: string,
  predicate: (text: string) => boolean,
  timeoutMs = 90_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = screen();
    if (predicate(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}; the screen was:\n${last}`);
}

afterAll(() => {
  if (hasTmux) tmux('kill-server');
});

describe('the dashboard in a real terminal (tmux)', () => {
  it.skipIf(!hasTmux)(
    hasTmux
      ? 'shows the loss chart while training, the final table at the end, and quits with q'
      : 'SKIPPED: tmux is not installed (apt-get install tmux to run the real-terminal test)',
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'cli-tmux-'));
      const config = join(work, 'small.json');
      writeFileSync(
        config,
        JSON.stringify({ sample: { count: 1500 }, pipeline: { attention: { epochs: 2 } } }),
      );
      const out = join(work, 'out');
      const command = [
        'env -i',
        `PATH=${JSON.stringify(process.env['PATH'] ?? '/usr/bin:/bin')}`,
        `HOME=${JSON.stringify(process.env['HOME'] ?? work)}`,
        'TERM=xterm-256color',
        JSON.stringify(process.execPath),
        JSON.stringify(bin),
        `run --config ${JSON.stringify(config)} --epochs 6 --out ${JSON.stringify(out)}`,
        '; echo "EXIT=$?"; sleep 120',
      ].join(' ');
      const started = tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command);
      expect(started.status).toBe(0);

      const training = await waitFor(
        'the loss chart',
        (text) => /epoch \d+\/\d+/.test(text) && /[╭╮╯╰]/.test(text) && /─ train /.test(text),
      );
      expect(training).toMatch(/crypto-anomaly run · SAMPLE 1h/);
      expect(training).toMatch(/bundled sample market \(default source\)/);
      expect(training).toMatch(/Stages/);
      expect(training).toMatch(/running · q stop/);
      // The legend tells the curves apart by glyph, the x axis is the epochs run.
      expect(training).toMatch(/─ train [\d.e-]+ {2}•· val(idation)? [\d.e-]+ {2}┊ best \d+/);
      expect(training).toMatch(/ epoch 1( +\d+)*\s*$/m);

      const finished = await waitFor('the final table', (text) => /finished in /.test(text));
      expect(finished).toMatch(/consensus \(threshold [\d.]+\)/);
      expect(finished).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
      expect(finished).toMatch(/Files in /);
      // Flag counts per detector and for the consensus, and every file by name.
      expect(finished).toMatch(/Flagged\s+all\s+test/);
      expect(finished).toMatch(/consensus\s+\d+\s+\d+/);
      expect(finished).toMatch(/autoencoder\s+\d+\s+\d+/);
      expect(finished).toMatch(/summary\.json/);
      for (const line of finished.split('\n')) expect(line.length).toBeLessThanOrEqual(100);

      // Back to the dense autoencoder's pane and onto a log scale, then quit.
      // One key at a time: keys sent together can arrive as one input ("\tl") that matches neither.
      tmux('send-keys', '-t', session, 'Tab');
      await waitFor('the loss chart pane', (text) => /─ train /.test(text));
      tmux('send-keys', '-t', session, 'l');
      const logScale = await waitFor('the log-scale chart', (text) => /\(log scale\)/.test(text));
      expect(logScale).toMatch(/epoch 6\/6|early-stopped/);
      tmux('send-keys', '-t', session, 'q');
      await waitFor('the exit', (text) => /EXIT=0/.test(text));
      expect(existsSync(join(out, 'summary.json'))).toBe(true);

      // Ctrl+C while it trains stops the run as SIGINT does: exit 130, said so.
      tmux('kill-session', '-t', session);
      const again = command.replace(`--out ${JSON.stringify(out)}`, `--out ${JSON.stringify(`${out}-2`)}`);
      expect(tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', again).status).toBe(0);
      await waitFor('training', (text) => /running · q stop/.test(text));
      tmux('send-keys', '-t', session, 'C-c');
      const interrupted = await waitFor('the exit', (text) => /EXIT=\d+/.test(text));
      expect(interrupted).toMatch(/EXIT=130/);
      expect(interrupted).toMatch(/stopped before the end \(SIGINT\)/);
    },
    150_000,
  );
});
