import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, main } from '../src/index.js';
import { runReportLines, setProblem, summaryLines } from '../src/report.js';
import { captureContext } from './capture.js';

const summary = {
  symbol: 'BTCUSDT',
  interval: '1h',
  rows: 5000,
  startTime: Date.UTC(2024, 0, 1),
  backend: { name: 'wasm', description: 'tfjs-backend-wasm' },
  detectors: [
    { name: 'isolation-forest', threshold: 0.61234, flagged: 50 },
    { name: 'autoencoder', threshold: 1.5, flagged: 48 },
  ],
  features: ['log_return', 'volatility'],
  empty: [],
};

describe('summaryLines', () => {
  it('prints scalars, sections, lists and tables of records', () => {
    expect(summaryLines(summary, 80)).toEqual([
      'symbol: BTCUSDT',
      'interval: 1h',
      'rows: 5000',
      'startTime: 2024-01-01 00:00 UTC',
      'backend:',
      '  name: wasm',
      '  description: tfjs-backend-wasm',
      'detectors:',
      '  name              threshold  flagged',
      '  isolation-forest  0.6123     50',
      '  autoencoder       1.5        48',
      'features: log_return, volatility',
      'empty: (none)',
    ]);
  });

  it('cuts nothing without a width (report --full: every value whole)', () => {
    const long = {
      backend: { description: `tfjs-backend-wasm, single-threaded ${'x'.repeat(120)}` },
      detectors: [{ name: 'isolation-forest', note: `a sentence ${'y'.repeat(100)}` }],
    };
    const lines = summaryLines(long, Number.POSITIVE_INFINITY);
    expect(lines.join('\n')).not.toContain('…');
    expect(lines).toContain(`  description: ${long.backend.description}`);
    expect(lines.some((line) => line.includes(long.detectors[0]!.note))).toBe(true);
    expect(summaryLines(long, 80).join('\n')).toContain('…');
  });
});

describe('runReportLines', () => {
  const run = {
    mode: 'run',
    symbol: 'BTCUSDT',
    interval: '1h',
    source: 'bundled sample market',
    createdAt: '2026-11-24T06:09:17.303Z',
    backend: { name: 'wasm', description: 'tfjs-backend-wasm' },
    rows: { candles: 5000, warmupDropped: 24, scored: 4976, train: 3483, validation: 746, test: 747 },
    range: { from: '2024-01-02T00:00:00.000Z', to: '2024-07-27T07:00:00.000Z' },
    detectors: {
      'isolation-forest': {
        threshold: { value: 0.641 },
        flagged: { total: 40, train: 35, validation: 2, test: 3 },
      },
      autoencoder: {
        threshold: { value: 8.259 },
        flagged: { total: 42, train: 35, validation: 2, test: 5 },
        training: { epochsRun: 10, bestEpoch: 4, bestValLoss: 0.7975, stoppedEarly: true },
      },
    },
    agreement: { pairs: { 'isolation-forest / autoencoder': { jaccard: 0.64, spearman: 0.9592 } } },
    timings: { load: 156, autoencoder: 1096, total: 40793 },
    files: { summary: '/out/summary.json' },
  };

  it('prints what ran, rows, a table of detectors, agreement, timings and files', () => {
    expect(runReportLines(run, 100)).toEqual([
      'run of BTCUSDT 1h, 2026-11-24 06:09 UTC',
      'source:  bundled sample market',
      'backend: wasm',
      'rows:    5000 candles, 24 warm-up dropped, 4976 scored (train 3483, validation 746, test 747)',
      'range:   2024-01-02 00:00 to 2024-07-27 07:00 UTC',
      '',
      'detector          threshold  flagged  train  val  test  training',
      'isolation-forest  0.641      40       35     2    3',
      'autoencoder       8.259      42       35     2    5     10 epochs (best 4, early stop), val 0.797',
      '',
      'agreement (Jaccard of flagged rows, Spearman of scores):',
      '  isolation-forest / autoencoder      0.64   0.959',
      '',
      'timings: load 156ms, autoencoder 1.1s, total 41s',
      '',
      'files:',
      '  summary           /out/summary.json',
    ]);
  });

  it('shows a threshold that moved row by row as its range, not its starting value', () => {
    const adaptive = {
      ...run,
      detectors: {
        consensus: {
          threshold: { value: 0.9918 },
          rowThresholds: { min: 0.858, max: 1.178, last: 0.882 },
          flagged: { total: 54, train: 18, validation: 23, test: 13 },
        },
      },
    };
    const lines = runReportLines(adaptive, 100) ?? [];
    expect(lines.find((line) => line.startsWith('consensus'))).toMatch(
      /^consensus\s+0\.858-1\.178 per row\s+54/,
    );
    expect(lines.join('\n')).not.toContain('0.9918');
  });

  it('leaves other shapes to the full listing', () => {
    expect(runReportLines({ rows: 3 })).toBeUndefined();
    expect(runReportLines([1, 2])).toBeUndefined();
  });
});

