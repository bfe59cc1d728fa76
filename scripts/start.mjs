#!/usr/bin/env node
// `pnpm start`: builds what is not built yet, saying at once what it does and then each package
// as turbo reaches it (a fresh clone takes a minute or two, a built one a second or two), then
// runs `crypto-anomaly run` with the arguments given, on this terminal. Turbo's telemetry notice
// and update check stay off.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'packages', 'cli-tui', 'dist', 'bin.js');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };
// pnpm passes a `--` given before the arguments on to the script.
const args = process.argv.slice(2);
if (args[0] === '--') args.shift();

process.stderr.write(
  existsSync(bin)
    ? 'Checking the build (a second or two when nothing changed)...\n'
    : 'Building the four packages for the first time (a minute or two), then crypto-anomaly run on the bundled sample...\n',
);

/** Runs turbo's build, printing one line per package: rebuilt or already up to date. */
function build() {
  const turbo = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'turbo.cmd' : 'turbo');
  const child = spawn(turbo, ['run', 'build', '--output-logs=hash-only', '--log-prefix=task'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32',
  });
  let output = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    output += `${line}\n`;
    const task = /^(\S+):build: cache (miss|hit)/.exec(line);
    if (task) process.stderr.write(`  ${task[1]}: ${task[2] === 'miss' ? 'building' : 'up to date'}\n`);
  });
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

const built = await build();
if (built.code !== 0) {
  process.stderr.write(
    `${built.output}error: the build failed (exit ${built.code}); pnpm build shows each package's errors\n`,
  );
  process.exit(built.code ?? 1);
}
// Ctrl+C and SIGTERM reach the command too (same process group): it stops cleanly and its exit
// code (130, 143, or 1 for q) becomes ours.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
const run = spawn(process.execPath, [bin, 'run', ...args], { cwd: root, env, stdio: 'inherit' });
run.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === 'SIGTERM' ? 143 : 130);
});
