import { fit, formatNumber, formatTime, truncate } from './format.js';

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
  const widths = columns.map((column, index) =>
    Math.min(24, Math.max(column.length, ...cells.map((row) => row[index]!.length))),
  );
  const line = (values: string[]) =>
    truncate(indent + values.map((value, index) => fit(value, widths[index]!)).join('  '), width).trimEnd();
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
