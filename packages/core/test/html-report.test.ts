import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
