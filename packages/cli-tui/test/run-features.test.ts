import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FEATURE_SETS } from '@crypto-anomaly/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `run --features relative|classic` through the built binary: the set the detectors see. */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;

function cli(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 300_000 });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cli-features-'));
  writeFileSync(join(work, 'small.json'), JSON.stringify({ sample: { count: 600 } }));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('run --features', () => {
  it.each(Object.keys(FEATURE_SETS) as (keyof typeof FEATURE_SETS)[])(
    'trains the detectors on the %s set, named in summary.json',
    (set) => {
      const out = join(work, set);
      const result = cli(
        'run',
        '--config',
        'small.json',
        '--detectors',
        'iforest',
        '--features',
        set,
        '--no-charts',
        '--out',
        out,
      );
      expect(result.status, result.stderr).toBe(0);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.features).toEqual([...FEATURE_SETS[set]]);
    },
    300_000,
  );

  it('refuses an unknown set, naming the choices', () => {
    const result = cli('run', '--features', 'levels', '--detectors', 'iforest', '--out', join(work, 'x'));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--features/);
    expect(result.stderr).toMatch(/relative/);
    expect(result.stderr).toMatch(/classic/);
  });
});
