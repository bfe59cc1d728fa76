import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existingTarget } from '@crypto-anomaly/data';
import { CoreError } from '../errors.js';
import type { EvaluationReport } from '../evaluation/api.js';
import { eventsCaughtRows } from '../evaluation/events-caught.js';
import { writeFileAtomic } from './atomic-write.js';
import {
  type ChartDetector,
  chartSubject,
  compileChart,
  detectorColor,
  type LabelBand,
  labelBandLayers,
  priceLine,
  type SplitBoundaries,
  scorePanel,
  spanOf,
  thresholdRange,
  timeEncoding,
  type VegaLiteSpec,
} from './charts.js';

/**
 * One self-contained HTML page of a run: a zoomable price chart with each detector's flags, the
 * score panels with their thresholds, a sortable table of the anomalies with their reasons, and
 * the run's summary. Vega (already the PNG charts' renderer) is inlined: the page works offline.
 */

/** One detector (or the consensus) in the report. */
export interface HtmlReportDetector extends ChartDetector {
  /** Per row, why it scored as it did (e.g. "volume_z 62%, range 20%"); empty when unknown. */
  reasons?: readonly string[];
}

export interface HtmlReportInput {
  symbol: string;
  /** `describe()` of the source: a sample market is titled as a sample. */
  source?: string;
  interval?: string;
  /** Open times (Unix ms) and close prices of the scored rows. */
  times: ArrayLike<number>;
  close: ArrayLike<number>;
  /** Split of each row (train, validation, test), shown in the table. */
  splits?: readonly string[];
  detectors: readonly HtmlReportDetector[];
  boundaries?: SplitBoundaries;
  /** Known anomalies, drawn as bands. */
  labels?: readonly LabelBand[];
  /** Where the bands come from (a labels file), named beside them. */
  labelsSource?: string;
  /** The run's summary.json, shown key by key (every value escaped). */
  summary?: unknown;
  /** Where the report's data came from, e.g. the run folder; shown under the title. */
  origin?: string;
  /** The run's evaluation (`evaluate`'s evaluation.json): its measures and events, as tables. */
  evaluation?: EvaluationReport;
}

/** The first bytes of every report: how a later `--html` knows a file is one it may replace. */
export const HTML_REPORT_SIGNATURE = '<!DOCTYPE html>\n<!-- crypto-anomaly html report -->\n';

/** Most rows in the anomalies table (highest scores relative to their threshold first). */
const MAX_TABLE_ROWS = 5000;

const PRICE_WIDTH = 1000;

/** Text safe inside HTML elements and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe inside a <script> element: no `</script>`, `<!--` or line separators can end it early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The interactive chart: the price line (drag to pan, wheel to zoom, double-click to reset), each
 * detector's flagged candles (a checkbox per detector), then one score panel per detector whose
 * time axis follows the price chart's zoom.
 */
