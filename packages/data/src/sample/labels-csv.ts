import { writeFile } from 'node:fs/promises';
import type { AnomalyLabel, CsvWriteOptions } from '../api.js';
import { existingTarget, writeFileAtomically } from '../atomic-file.js';
import { CSV_WRITE_KEYS } from '../csv/write-csv.js';
import { DataError } from '../errors.js';
import { assertKnownKeys } from '../validate.js';

const LABEL_HEADER = 'kind,start_time,end_time,start_time_utc,end_time_utc,start_index,end_index,description';

/** Labels as CSV text (header line, one event per line), to save beside a run's outputs. */
export function labelsToCsv(labels: readonly AnomalyLabel[]): string {
  const lines = [LABEL_HEADER];
  for (const label of labels) {
    lines.push(
      [
        label.kind,
        label.startTime,
        label.endTime,
        new Date(label.startTime).toISOString(),
        new Date(label.endTime).toISOString(),
        label.startIndex,
        label.endIndex,
        csvField(label.description),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `labelsToCsv(labels)` to a file (beside it first, then renamed into place). It replaces
 * only a labels file it wrote (first line the labels header): any other file, a folder or a
 * symbolic link is refused with `TARGET_NOT_OURS` and left as it is, unless `overwrite`.
 */
export async function writeLabelsCsv(
  path: string,
  labels: readonly AnomalyLabel[],
  options: Partial<CsvWriteOptions> = {},
): Promise<void> {
  assertKnownKeys('writeLabelsCsv options', options, CSV_WRITE_KEYS);
  const expected = Buffer.from(`${LABEL_HEADER}\n`, 'utf8');
  const target = await existingTarget(path, expected.length);
  if (target.kind === 'folder') {
    throw new DataError('INVALID_ARGUMENT', `${path} is a folder: name a CSV file to write the labels to.`);
  }
  if (!options.overwrite && target.kind === 'link') {
    throw new DataError(
      'TARGET_NOT_OURS',
      `${path} is a symbolic link (to ${target.to}), and the write replaces its file whole, the link with it, ` +
        'so it was left as it is: name the file it points to, or another file.',
    );
  }
  if (!options.overwrite && target.kind === 'file' && !target.head.equals(expected)) {
    throw new DataError(
      'TARGET_NOT_OURS',
      `${path} already exists and is not a labels file this package wrote (its first line is not the ` +
        'kind,start_time,... header), so it was left as it is: write to another file, move this one aside, ' +
        'or pass { overwrite: true } to replace it.',
    );
  }
  await writeFileAtomically(path, (temporary) => writeFile(temporary, labelsToCsv(labels), 'utf8'));
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
