import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

function run(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
}

describe('crypto-anomaly binary (built dist, as a child process)', () => {
  it('prints help with examples and exits 0', () => {
    const result = run('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Usage: crypto-anomaly/);
    expect(result.stdout).toMatch(/Examples:/);
  });

  it('prints the package version and exits 0', () => {
    const result = run('--version');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('exits 2 on an unknown option and names it', () => {
    const result = run('--frobnicate');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--frobnicate'/);
    expect(result.stderr).toMatch(/crypto-anomaly --help/);
  });
});