export function interactiveSpec(input: HtmlReportInput): VegaLiteSpec {
  const { times, close, detectors } = input;
  const line = priceLine(times, close, PRICE_WIDTH);
  const linked = (x: Record<string, unknown>) => ({
    ...x,
    scale: { type: 'utc', domain: { param: 'zoom', encoding: 'x' } },
  });
  const x = timeEncoding(spanOf(times), PRICE_WIDTH);
  const bands = labelBandLayers(input.labels, x, (spanOf(times) / PRICE_WIDTH) * 2, 'label_bands', times);
  const price = {
    width: PRICE_WIDTH,
    height: 320,
    title: { text: 'close price and flagged candles', anchor: 'start', fontSize: 13 },
    layer: [
      ...bands,
      {
        ...line.layer,
        params: [{ name: 'zoom', select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }],
      },
      ...detectors.map((detector, index) => {
        const values: { time: number; when: string; close: number; score: number }[] = [];
        for (let i = 0; i < close.length; i++) {
          if (detector.flags[i] === 1)
            values.push({
              time: times[i]!,
              when: isoMinute(times[i]!),
              close: close[i]!,
              score: detector.scores[i]!,
            });
        }
        return {
          name: `price_flags_${index}`,
          data: { values },
          transform: [{ filter: `show_${index}` }],
          mark: {
            type: 'point',
            filled: true,
            size: 40 + 12 * (detectors.length - index),
            opacity: 0.85,
            color: detectorColor(detector.name),
          },
          encoding: {
            x,
            y: line.y,
            tooltip: [
              // Preformatted: a temporal tooltip would show the browser's time zone.
              { field: 'when', type: 'nominal', title: 'time (UTC)' },
              { field: 'close', type: 'quantitative', title: 'close' },
              { field: 'score', type: 'quantitative', title: `${detector.name} score`, format: '.4~g' },
            ],
          },
        };
      }),
    ],
  };
  const scorePanels = detectors.map((detector, index) => {
    const panel = scorePanel(times, detector, index, {
      width: PRICE_WIDTH,
      height: 120,
      ...(input.labels ? { labels: input.labels } : {}),
      ...(input.boundaries ? { boundaries: input.boundaries } : {}),
    });
    // Every layer's x follows the price chart's zoom.
    const layers = (panel['layer'] as Record<string, unknown>[]).map((layer) => {
      const encoding = layer['encoding'] as Record<string, Record<string, unknown>> | undefined;
      const x = encoding?.['x'];
      if (!encoding || x?.['type'] !== 'temporal') return layer;
      return { ...layer, encoding: { ...encoding, x: linked(x) } };
    });
    return { ...panel, layer: layers };
  });
  return {
    params: detectors.map((detector, index) => ({
      name: `show_${index}`,
      value: true,
      bind: { input: 'checkbox', name: ` ${detector.name} `, element: '#toggles' },
    })),
    vconcat: [price, ...scorePanels],
    config: { view: { stroke: '#ddd' } },
  } as unknown as VegaLiteSpec;
}

interface TableRow {
  time: number;
  detector: string;
  score: number;
  threshold: number;
  close: number;
  split: string;
  reasons: string;
}

function anomalyRows(input: HtmlReportInput): TableRow[] {
  const rows: TableRow[] = [];
  for (const detector of input.detectors) {
    for (let i = 0; i < input.times.length; i++) {
      if (detector.flags[i] !== 1) continue;
      rows.push({
        time: input.times[i]!,
        detector: detector.name,
        score: detector.scores[i]!,
        // The row's own threshold when it has one: its flag followed that one.
        threshold: detector.thresholds?.[i] ?? detector.threshold,
        close: input.close[i]!,
        split: input.splits?.[i] ?? '',
        reasons: detector.reasons?.[i] ?? '',
      });
    }
  }
  // Scores of different detectors are on different scales: rank by how far past the threshold.
  const excess = (row: TableRow) => (row.threshold !== 0 ? row.score / row.threshold : row.score);
  return rows.sort((a, b) => excess(b) - excess(a)).slice(0, MAX_TABLE_ROWS);
}

function isoMinute(time: number): string {
  return Number.isFinite(time) ? new Date(time).toISOString().slice(0, 16).replace('T', ' ') : '';
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '';
  return Math.abs(value) >= 1000 ? value.toFixed(2) : String(Number(value.toPrecision(5)));
}

