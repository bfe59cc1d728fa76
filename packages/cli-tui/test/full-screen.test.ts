import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Renders an app of the built package with Ink on a fake terminal (a TTY stdout of 110x30), then
 * shrinks it to 70 columns and prints the widest line of every frame Ink wrote after the resize.
 * In a child process without CI in its environment: with CI set Ink neither draws frames nor
 * listens for resizes.
 */
const script = (app: 'run' | 'watch') => `
import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import React from 'react';
import { renderFullScreen } from './dist/full-screen.js';
import { DashboardApp } from './dist/components/DashboardApp.js';
import { createDashboardStore } from './dist/dashboard-store.js';
import { WatchApp } from './dist/watch/components/WatchApp.js';
import { createWatchStore } from './dist/watch/watch-store.js';
const stdout = Object.assign(new EventEmitter(), {
  isTTY: true, columns: 110, rows: 30, writes: [],
  write(text) { this.writes.push(text); return true; },
});
const stdin = Object.assign(new EventEmitter(), {
  isTTY: true, setRawMode() {}, setEncoding() {}, ref() {}, unref() {}, read() { return null; }, resume() {}, pause() {},
});
let element;
if (${JSON.stringify(app)} === 'run') {
  const store = createDashboardStore('crypto-anomaly run');
  store.dispatch({ type: 'pipeline', event: { type: 'stage', stage: 'autoencoder', status: 'start' }, at: Date.now() });
  element = (size) => React.createElement(DashboardApp, { store, onQuit() {}, size });
} else {
  const store = createWatchStore('crypto-anomaly watch', 'live');
  element = (size) => React.createElement(WatchApp, { store, onQuit() {}, size });
}
const app = renderFullScreen(element, { stdout, stdin, stderr: stdout, patchConsole: false, exitOnCtrlC: false });
await new Promise((resolve) => setTimeout(resolve, 200));
const drawn = stdout.writes.length;
stdout.columns = 70;
stdout.emit('resize');
await new Promise((resolve) => setTimeout(resolve, 200));
const widest = (text) => Math.max(0, ...stripVTControlCharacters(text).split('\\n').map((line) => line.length));
console.log(JSON.stringify({ before: stdout.writes.slice(0, drawn).map(widest), after: stdout.writes.slice(drawn).map(widest) }));
app.unmount();
process.exit(0);
`;

function shrink(app: 'run' | 'watch'): { before: number[]; after: number[] } {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => key !== 'CI' && !key.startsWith('CI_') && key !== 'CONTINUOUS_INTEGRATION',
    ),
  );
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script(app)], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(stripVTControlCharacters(child.stdout).trim().split('\n').pop()!);
}

describe('a full-screen dashboard in a terminal that shrinks', () => {
  for (const app of ['run', 'watch'] as const) {
    it(`${app}: every frame after the resize fits the new width (no old-width frame to wrap)`, () => {
      const { before, after } = shrink(app);
      // It filled the old width, and drew again after the resize.
      expect(Math.max(...before)).toBeGreaterThan(70);
      expect(Math.max(...after)).toBeGreaterThan(50);
      for (const width of after) expect(width).toBeLessThanOrEqual(70);
    });
  }
});
