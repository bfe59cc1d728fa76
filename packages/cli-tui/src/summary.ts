import { relative } from 'node:path';
import type { AnomalyRow, DetectorName } from '@crypto-anomaly/core';
import type { RunOutcome } from './api.js';
import { fit, formatDuration, formatNumber, formatTime, truncate } from './format.js';

/** Consensus first, then the detectors in pipeline order. */
export const TABLE_ORDER: readonly (DetectorName | 'consensus')[] = Object.freeze([
  'consensus',
  'isolation-forest',
  'autoencoder',
  'attention',
]);

export interface TableLine {
  kind: 'header' | 'detector' | 'row' | 'more';
  text: string;
}

/**
 * The top anomalies per detector as aligned plain-text lines, fitted to `width`: the same
 * table in the dashboard and in the plain log.
 */
export function anomalyTableLines(
  topAnomalies: Partial<Record<DetectorName | 'consensus', readonly AnomalyRow[]>>,
  options: { width: number; rowsPerDetector: number; maxLines?: number },
): TableLine[] {
  const { width } = options;
  const showSplit = width >= 64;
  const fixed = 16 + 2 + 11 + 2 + 8 + 2 + (showSplit ? 10 + 2 : 0);
  const featureWidth = Math.max(0, width - fixed);
  const cells = (time: string, close: string, score: string, split: string, features: string) =>
    truncate(
      [
        fit(time, 16),
        fit(close, 11, 'right'),
        fit(score, 8, 'right'),
        ...(showSplit ? [fit(split, 10)] : []),
        ...(featureWidth > 0 ? [truncate(features, featureWidth)] : []),
      ].join('  '),
      width,
    ).trimEnd();
  const blocks: TableLine[][] = [];
  for (const detector of TABLE_ORDER) {
    const rows = topAnomalies[detector];
    if (!rows) continue;
    const threshold = rows[0]?.threshold;
    const lines: TableLine[] = [];
    blocks.push(lines);
    lines.push({
      kind: 'detector',
      text: truncate(
        rows.length === 0
          ? `${detector}: nothing scored`
          : `${detector}${threshold !== undefined && Number.isFinite(threshold) ? ` (threshold ${formatNumber(threshold)})` : ''}`,
        width,
      ),
    });
    for (const row of rows.slice(0, Math.max(0, options.rowsPerDetector))) {
      lines.push({
        kind: 'row',
        text: cells(
          formatTime(row.time),
          formatNumber(row.close, 6),
          `${formatNumber(row.score, 3)}${row.isAnomaly ? '*' : ' '}`,
          row.split,
          row.topFeatures.join(', '),
        ),
      });
    }
  }
  const header: TableLine = {
    kind: 'header',
    text: cells('time (UTC)', 'close', 'score', 'split', 'top features'),
  };
  return fitBlocks(header, blocks, options.maxLines ?? Number.POSITIVE_INFINITY, width);
}

/**
 * The header and as many detectors' blocks as fit `maxLines`, in order, and a last line counting
 * the detectors left out; when not even the first fits whole, its first rows.
 */
function fitBlocks(header: TableLine, blocks: TableLine[][], maxLines: number, width: number): TableLine[] {
  const needed = (count: number) =>
    1 +
    blocks.slice(0, count).reduce((sum, block) => sum + block.length, 0) +
    (count < blocks.length ? 1 : 0);
  let count = blocks.length;
  while (count > 1 && needed(count) > maxLines) count--;
  const lines = [header, ...blocks.slice(0, count).flat()];
  const left = blocks.length - count;
  const more: TableLine[] =
    left > 0
      ? [
          {
            kind: 'more',
            text: truncate(
              `+ ${left} more detector${left === 1 ? '' : 's'} (a taller window shows them)`,
              width,
            ),
          },
        ]
      : [];
  return [...lines.slice(0, Math.max(1, maxLines - more.length)), ...more];
}

/** "Files in DIR" and each file relative to it, sorted; past `maxLines`, a "+ N more" line. */
export function filesWrittenLines(
  outDir: string,
  files: Record<string, string>,
  options: { width: number; maxLines?: number },
): string[] {
  const paths = [...new Set(Object.values(files))].map((path) => relative(outDir, path) || path).sort();
  const heading = truncate(`Files in ${outDir}`, options.width);
  const room = Math.max(1, (options.maxLines ?? Number.POSITIVE_INFINITY) - 1);
  if (paths.length <= room) return [heading, ...paths.map((path) => truncate(`  ${path}`, options.width))];
  const shown = paths.slice(0, room - 1).map((path) => truncate(`  ${path}`, options.width));
  return [heading, ...shown, `  + ${paths.length - shown.length} more`];
}

/** The final summary printed by the plain logger: table, files, total time. */
export function runSummaryLines(outcome: RunOutcome, width = 100): string[] {
  const hasTable = Object.values(outcome.topAnomalies).some((rows) => rows !== undefined);
  return [
    ...(hasTable
      ? [
          '',
          'Top anomalies (* = over the threshold)',
          ...anomalyTableLines(outcome.topAnomalies, { width, rowsPerDetector: 5 }).map((line) =>
            line.kind === 'row' ? `  ${line.text}` : line.text,
          ),
        ]
      : []),
    '',
    ...filesWrittenLines(outcome.outDir, outcome.files, { width }),
    '',
    `Finished in ${formatDuration(outcome.elapsedMs)}.`,
  ];
}
