import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRun } from '../src/evaluation/run-evaluation.js';
import {
  HTML_REPORT_SIGNATURE,
  type HtmlReportInput,
  htmlReport,
  writeHtmlReport,
} from '../src/outputs/html-report.js';

const HOUR = 3_600_000;

function input(symbol: string): HtmlReportInput {
  const n = 120;
  const times = Float64Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1) + i * HOUR);
  const close = Float64Array.from({ length: n }, (_, i) => 100 + Math.sin(i / 5));
  const scores = Float64Array.from({ length: n }, (_, i) => (i % 40 === 7 ? 0.9 : 0.4));
  return {
    symbol,
    interval: '1h',
    times,
    close,
    detectors: [
      {
        name: 'isolation-forest',
        scores,
        threshold: 0.7,
        flags: scores.map((s) => (s > 0.7 ? 1 : 0)),
        reasons: Array.from({ length: n }, () => 'volume_zscore 60%, <b>body</b> 20%'),
      },
    ],
    summary: { runId: 'r1', '</script><script>alert(1)</script>': '<img src=x onerror=alert(2)>' },
  };
}

describe('html report', () => {
  it('escapes every text it is given: a symbol, a reason or a summary key cannot inject markup', async () => {
    const html = await htmlReport(input('<script>alert(0)</script>'));
    expect(html.startsWith(HTML_REPORT_SIGNATURE)).toBe(true);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>body</b>');
    expect(html).toContain('&lt;script&gt;alert(0)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;body&lt;/b&gt; 20%');
    // Three scripts (the chart's spec, vega, the page's own) and nothing loaded from elsewhere.
    expect(html.match(/<script\b/g)).toHaveLength(3);
    // (a boolean: a failing match would print the whole page)
    expect(/<script[^>]+src=|<link\b|<iframe\b|@import/.test(html)).toBe(false);
    // One table row per flagged candle (3 of 120).
    expect(html.match(/<tr><td data-value/g)).toHaveLength(3);
  });

  it('shows each flagged row against its own threshold when the threshold moved row by row', async () => {
    const base = input('BTCUSDT');
    const detector = base.detectors[0]!;
    // DSPOT-like: the run started at 0.95, and the rows' own thresholds (which the flags followed) are 0.85 or 0.7.
    const thresholds = Float64Array.from(detector.scores, (_, i) => (i < 60 ? 0.85 : 0.7));
    const html = await htmlReport({ ...base, detectors: [{ ...detector, threshold: 0.95, thresholds }] });
    const cells = [...html.matchAll(/<tr><td data-value[^\n]*?<\/tr>/g)].map((m) => m[0]);
    expect(cells).toHaveLength(3);
    for (const row of cells) expect(row).toMatch(/data-value="0\.(85|7)"/);
    expect(html).not.toMatch(/data-value="0\.95"/);
    expect(html).toContain('0.7 to 0.85 (per row)');
    expect(html).toContain('threshold adapts 0.7-0.85');
  });

  it("shows the run's evaluation: the measures per detector and the events caught, escaped", async () => {
    const base = input('TEST');
    const forest = base.detectors[0]!;
    // Flags at rows 7, 47 and 87; events at rows 7-9 (caught at +0), 50 (missed) and 85-88 (+2).
    const at = (row: number) => Number(base.times[row]);
    const evaluation = evaluateRun(
      {
        symbol: 'TEST',
        intervalMs: HOUR,
        candles: Array.from(base.times, (openTime, i) => ({
          openTime,
          close: Number(base.close[i]),
          volume: 1,
        })),
        detectors: [forest],
      },
      {
        source: 'events.csv',
        events: [
          { start: at(7), end: at(9), label: '<b>crash</b>' },
          { start: at(50), end: at(50), label: '<b>crash</b>' },
          { start: at(85), end: at(88), label: 'spike' },
        ],
        toleranceMs: 0,
      },
    );
    const html = await htmlReport({ ...base, evaluation });
    const section = html.slice(html.indexOf('<h2>Evaluation</h2>'), html.indexOf('<h2>Price, flags'));
    expect(section).toContain('Against 3 events from events.csv (8 labelled candles), all rows.');
    const cells = (label: string) =>
      [...section.matchAll(/<tr>(.*?)<\/tr>/g)]
        .map((row) => [...row[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((cell) => cell[1]))
        .find((row) => row[0] === label);
    const measured = evaluation.detectors[0]!.labelled!;
    expect(cells('isolation-forest')).toEqual([
      'isolation-forest',
      '3',
      measured.rocAuc.toFixed(3),
      measured.prAuc.toFixed(3),
      measured.precision.toFixed(3),
      measured.recall.toFixed(3),
      measured.f1.toFixed(3),
      '0.667',
      evaluation.detectors[0]!.nab!.standard.atThreshold.normalizedScore.toFixed(1),
      expect.stringMatching(/^\d+%$/),
      expect.stringMatching(/^\d+%$/),
    ]);
    // A label is text, never markup; the crash group caught 1 of 2 at +0, the spike 1 at +2.
    expect(section).not.toContain('<b>crash</b>');
    expect(cells('&lt;b&gt;crash&lt;/b&gt;')).toEqual(['&lt;b&gt;crash&lt;/b&gt;', '2', '1 (+0)']);
    expect(cells('spike')).toEqual(['spike', '1', '1 (+2)']);
    expect(cells('all')).toEqual(['all', '3', '2 (+1)']);
    expect(await htmlReport(base)).not.toContain('<h2>Evaluation</h2>');
  });

  it('replaces a report it wrote, never another file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'html-report-'));
    const path = join(dir, 'report.html');
    await writeHtmlReport(path, input('TEST'));
    const { bytes } = await writeHtmlReport(path, input('TEST2'));
    expect(readFileSync(path, 'utf8')).toContain('TEST2 1h: anomaly report');
    expect(bytes).toBe(readFileSync(path).length);
    const foreign = join(dir, 'notes.html');
    writeFileSync(foreign, '<!DOCTYPE html>\n<p>my notes</p>\n');
    await expect(writeHtmlReport(foreign, input('TEST'))).rejects.toMatchObject({ code: 'TARGET_NOT_OURS' });
    expect(readFileSync(foreign, 'utf8')).toBe('<!DOCTYPE html>\n<p>my notes</p>\n');
  });
});
