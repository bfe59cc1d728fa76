import type { FolderMarker } from '@crypto-anomaly/core';
import { fit, formatDuration, formatNumber, formatTime, truncate } from './format.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: Json): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: Json) => value === null || typeof value !== 'object';

/** Times in summaries are Unix ms; shown as dates where the key says so. */
function looksLikeTime(key: string, value: number): boolean {
  return (
    /(time|At|start|end|since|until)$/i.test(key) && value > 1e11 && value < 1e14 && Number.isInteger(value)
  );
}

function scalarText(key: string, value: Json): string {
  if (value === null) return '-';
  if (typeof value === 'number') {
    if (looksLikeTime(key, value)) return `${formatTime(value)} UTC`;
    return Number.isInteger(value) ? String(value) : formatNumber(value, 4);
  }
  return String(value);
}

function tableLines(rows: { [key: string]: Json }[], indent: string, width: number): string[] {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row).filter((key) => isScalar(row[key]!))))];
  const cells = rows.map((row) =>
    columns.map((column) => (column in row ? scalarText(column, row[column]!) : '')),
  );
  // The last column is often a sentence: it gets more room than the others. Without a width (the
  // whole summary asked for), no cell is cut.
  const widths = columns.map((column, index) =>
    Math.min(
      Number.isFinite(width) ? (index === columns.length - 1 ? 60 : 24) : Number.POSITIVE_INFINITY,
      Math.max(column.length, ...cells.map((row) => row[index]!.length)),
    ),
  );
  const line = (values: string[]) =>
    truncate((indent + values.map((value, index) => fit(value, widths[index]!)).join('  ')).trimEnd(), width);
  return [line(columns), ...cells.map(line)];
}

/**
 * A run's summary.json as readable text: scalars as `key: value`, nested objects as indented
 * sections, lists of records as aligned tables, times as UTC dates.
 */
export function summaryLines(summary: Json, width = 100, indent = ''): string[] {
  if (!isObject(summary)) return [truncate(indent + JSON.stringify(summary), width)];
  const lines: string[] = [];
  for (const [key, value] of Object.entries(summary)) {
    if (isScalar(value)) {
      lines.push(truncate(`${indent}${key}: ${scalarText(key, value)}`, width));
    } else if (Array.isArray(value)) {
      if (value.length === 0) lines.push(`${indent}${key}: (none)`);
      else if (value.every(isScalar)) {
        lines.push(
          truncate(`${indent}${key}: ${value.map((item) => scalarText(key, item)).join(', ')}`, width),
        );
      } else if (value.every(isObject)) {
        lines.push(`${indent}${key}:`);
        lines.push(...tableLines(value, `${indent}  `, width));
      } else {
        lines.push(truncate(`${indent}${key}: ${JSON.stringify(value)}`, width));
      }
    } else {
      lines.push(`${indent}${key}:`);
      lines.push(...summaryLines(value, width, `${indent}  `));
    }
  }
  return lines;
}

