import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseThreshold, parseWindowSize } from '../src/commands/pipeline-options.js';

/** `run --threshold`, `--walk-forward`, `--train-window`, `--step` through the built binary (plain logger). */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;
let smallConfig: string;

function cli(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 300_000 });
}

function csvRows(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const names = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [names[i]!, cell])));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cli-walk-forward-'));
  smallConfig = join(work, 'small.json');
  writeFileSync(
    smallConfig,
    JSON.stringify({
      sample: { count: 900 },
      pipeline: {
        isolationForest: { nEstimators: 30 },
        attention: { epochs: 1, windowSize: 6, modelDim: 8, heads: 2, feedForwardDim: 8, latentDim: 4 },
      },
    }),
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('parsing the flags', () => {
  it('reads --threshold kinds and refuses anything else with the choices', () => {
    expect(parseThreshold('contamination:0.02')).toEqual({ kind: 'contamination', contamination: 0.02 });
    expect(parseThreshold('spot')).toEqual({ kind: 'spot' });
    expect(parseThreshold('dspot:0.005')).toEqual({ kind: 'dspot', risk: 0.005 });
    expect(parseThreshold('pot')).toMatchObject({ kind: 'pot' });
    for (const bad of [
      'contamination',
      'contamination:0.7',
      'spot:1',
      'spot:x',
      'dspot:0.01:3',
      'median',
      '',
    ]) {
      expect(() => parseThreshold(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('reads window sizes as candles or durations', () => {
    expect(parseWindowSize('500')).toBe(500);
    expect(parseWindowSize('2y')).toBe('2y');
    expect(parseWindowSize('3mo')).toBe('3mo');
    for (const bad of ['0', '-5', '2 years', '3q', 'y', '0d']) {
      expect(() => parseWindowSize(bad)).toThrow(InvalidArgumentError);
    }
  });
});

describe('crypto-anomaly run: usage errors (exit 2, nothing written)', () => {
  it('names the flag and what it accepts', () => {
    const out = join(work, 'refused');
    for (const [args, flag, text] of [
      [['--threshold', 'median'], '--threshold', /contamination:C .* spot\[:RISK\] or dspot\[:RISK\]/],
      [['--train-window', '2y'], '--train-window', /only applies with --walk-forward/],
      [['--step', '90d'], '--step', /only applies with --walk-forward/],
      [['--walk-forward', '--train-window', '2 years'], '--train-window', /a duration: a number and y, mo/],
    ] as const) {
      const result = cli('run', ...args, '--out', out, '--no-charts');
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(flag);
      expect(result.stderr).toMatch(text);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a window longer than the history is refused by the engine before training (exit 1)', () => {
    const out = join(work, 'too-long');
    const result = cli(
      'run',
      '--config',
      smallConfig,
      '--walk-forward',
      '--train-window',
      '5000',
      '--out',
      out,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/walk-forward window of 5000 candles over \d+ feature rows/);
    expect(result.stdout).not.toMatch(/stage isolation-forest/);
  });
});

describe('crypto-anomaly run --walk-forward --threshold dspot', () => {
  let result: ReturnType<typeof cli>;
  let out: string;
  beforeAll(() => {
    out = join(work, 'walk-forward');
    result = cli(
      'run',
      '--config',
      smallConfig,
      '--epochs',
      '1',
      '--walk-forward',
      '--train-window',
      '300',
      '--step',
      '12d',
      '--threshold',
      'dspot',
      '--no-charts',
      '--out',
      out,
    );
  });

  it('exits 0 and logs each fold as it fits and when it is done', () => {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(/^info: walk-forward: 2 folds, each fitted on the 300 candles/),
    );
    expect(lines.filter((l) => /^info: walk-forward fold [12]\/2: fitting on \d{4}-/.test(l))).toHaveLength(
      2,
    );
    expect(lines.filter((l) => /^info: walk-forward fold [12]\/2 done in /.test(l))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('stage attention done'))).toHaveLength(2);
  });

  it('writes the usual files over the rows after the first window, with the folds in summary.json', () => {
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.walkForward).toMatchObject({ trainWindow: 300, step: 288, unscoredRows: 300 });
    expect(summary.walkForward.folds.map((f: { scored: { rows: number } }) => f.scored.rows)).toEqual([
      288,
      summary.rows.scored - 288,
    ]);
    // The detectors adapt (DSPOT); the consensus holds where DSPOT starts, as watch holds it.
    expect(summary.detectors['isolation-forest'].threshold.method).toEqual({ kind: 'dspot' });
    expect(summary.detectors.consensus.threshold.method).toMatchObject({ kind: 'fixed' });
    expect(summary.detectors.consensus.threshold.description).toMatch(
      /^DSPOT: starts at .*; held for the consensus/,
    );
    const rows = csvRows(join(out, 'anomalies_consensus.csv'));
    expect(rows).toHaveLength(summary.rows.scored);
    expect(new Set(rows.map((r) => r['split']))).toEqual(new Set(['test']));
    for (const row of rows) {
      expect(row['is_anomaly']).toBe(Number(row['score']) > Number(row['threshold']) ? '1' : '0');
    }
    expect(summary.detectors.consensus.flagged.total).toBe(
      rows.filter((r) => r['is_anomaly'] === '1').length,
    );
    expect(existsSync(join(out, 'model', 'pipeline.json'))).toBe(true);
  });
});
