#!/usr/bin/env node
// `pnpm start`: builds what is not built yet, saying so at once (a fresh clone takes a minute or
// two, a built one a second), then runs `crypto-anomaly run` with the arguments given, on this
// terminal. Turbo's telemetry notice and update check stay off.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'packages', 'cli-tui', 'dist', 'bin.js');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };

process.stderr.write(
  existsSync(bin)
    ? 'Checking the build (turbo: a second or two when nothing changed)...\n'
    : 'Building the four packages for the first time (WebAssembly kernels, data, engine, CLI; a minute or two), then running crypto-anomaly run on the bundled sample...\n',
);
const turbo = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'turbo.cmd' : 'turbo');
const build = spawnSync(turbo, ['run', 'build', '--output-logs=errors-only', '--log-prefix=none'], {
  cwd: root,
  env,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
  shell: process.platform === 'win32',
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
  process.stderr.write(
    `error: the build failed (exit ${build.status ?? build.signal}); the lines above say why\n`,
  );
  process.exit(build.status ?? 1);
}
// Ctrl+C and SIGTERM reach the command too (same process group): it stops cleanly and its exit
// code (130, 143, or 1 for q) becomes ours.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
const run = spawn(process.execPath, [bin, 'run', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
run.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === 'SIGTERM' ? 143 : 130);
});