describe('crypto-anomaly report', () => {
  it("prints a run's summary.json and exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-report-'));
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
    const io = captureContext();
    expect(await main(['report', dir], io.context)).toBe(ExitCode.success);
    expect(io.stdout()).toMatch(/^Summary of .*summary\.json\nsymbol: BTCUSDT/);
    const json = captureContext();
    expect(await main(['report', dir, '--json'], json.context)).toBe(ExitCode.success);
    expect(JSON.parse(json.stdout())).toEqual(summary);
  });

  it('fails with a cause and a hint (exit 1) when there is no summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-report-'));
    const io = captureContext();
    expect(await main(['report', dir], io.context)).toBe(ExitCode.runtimeFailure);
    expect(io.err).toHaveLength(2);
    expect(io.err[0]).toMatch(/^error: no readable summary\.json in .* \(ENOENT\)$/);
    expect(io.err[1]).toMatch(/^hint: give the --out folder of a finished run/);
    mkdirSync(join(dir, 'broken'));
    writeFileSync(join(dir, 'broken', 'summary.json'), '{"rows": ');
    const broken = captureContext();
    expect(await main(['report', join(dir, 'broken'), '--verbose'], broken.context)).toBe(
      ExitCode.runtimeFailure,
    );
    expect(broken.err[0]).toMatch(/is not valid JSON/);
    expect(broken.stderr()).toMatch(/SyntaxError/); // the stack, only with --verbose
  });

  it('exits 2 naming the missing argument and showing the usage line', async () => {
    const io = captureContext();
    expect(await main(['report'], io.context)).toBe(ExitCode.usageError);
    expect(io.stderr()).toMatch(/missing required argument 'dir'/);
    expect(io.stderr()).toMatch(/usage: crypto-anomaly report \[options\] <dir>/);
  });
});

describe('setProblem: is a folder one run?', () => {
  const marker = {
    format: 'crypto-anomaly-folder' as const,
    kind: 'outputs' as const,
    runId: 'r2',
    createdAt: '2026-12-01T00:00:00.000Z',
    files: ['a.csv', 'summary.json'],
    partial: false,
    writer: { pid: 1, host: 'h' },
  };
  const all = () => true;

  it('accepts a summary of the marker’s run with every listed file, and an unmarked older folder', () => {
    expect(setProblem({ runId: 'r2' }, marker, all)).toBeUndefined();
    expect(setProblem({ symbol: 'BTCUSDT' }, undefined, all)).toBeUndefined();
  });

  it('names a summary from another run, a missing file, a missing marker, a model folder', () => {
    expect(setProblem({ runId: 'r1' }, marker, all)).toBe(
      "summary.json is from run r1 but the folder's files are from run r2",
    );
    expect(setProblem({ runId: 'r2' }, marker, (file) => file !== 'a.csv')).toBe(
      'the set of run r2 is incomplete: a.csv is missing',
    );
    expect(setProblem({ runId: 'r2' }, undefined, all)).toMatch(/has no \.crypto-anomaly\.json/);
    expect(setProblem({ runId: 'r2' }, { ...marker, kind: 'model' }, all)).toMatch(/saved model/);
  });

  it('report refuses a mixed folder (exit 1) and says a run is partial', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-report-'));
    const summary = { runId: 'r2', mode: 'run', symbol: 'BTCUSDT', interval: '1h', detectors: {} };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ ...summary, runId: 'r1' }));
    writeFileSync(join(dir, 'a.csv'), '');
    writeFileSync(join(dir, '.crypto-anomaly.json'), JSON.stringify(marker));
    const mixed = captureContext();
    expect(await main(['report', dir], mixed.context)).toBe(ExitCode.runtimeFailure);
    expect(mixed.err[0]).toMatch(/is not one complete run: summary\.json is from run r1/);
    writeFileSync(
      join(dir, 'summary.json'),
      JSON.stringify({ ...summary, partial: true, missingDetectors: ['attention'] }),
    );
    const partial = captureContext();
    expect(await main(['report', dir], partial.context)).toBe(ExitCode.success);
    expect(partial.stdout()).toMatch(/partial run: stopped before attention finished/);
  });
});
