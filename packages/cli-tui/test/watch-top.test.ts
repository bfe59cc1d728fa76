import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBinance } from '../../data/test/helpers/fake-binance.js';

/**
 * `watch --quote Q --top N` through the built binary against the REST stand-in's 24 h ticker on
 * 127.0.0.1: the N pairs quoted in Q with most quote volume are the ones watched (here: refused
 * for want of models, which names them in that order, before anything is opened); halted pairs,
 * leveraged tokens and other quotes are left out; a quote the ticker lists no pair in is refused.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;
let rest: FakeBinance;

/** Runs the binary without blocking the stand-in, which lives in this process. */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd: work });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-top-'));
  rest = await new FakeBinance()
    .serveTicker([
      { symbol: 'ETHUSDT', quoteVolume: '900000000.5' },
      { symbol: 'BTCUSDT', quoteVolume: '2500000000' },
      { symbol: 'BTCUPUSDT', quoteVolume: '3000000000' },
      { symbol: 'SOLUSDT', quoteVolume: '400000000' },
      { symbol: 'LUNAUSDT', quoteVolume: '800000000', count: 0 },
      { symbol: 'ETHBTC', quoteVolume: '5000000000' },
      { symbol: 'XRPUSDT', quoteVolume: '100000000' },
    ])
    .start();
});

afterAll(async () => {
  await rest?.close();
});

describe('crypto-anomaly watch --quote --top', () => {
  it("watches the pairs with most 24 h quote volume from the exchange's ticker", async () => {
    const result = await cli(
      'watch',
      '--quote',
      'USDT',
      '--top',
      '3',
      '--interval',
      '1h',
      '--model',
      'models',
      '--store',
      'top.duckdb',
      '--base-url',
      rest.url,
    );
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/no model for BTCUSDT, ETHUSDT, SOLUSDT 1h/);
    expect(rest.tickerRequests).toHaveLength(1);
    expect(existsSync(join(work, 'top.duckdb'))).toBe(false);
  });

  it('refuses a quote asset the ticker lists no pair in, naming --quote', async () => {
    const result = await cli(
      'watch',
      '--quote',
      'EUR',
      '--top',
      '3',
      '--model',
      'models',
      '--store',
      'none.duckdb',
      '--base-url',
      rest.url,
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--quote/);
    expect(result.stderr).toMatch(/no pair quoted in EUR/);
    expect(result.stdout).toBe('');
  });
});