type Record_ = { [key: string]: Json };
const get = (value: Json | undefined, ...path: string[]): Json | undefined => {
  let current = value;
  for (const key of path) current = current !== undefined && isObject(current) ? current[key] : undefined;
  return current;
};
const num = (value: Json | undefined): number | undefined => (typeof value === 'number' ? value : undefined);
const text = (value: Json | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The summary.json of a run, train or detect as a short report: what ran on what, rows, each
 * detector's threshold, flags and training, their agreement, stage timings and files. Undefined
 * when the file does not have that shape (then `summaryLines` prints it whole).
 */
export function runReportLines(summary: Json, width = 100): string[] | undefined {
  if (
    !isObject(summary) ||
    !isObject(summary['detectors'] ?? null) ||
    typeof summary['symbol'] !== 'string'
  ) {
    return undefined;
  }
  const lines: string[] = [];
  const push = (line: string) => lines.push(truncate(line, width));
  const created = text(summary['createdAt']);
  push(
    `${text(summary['mode']) ?? 'run'} of ${summary['symbol']} ${text(summary['interval']) ?? ''}` +
      (created ? `, ${created.slice(0, 16).replace('T', ' ')} UTC` : ''),
  );
  if (summary['partial'] === true) {
    const missing = Array.isArray(summary['missingDetectors']) ? summary['missingDetectors'].map(String) : [];
    push(
      `partial run: stopped${missing.length > 0 ? ` before ${missing.join(', ')} finished` : ' early'}` +
        ' (no charts); run again to complete it',
    );
  }
  if (text(summary['source'])) push(`source:  ${summary['source']}`);
  const backend = text(get(summary, 'backend', 'name'));
  if (backend) push(`backend: ${backend}`);
  const rows = get(summary, 'rows');
  if (rows && isObject(rows)) {
    const parts = ['train', 'validation', 'test']
      .filter((split) => num(rows[split]) !== undefined)
      .map((split) => `${split} ${rows[split]}`);
    push(
      `rows:    ${num(rows['candles']) ?? '?'} candles, ${num(rows['warmupDropped']) ?? 0} warm-up dropped, ` +
        `${num(rows['scored']) ?? '?'} scored${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`,
    );
  }
  const from = text(get(summary, 'range', 'from'));
  const to = text(get(summary, 'range', 'to'));
  if (from && to)
    push(`range:   ${from.slice(0, 16).replace('T', ' ')} to ${to.slice(0, 16).replace('T', ' ')} UTC`);

  const detectors = summary['detectors'] as Record_;
  const table: { [key: string]: Json }[] = Object.entries(detectors).map(([name, value]) => {
    const training = get(value, 'training');
    const epochs = num(get(training, 'epochsRun'));
    return {
      detector: name,
      // A threshold that moved row by row (SPOT/DSPOT, walk-forward) as its range: the flags
      // followed it, not the one starting value.
      threshold:
        num(get(value, 'rowThresholds', 'min')) !== undefined
          ? `${formatNumber(num(get(value, 'rowThresholds', 'min'))!, 4)}-${formatNumber(num(get(value, 'rowThresholds', 'max')) ?? Number.NaN, 4)} per row`
          : (num(get(value, 'threshold', 'value')) ?? null),
      flagged: num(get(value, 'flagged', 'total')) ?? null,
      train: num(get(value, 'flagged', 'train')) ?? null,
      val: num(get(value, 'flagged', 'validation')) ?? null,
      test: num(get(value, 'flagged', 'test')) ?? null,
      training:
        epochs === undefined
          ? ''
          : `${epochs} epochs (best ${num(get(training, 'bestEpoch')) ?? '?'}` +
            `${get(training, 'stoppedEarly') === true ? ', early stop' : ''}), ` +
            `val ${formatNumber(num(get(training, 'bestValLoss')) ?? Number.NaN, 3)}`,
    };
  });
  lines.push('');
  lines.push(...tableLines(table, '', width));

  const agreement = get(summary, 'agreement', 'pairs');
  if (agreement && isObject(agreement) && Object.keys(agreement).length > 0) {
    lines.push('');
    push('agreement (Jaccard of flagged rows, Spearman of scores):');
    for (const [pair, value] of Object.entries(agreement)) {
      push(
        `  ${fit(pair, 32)}  ${formatNumber(num(get(value, 'jaccard')) ?? Number.NaN, 3).padStart(6)}  ` +
          `${formatNumber(num(get(value, 'spearman')) ?? Number.NaN, 3).padStart(6)}`,
      );
    }
  }
  const timings = get(summary, 'timings');
  if (timings && isObject(timings)) {
    lines.push('');
    const entries = Object.entries(timings).filter(([, value]) => typeof value === 'number') as [
      string,
      number,
    ][];
    // Wrapped rather than cut: every stage's time is worth seeing.
    let line = 'timings:';
    for (const [stage, ms] of entries) {
      const item = ` ${stage} ${formatDuration(ms)}`;
      if (line.length + item.length + 1 > width) {
        lines.push(`${line},`);
        line = '        ';
      } else if (line !== 'timings:' && line.trim() !== '') line += ',';
      line += item;
    }
    lines.push(line);
  }
  const files = get(summary, 'files');
  if (files && isObject(files)) {
    lines.push('');
    push('files:');
    for (const [role, path] of Object.entries(files)) push(`  ${fit(role, 16)}  ${String(path)}`);
  }
  return lines;
}

/**
 * Why a run's folder is not one consistent set, or undefined when it is: summary.json must carry
 * the run id of the folder's marker, and every file the marker lists must be there.
 */
export function setProblem(
  summary: Json,
  marker: FolderMarker | undefined,
  exists: (file: string) => boolean,
): string | undefined {
  const runId = isObject(summary) ? summary['runId'] : undefined;
  if (!marker) {
    return typeof runId === 'string'
      ? `summary.json is from run ${runId} but the folder has no .crypto-anomaly.json listing its files`
      : undefined;
  }
  if (marker.kind !== 'outputs') return `the folder holds a saved model, not a run's outputs`;
  if (runId !== marker.runId) {
    return `summary.json is from run ${typeof runId === 'string' ? runId : '(none)'} but the folder's files are from run ${marker.runId}`;
  }
  const missing = marker.files.filter((file) => !exists(file));
  if (missing.length > 0) {
    const shown =
      missing.slice(0, 3).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '');
    return `the set of run ${marker.runId} is incomplete: ${shown} ${missing.length === 1 ? 'is' : 'are'} missing`;
  }
  return undefined;
}
