import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, main } from '../src/index.js';
import { summaryLines } from '../src/report.js';
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
