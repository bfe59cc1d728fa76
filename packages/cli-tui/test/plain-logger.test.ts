import { describe, expect, it } from 'vitest';
import { earlyStopText } from '../src/format.js';
import { describeEvent, PlainLogger } from '../src/plain-logger.js';
import { anomalyRow, epochEvent } from './fixtures.js';

function collect(options: ConstructorParameters<typeof PlainLogger>[1] = {}) {
  const lines: string[] = [];
  return { lines, logger: new PlainLogger((line) => lines.push(line), options) };
}

describe('PlainLogger', () => {
  it('writes one plain line per stage (when it ends) and per epoch, none per batch', () => {
    const { lines, logger } = collect();
    logger.event({ type: 'source', description: 'bundled sample market' });
    logger.event({ type: 'stage', stage: 'autoencoder', status: 'start' });
    logger.event({ type: 'batch', detector: 'autoencoder', epoch: 1, batch: 1, batches: 9, loss: 1 });
    logger.event(epochEvent(1, { loss: 0.123456, valLoss: 0.2 }));
    logger.event(epochEvent(2, { loss: 0.1, valLoss: 0.15 }));
    logger.event({ type: 'early-stop', detector: 'autoencoder', epoch: 2, bestEpoch: 1 });
    logger.event({
      type: 'stage',
      stage: 'autoencoder',
      status: 'done',
      elapsedMs: 3200,
      message: 'threshold 0.5',
    });
    expect(lines).toEqual([
      'source: bundled sample market',
      'autoencoder epoch 1/20: loss 0.1235, val loss 0.2, best 0.2, 12.3k samples/s, ETA 9.5s, patience 5',
      'autoencoder epoch 2/20: loss 0.1, val loss 0.15, best 0.15, 12.3k samples/s, ETA 9.0s, patience 5',
      'autoencoder early stop at epoch 2 (best epoch 1)',
      'stage autoencoder done in 3.2s: threshold 0.5',
    ]);
  });

  it('keeps what a stage said at its start for its one line', () => {
    const { lines, logger } = collect();
    logger.event({
      type: 'stage',
      stage: 'attention',
      status: 'start',
      message: 'scoring with the saved model',
    });
    logger.event({ type: 'stage', stage: 'attention', status: 'done', elapsedMs: 500 });
    logger.event({ type: 'stage', stage: 'charts', status: 'skipped', message: 'charts disabled' });
    expect(lines).toEqual([
      'stage attention done in 500ms: scoring with the saved model',
      'stage charts skipped: charts disabled',
    ]);
  });

  it('logs the forest once, when all trees are built', () => {
    expect(describeEvent({ type: 'isolation-forest-progress', treesBuilt: 10, trees: 100 })).toBeUndefined();
    expect(describeEvent({ type: 'isolation-forest-progress', treesBuilt: 100, trees: 100 })).toBe(
      'isolation-forest: 100 trees built',
    );
    expect(describeEvent({ type: 'log', level: 'warn', message: 'x' })).toBe('warn: x');
  });

  it('never writes ANSI codes, carriage returns or other control characters', () => {
    const { lines, logger } = collect();
    logger.event({ type: 'log', level: 'info', message: '\u001b[31mred\u001b[39m\rover\u0007' });
    expect(lines).toEqual(['info: red over ']);
  });

  it('throttles fetch progress but always logs every wait and the end', () => {
    let now = 0;
    const { lines, logger } = collect({ now: () => now, fetchLineIntervalMs: 1000 });
    logger.fetchStarted(4000);
    logger.fetchProgress({ pages: 1, rows: 1000, rowsPerSecond: 500, etaMs: 6000 });
    now = 500;
    logger.fetchProgress({ pages: 2, rows: 2000, rowsPerSecond: 500, etaMs: 4000 });
    logger.fetchProgress({
      pages: 2,
      rows: 2000,
      rowsPerSecond: 0,
      waitingMs: 30_000,
      waitReason: 'rate limit (HTTP 429)',
    });
    logger.fetchProgress({
      pages: 2,
      rows: 2000,
      rowsPerSecond: 0,
      waitingMs: 29_000,
      waitReason: 'rate limit (HTTP 429)',
    });
    now = 2000;
    logger.fetchProgress({ pages: 3, rows: 3000, rowsPerSecond: 400, etaMs: 2500 });
    logger.fetchDone();
    expect(lines).toEqual([
      'fetch: started, about 4,000 rows to download',
      'fetch: 1 pages, 1,000 rows (25%), 500 rows/s, ETA 6.0s',
      'fetch: waiting 30s (rate limit (HTTP 429))',
      'fetch: waiting 29s (rate limit (HTTP 429))',
      'fetch: 3 pages, 3,000 rows (75%), 400 rows/s, ETA 2.5s',
      'fetch: done, 3 pages, 3,000 rows (75%), 400 rows/s',
    ]);
  });

  it('ends with the same final summary as the dashboard: table, files, time', () => {
    const { lines, logger } = collect({ width: 90 });
    logger.summary({
      outDir: '/out',
      files: { anomalies: '/out/anomalies.csv', summary: '/out/summary.json' },
      topAnomalies: { consensus: [anomalyRow(Date.UTC(2024, 0, 5, 7), 0.97)] },
      elapsedMs: 59_500,
    });
    const text = lines.join('\n');
    expect(text).toMatch(/Top anomalies/);
    expect(text).toMatch(/consensus \(threshold 0\.6\)/);
    expect(text).toMatch(/ {2}2024-01-05 07:00 +43210\.5 +0\.97\* +test +log_return, volume_z/);
    expect(text).toMatch(/Files in \/out\n {2}anomalies\.csv\n {2}summary\.json/);
    expect(lines.at(-1)).toBe('Finished in 60s.');
    for (const line of lines) expect(line.includes('\u001b') || line.includes('\r')).toBe(false);
  });
});

describe('early stop wording', () => {
  it('says a stop at the best epoch was a plateau, not a contradiction', () => {
    expect(earlyStopText(137, 137)).toBe(
      'early stop at epoch 137 on a plateau (still improving, by less than the minimum)',
    );
    expect(earlyStopText(10, 4)).toBe('early stop at epoch 10 (best epoch 4)');
  });
});
