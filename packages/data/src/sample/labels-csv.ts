import { writeFile } from 'node:fs/promises';
import type { AnomalyLabel } from '../api.js';
import { writeFileAtomically } from '../atomic-file.js';

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

/** Writes `labelsToCsv(labels)` to a file (beside it first, then renamed into place). */
export async function writeLabelsCsv(path: string, labels: readonly AnomalyLabel[]): Promise<void> {
  await writeFileAtomically(path, (temporary) => writeFile(temporary, labelsToCsv(labels), 'utf8'));
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