function tableHtml(rows: readonly TableRow[], total: number): string {
  const head = [
    ['time (UTC)', 'number'],
    ['detector', 'text'],
    ['score', 'number'],
    ['threshold', 'number'],
    ['score / threshold', 'number'],
    ['close', 'number'],
    ['split', 'text'],
    ['reasons (top features, share of the score)', 'text'],
  ]
    .map(([name, kind]) => `<th data-kind="${kind}" tabindex="0" aria-sort="none">${escapeHtml(name!)}</th>`)
    .join('');
  const body = rows
    .map((row) => {
      const ratio = row.threshold !== 0 ? row.score / row.threshold : Number.NaN;
      const cells: [string, string | number][] = [
        [isoMinute(row.time), row.time],
        [row.detector, row.detector],
        [formatNumber(row.score), row.score],
        [formatNumber(row.threshold), row.threshold],
        [formatNumber(ratio), ratio],
        [formatNumber(row.close), row.close],
        [row.split, row.split],
        [row.reasons, row.reasons],
      ];
      const color = detectorColor(row.detector);
      return `<tr>${cells
        .map(
          ([shown, value], index) =>
            `<td data-value="${escapeHtml(String(value))}"${index === 1 ? ` style="color:${color}"` : ''}>${escapeHtml(shown)}</td>`,
        )
        .join('')}</tr>`;
    })
    .join('\n');
  const note =
    rows.length < total
      ? `<p>The ${rows.length} highest of ${total} flagged rows (by score / threshold).</p>`
      : '';
  return `${note}<table id="anomalies"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** summary.json as nested definition lists; every key and value escaped. */
function summaryHtml(value: unknown, depth = 0): string {
  if (Array.isArray(value)) {
    if (value.every((item) => !isRecord(item) && !Array.isArray(item))) {
      return escapeHtml(value.map((item) => String(item)).join(', '));
    }
    return `<ol>${value.map((item) => `<li>${summaryHtml(item, depth + 1)}</li>`).join('')}</ol>`;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value)
      .map(([key, item]) => `<dt>${escapeHtml(key)}</dt><dd>${summaryHtml(item, depth + 1)}</dd>`)
      .join('');
    return `<dl class="depth-${Math.min(depth, 3)}">${entries}</dl>`;
  }
  return escapeHtml(value === null ? '-' : String(value));
}

function factsHtml(input: HtmlReportInput, flaggedTotal: number): string {
  const summary = isRecord(input.summary) ? input.summary : {};
  const facts: [string, string][] = [
    ['symbol', input.symbol],
    ['interval', input.interval ?? ''],
    ['source', input.source ?? ''],
    ['rows scored', String(input.times.length)],
    [
      'range (UTC)',
      input.times.length > 0
        ? `${isoMinute(input.times[0]!)} to ${isoMinute(input.times[input.times.length - 1]!)}`
        : '',
    ],
    ['mode', typeof summary['mode'] === 'string' ? summary['mode'] : ''],
    ['run', typeof summary['runId'] === 'string' ? summary['runId'] : ''],
    ['flagged rows (all detectors)', String(flaggedTotal)],
  ];
  const detectors = input.detectors
    .map((detector) => {
      let flagged = 0;
      for (let i = 0; i < detector.flags.length; i++) if (detector.flags[i] === 1) flagged++;
      const range = thresholdRange(detector);
      const threshold = range
        ? `${formatNumber(range.low)} to ${formatNumber(range.high)} (per row)`
        : formatNumber(detector.threshold);
      return `<tr><td style="color:${detectorColor(detector.name)}">${escapeHtml(detector.name)}</td><td>${escapeHtml(threshold)}</td><td>${flagged}</td></tr>`;
    })
    .join('');
  return (
    `<table class="facts">${facts
      .filter(([, value]) => value !== '')
      .map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(value)}</td></tr>`)
      .join('')}</table>` +
    `<table class="facts"><thead><tr><th>detector</th><th>threshold</th><th>flagged</th></tr></thead><tbody>${detectors}</tbody></table>`
  );
}

/** A measure in [0, 1] with three decimals, a NAB score with one; '-' when undefined (null in the file). */
function fixed(value: number | null | undefined, decimals: number): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(decimals) : '-';
}

