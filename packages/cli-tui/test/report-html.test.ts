import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { openPage, waitFor } from './helpers/chromium.js';

/**
 * `report DIR --html` opened in a real browser: Debian's chromium, headless, loads the file
 * written for a small real run (offline: a file:// URL, no server). Skipped, saying why, where
 * chromium is not installed (.ci/run installs it).
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((path) =>
  existsSync(path),
);
const skipReason = chromium
  ? undefined
  : 'SKIPPED: chromium is not installed (apt-get install chromium; .ci/run installs it): the browser test skips';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

/** Headless chromium on a file: the DOM once scripts ran, the console lines, or a screenshot. */
function browse(url: string, work: string, extra: string[]) {
  return spawnSync(
    chromium!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      `--user-data-dir=${mkdtempSync(join(work, 'profile-'))}`,
      '--enable-logging=stderr',
      '--v=0',
      // Virtual time: the page's scripts run to the end before the DOM or screenshot is taken.
      '--virtual-time-budget=20000',
      '--window-size=1200,1800',
      ...extra,
      url,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
}

/** Pixels of an 8-bit RGB or RGBA PNG (what chromium writes), decoded with zlib. */
function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const [depth, colorType] = [png[24], png[25]];
  if (depth !== 8 || (colorType !== 2 && colorType !== 6))
    throw new Error(`PNG ${depth}-bit type ${colorType}`);
  const channels = colorType === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x]!;
      const left = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const upLeft = y > 0 && x >= channels ? pixels[(y - 1) * stride + x - channels]! : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** Paths drawn in the SVG group of the vega mark named `name`. */