/** A tolerance in the largest unit that divides it: 1d, 6h, 30m, 90s (21d, not 504h 00m). */
export function formatTolerance(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

function plainTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  firstColored = false,
): string {
  const header = head.map((name) => `<th>${escapeHtml(name)}</th>`).join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells
          .map((cell, i) =>
            i === 0 && firstColored
              ? `<td style="color:${detectorColor(cell)}">${escapeHtml(cell)}</td>`
              : `<td>${escapeHtml(cell)}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('');
  return `<table class="facts"><thead><tr>${header}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The evaluation's measures per detector, and the events caught per label, as `evaluate` prints them. */
function evaluationHtml(evaluation: EvaluationReport): string {
  const labels = evaluation.labels;
  const about = labels
    ? `Against ${labels.events} events from ${labels.source}${labels.series ? ` [${labels.series}]` : ''} (${labels.labelledRows} labelled candles${labels.toleranceMs > 0 ? `, tolerance ±${formatTolerance(labels.toleranceMs)}` : ''}), ${evaluation.split === 'all' ? 'all rows' : `the ${evaluation.split} rows`}.`
    : `Without labels, ${evaluation.split === 'all' ? 'all rows' : `the ${evaluation.split} rows`}: the measures that need none.`;
  const percent = (value: number | null | undefined) =>
    typeof value === 'number' && Number.isFinite(value) ? `${Math.round(value * 100)}%` : '-';
  const measures = plainTable(
    [
      'detector',
      'flags',
      ...(labels ? ['ROC-AUC', 'PR-AUC', 'precision', 'recall', 'F1', 'event recall', 'NAB (flags)'] : []),
      'explained',
      'first 10%',
    ],
    evaluation.detectors.map((d) => [
      d.name,
      String(d.flags),
      ...(labels
        ? [
            fixed(d.labelled?.rocAuc, 3),
            fixed(d.labelled?.prAuc, 3),
            fixed(d.labelled?.precision, 3),
            fixed(d.labelled?.recall, 3),
            fixed(d.labelled?.f1, 3),
            fixed(d.labelled?.eventRecall, 3),
            fixed(d.nab?.standard.atThreshold.normalizedScore, 1),
          ]
        : []),
      percent(d.explainable.share),
      percent(d.spread.earlyShare),
    ]),
    true,
  );
  const caughtRows = eventsCaughtRows(evaluation);
  const caught =
    caughtRows.length > 0
      ? `<p class="hint">Events caught, and in brackets the median candles from an event's start to its first flag.</p>` +
        plainTable(
          ['label', 'events', ...evaluation.detectors.map((d) => d.name)],
          caughtRows.map((row) => [row.label, String(row.events), ...row.cells]),
        )
      : '';
  return `<p class="sub">${escapeHtml(about)}</p>${measures}${caught}`;
}

/** The vega runtime (its minified browser build, a dependency of core already) as script text. */
async function vegaRuntime(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('vega');
  const script = await readFile(join(dirname(entry), 'vega.min.js'), 'utf8');
  return script.replace(/<\/script/gi, '<\\/script');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1120px;padding:0 16px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 12px}.hint{color:#666;font-size:12px;margin:4px 0}
.error{color:#b00;font-weight:bold}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
table.facts{display:inline-table;margin:0 24px 8px 0}table.facts th{color:#555;font-weight:normal}
#anomalies th{cursor:pointer;user-select:none;background:#f6f6f6;position:sticky;top:0}
#anomalies th[aria-sort=ascending]::after{content:" ▲"}#anomalies th[aria-sort=descending]::after{content:" ▼"}
#anomalies td:nth-child(3),#anomalies td:nth-child(4),#anomalies td:nth-child(5),#anomalies td:nth-child(6){text-align:right;font-variant-numeric:tabular-nums}
.table-wrap{max-height:520px;overflow:auto;border:1px solid #ddd}
dl{margin:0 0 0 12px}dt{font-weight:bold;float:left;clear:left;margin-right:8px;color:#555}dd{margin:0 0 2px 0}
dl dl{clear:both;margin-left:16px}
.toggles{display:flex;gap:16px;margin:6px 0}.vega-bind-name{font-weight:bold}
`;

/** Draws the chart, makes the table sortable; errors are shown on the page (and in the console). */
const APP = `
(function () {
  var status = document.getElementById('status');
  function fail(error) {
    status.textContent = 'The charts could not be drawn: ' + (error && error.message ? error.message : error);
    status.className = 'error';
    console.error(error);
  }
  try {
    var spec = JSON.parse(document.getElementById('chart-spec').textContent);
    var view = new vega.View(vega.parse(spec), { renderer: 'svg', container: '#chart', hover: true, logLevel: vega.Warn });
    view.runAsync().then(function () {
      document.body.setAttribute('data-charts-drawn', 'true');
      // Milliseconds from navigation start to the charts drawn: the load time the README quotes.
      document.body.setAttribute('data-drawn-ms', String(Math.round(performance.now())));
      status.textContent = '';
    }, fail);
  } catch (error) { fail(error); }

  var table = document.getElementById('anomalies');
  if (!table) return;
  var headers = table.tHead.rows[0].cells;
  function sortBy(column) {
    var header = headers[column];
    var descending = header.getAttribute('aria-sort') !== 'descending';
    var numeric = header.getAttribute('data-kind') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column].getAttribute('data-value');
      var y = b.cells[column].getAttribute('data-value');
      var order = numeric ? (Number(x) || -Infinity) - (Number(y) || -Infinity) : x.localeCompare(y);
      return descending ? -order : order;
    });
    for (var i = 0; i < headers.length; i++) headers[i].setAttribute('aria-sort', 'none');
    header.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(headers, function (header, column) {
    header.addEventListener('click', function () { sortBy(column); });
    header.addEventListener('keydown', function (event) { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); sortBy(column); } });
  });
})();
`;

/** The report as one HTML document (no network: every script and style is inline). */
export async function htmlReport(input: HtmlReportInput): Promise<string> {
  if (input.times.length !== input.close.length) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `times (${input.times.length}) and close (${input.close.length}) must have one value per row.`,
    );
  }
  for (const detector of input.detectors) {
    if (detector.scores.length !== input.times.length || detector.flags.length !== input.times.length) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `detector ${detector.name} has ${detector.scores.length} scores and ${detector.flags.length} flags for ${input.times.length} rows: give one per row.`,
      );
    }
  }
  const [spec, runtime] = await Promise.all([compileChart(interactiveSpec(input)), vegaRuntime()]);
  const rows = anomalyRows(input);
  let total = 0;
  for (const detector of input.detectors) {
    for (let i = 0; i < detector.flags.length; i++) if (detector.flags[i] === 1) total++;
  }
  const subject = chartSubject(input.symbol, input.source);
  const title = `${subject}${input.interval ? ` ${input.interval}` : ''}: anomaly report`;
  return `${HTML_REPORT_SIGNATURE}<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="crypto-anomaly">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${input.origin ? `<p class="sub">${escapeHtml(input.origin)}</p>` : ''}
<h2>Run summary</h2>
${factsHtml(input, total)}
${input.evaluation ? `<h2>Evaluation</h2>\n${evaluationHtml(input.evaluation)}` : ''}
<h2>Price, flags and scores</h2>
<p class="hint">Drag the price chart to pan, scroll to zoom, double-click to reset; the score panels follow. The boxes show or hide each detector's flags. Dashed lines: thresholds${input.labels?.length ? `; orange bands: labelled anomalies${input.labelsSource ? ` from ${escapeHtml(input.labelsSource)}` : ''}` : ''}.</p>
<p id="status">Drawing the charts…</p>
<div id="toggles" class="toggles"></div>
<div id="chart"></div>
<h2>Anomalies (${total} flagged rows)</h2>
<p class="hint">Click a column header to sort by it.</p>
<div class="table-wrap">${tableHtml(rows, total)}</div>
${input.summary === undefined ? '' : `<h2>summary.json</h2><details><summary>every key</summary>${summaryHtml(input.summary)}</details>`}
<script type="application/json" id="chart-spec">${scriptJson(spec)}</script>
<script>${runtime}</script>
<script>${APP}</script>
</body>
</html>
`;
}

/**
 * Writes `htmlReport(input)` to `path` (atomically). An existing file is replaced only when it is
 * a report this function wrote (it starts with HTML_REPORT_SIGNATURE); anything else is refused
 * with `TARGET_NOT_OURS` before any work.
 */
export async function writeHtmlReport(path: string, input: HtmlReportInput): Promise<{ bytes: number }> {
  await assertHtmlReportTarget(path);
  const html = await htmlReport(input);
  await writeFileAtomic(path, html);
  return { bytes: Buffer.byteLength(html) };
}

/** Throws unless `path` is absent, empty, or a report `writeHtmlReport` wrote. */
export async function assertHtmlReportTarget(path: string): Promise<void> {
  const target = await existingTarget(path, Buffer.byteLength(HTML_REPORT_SIGNATURE));
  if (target.kind === 'folder') {
    throw new CoreError('INVALID_ARGUMENT', `${path} is a folder: name the HTML file to write.`);
  }
  if (target.kind === 'link') {
    throw new CoreError(
      'TARGET_NOT_OURS',
      `${path} is a symbolic link (to ${target.to}), and the report replaces its file whole, the link with it, ` +
        'so it was left as it is: name the file it points to, or another file (nothing was written).',
    );
  }
  if (target.kind === 'none' || target.head.toString('utf8') === HTML_REPORT_SIGNATURE) return;
  throw new CoreError(
    'TARGET_NOT_OURS',
    `${path} already exists and is not a report crypto-anomaly wrote, so it was left as it is: ` +
      'write the report to another file (nothing was written).',
  );
}