function markCount(dom: string, name: string): number {
  const group = new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*?(/>|>([\\s\\S]*?)</g>)`).exec(
    dom,
  );
  if (!group) return -1;
  return (group[2] ?? '').match(/<(path|line)\b/g)?.length ?? 0;
}

function flaggedRows(csv: string): number {
  const lines = csv.trim().split('\n');
  const flag = lines[0]!.split(',').indexOf('is_anomaly');
  return lines.slice(1).filter((line) => line.split(',')[flag] === '1').length;
}

describe('report --html in a real browser (headless chromium)', () => {
  let work = '';
  let out = '';

  beforeAll(() => {
    if (!chromium) return;
    work = mkdtempSync(join(tmpdir(), 'cli-report-html-'));
    const config = join(work, 'small.json');
    writeFileSync(config, JSON.stringify({ sample: { count: 900 }, pipeline: { attention: { epochs: 1 } } }));
    out = join(work, 'run');
    const run = cli('run', '--config', config, '--epochs', '2', '--no-tui', '--out', out);
    expect(run.status, run.stderr).toBe(0);
  }, 300_000);

  it.skipIf(!chromium)(
    skipReason ?? 'loads offline with no console output, draws every chart and every flag, and shows content',
    () => {
      const labels = join(work, 'labels.csv');
      const times = readFileSync(join(out, 'anomalies_consensus.csv'), 'utf8')
        .split('\n')[100]!
        .split(',')[0]!;
      writeFileSync(labels, `time\n${times}\n`);
      const report = cli('report', out, '--html', '--labels', labels);
      expect(report.status, report.stderr).toBe(0);
      const file = `${out}-report.html`;
      expect(report.stdout).toContain(`wrote ${file}`);
      const html = readFileSync(file, 'utf8');
      // Self-contained: nothing loaded from elsewhere.
      expect(/<script[^>]+src=|<link\b/.test(html)).toBe(false);
      // The bands say which file they come from.
      expect(html.includes(`orange bands: labelled anomalies from ${labels}`)).toBe(true);

      const dump = browse(pathToFileURL(file).href, work, ['--dump-dom']);
      expect(dump.status, dump.stderr).toBe(0);
      // The page logs nothing: no error, no warning, no uncaught exception.
      const console = dump.stderr.split('\n').filter((line) => line.includes(':CONSOLE'));
      expect(console).toEqual([]);
      const dom = dump.stdout;
      // (booleans: a failing match would print the whole page)
      expect(dom.includes('data-charts-drawn="true"')).toBe(true);
      expect(/<p id="status"[^>]*><\/p>/.test(dom), 'the status line still says something').toBe(true);
      expect(markCount(dom, 'price_line')).toBe(1);
      expect(markCount(dom, 'label_bands')).toBeGreaterThanOrEqual(1);
      const files = [
        'anomalies_isolation_forest.csv',
        'anomalies_autoencoder.csv',
        'anomalies_attention.csv',
        'anomalies_consensus.csv',
      ];
      let total = 0;
      files.forEach((name, index) => {
        const flagged = flaggedRows(readFileSync(join(out, name), 'utf8'));
        total += flagged;
        // A point per flagged candle on the price chart and on its score panel; one threshold rule.
        expect(markCount(dom, `price_flags_${index}`), name).toBe(flagged);
        expect(markCount(dom, `flags_${index}`), name).toBe(flagged);
        expect(markCount(dom, `scores_${index}`), name).toBe(1);
        expect(markCount(dom, `threshold_${index}`), name).toBe(1);
      });
      expect(total).toBeGreaterThan(0);
      // The table: a row per flagged candle, sortable headers; a checkbox per detector.
      expect(dom.match(/<tr><td data-value/g)?.length).toBe(total);
      expect(dom.match(/<th data-kind/g)?.length).toBe(8);
      expect(dom.match(/type="checkbox"/g)?.length).toBe(4);

      const shot = join(work, 'shot.png');
      const screenshot = browse(pathToFileURL(file).href, work, [`--screenshot=${shot}`]);
      expect(screenshot.status, screenshot.stderr).toBe(0);
      const { width, height, channels, pixels } = decodePng(readFileSync(shot));
      expect([width, height]).toEqual([1200, 1800]);
      let ink = 0;
      let consensusGreen = 0;
      for (let i = 0; i < pixels.length; i += channels) {
        const [r, g, b] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
        if (r < 200 || g < 200 || b < 200) ink++;
        // The consensus colour (#2ca02c): its score line and flags are on screen.
        if (Math.abs(r - 0x2c) < 40 && Math.abs(g - 0xa0) < 40 && Math.abs(b - 0x2c) < 40) consensusGreen++;
      }
      // Not a blank page: text, axes and lines cover a few percent of it.
      expect(ink / (width * height)).toBeGreaterThan(0.02);
      expect(consensusGreen).toBeGreaterThan(50);
    },
    300_000,
  );

  it.skipIf(!chromium)(
    skipReason ?? 'zooms with the wheel (score panels follow), hides a detector, sorts the table',
    async () => {
      const file = join(work, 'interactive.html');
      expect(cli('report', out, '--html', '--out', file).status).toBe(0);
      const page = await openPage(pathToFileURL(file).href);
      try {
        await waitFor(page, "document.body.getAttribute('data-charts-drawn') === 'true'");
        const paths = () =>
          page.evaluate<string[]>(
            "['price_line_marks', 'scores_0_marks', 'scores_3_marks'].map((name) => document.querySelector('.' + name + ' path').getAttribute('d'))",
          );
        const before = await paths();
        const box = await page.evaluate<{ x: number; y: number }>(
          "(() => { const r = document.querySelector('.price_line_marks').getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()",
        );
        await page.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: box.x, y: box.y });
        await page.send('Input.dispatchMouseEvent', {
          type: 'mouseWheel',
          x: box.x,
          y: box.y,
          deltaX: 0,
          deltaY: -600,
        });
        await waitFor(
          page,
          `document.querySelector('.price_line_marks path').getAttribute('d') !== ${JSON.stringify(before[0])}`,
        );
        const after = await paths();
        // Zoomed in: the price line and every score panel are redrawn over a shorter span.
        for (const [i, d] of after.entries()) expect(d, `panel ${i}`).not.toBe(before[i]);

        const flags = (name: string) => `document.querySelectorAll('.${name}_marks path').length`;
        const consensusFlags = await page.evaluate<number>(flags('price_flags_3'));
        expect(await page.evaluate<number>(flags('price_flags_0'))).toBeGreaterThan(0);
        await page.evaluate("document.querySelector('#toggles input[type=checkbox]').click()");
        await waitFor(page, `${flags('price_flags_0')} === 0`);
        expect(await page.evaluate<number>(flags('price_flags_3'))).toBe(consensusFlags);

        // Sorting: the first click on a header sorts descending, the second ascending.
        const column = (index: number) =>
          page.evaluate<number[]>(
            `[...document.querySelectorAll('#anomalies tbody tr')].map((row) => Number(row.cells[${index}].getAttribute('data-value')))`,
          );
        await page.evaluate("document.querySelectorAll('#anomalies th')[0].click()");
        const times = await column(0);
        expect(times).toEqual([...times].sort((a, b) => b - a));
        await page.evaluate("document.querySelectorAll('#anomalies th')[0].click()");
        const ascending = await column(0);
        expect(ascending).toEqual([...times].reverse());
        expect(
          await page.evaluate<string>(
            "document.querySelectorAll('#anomalies th')[0].getAttribute('aria-sort')",
          ),
        ).toBe('ascending');
      } finally {
        await page.close();
      }
    },
    120_000,
  );

  it.skipIf(!chromium)(skipReason ?? 'never replaces a file it did not write; replaces its own', () => {
    const foreign = join(work, 'mine.html');
    writeFileSync(foreign, '<p>my notes</p>\n');
    const refused = cli('report', out, '--html', '--out', foreign);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/is not a report crypto-anomaly wrote/);
    expect(readFileSync(foreign, 'utf8')).toBe('<p>my notes</p>\n');
    const own = join(work, 'own.html');
    expect(cli('report', out, '--html', '--out', own).status).toBe(0);
    const first = statSync(own).size;
    expect(cli('report', out, '--html', '--out', own).status).toBe(0);
    expect(statSync(own).size).toBe(first);
    const usage = cli('report', out, '--out', own);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--out only goes with --html/);
  });
});
