import { relative } from 'node:path';
import { Box, Text } from 'ink';

export interface FilesWrittenProps {
  outDir: string;
  files: Record<string, string>;
  width: number;
}

/**
 * Breaks `text` into lines of at most `width` columns, after a `/` or a space where it can: a
 * path is never cut, only wrapped.
 */
function wrapText(text: string, width: number): string[] {
  const room = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (let piece of text.match(/[^/ ]*[/ ]|[^/ ]+$/g) ?? ['']) {
    while (piece.length > 0) {
      if (line.length + piece.length <= room) {
        line += piece;
        piece = '';
      } else if (line.length > 0) {
        lines.push(line);
        line = '';
      } else {
        lines.push(piece.slice(0, room));
        piece = piece.slice(room);
      }
    }
  }
  if (line.length > 0 || lines.length === 0) lines.push(line);
  return lines;
}

/** Names in as few rows as fit `width`, column by column like `ls`; one per row (wrapped) at worst. */
function columns(names: readonly string[], width: number, indent: string, gap: number): string[] {
  for (let rows = 1; rows < names.length; rows++) {
    const widths: number[] = [];
    for (let start = 0; start < names.length; start += rows) {
      widths.push(Math.max(...names.slice(start, start + rows).map((name) => name.length)));
    }
    const total = indent.length + widths.reduce((sum, w) => sum + w, 0) + gap * (widths.length - 1);
    if (total > width) continue;
    return Array.from({ length: rows }, (_, row) =>
      (
        indent + widths.map((w, column) => (names[column * rows + row] ?? '').padEnd(w)).join(' '.repeat(gap))
      ).trimEnd(),
    );
  }
  return names.flatMap((name) => wrapText(name, width - indent.length).map((part) => indent + part));
}

/**
 * What `FilesWritten` shows: "Files in <folder>" (wrapped, never cut), then every file relative to
 * it in columns. Exported so the dashboard can budget its rows.
 */
export function filesWrittenBlock(
  outDir: string,
  files: Record<string, string>,
  width: number,
): { heading: string[]; names: string[] } {
  const names = [...new Set(Object.values(files))].map((path) => relative(outDir, path) || path).sort();
  return { heading: wrapText(`Files in ${outDir}`, width), names: columns(names, width, '  ', 2) };
}

/** Where the run's files went: the folder, then each file relative to it; no name is cut. */
export function FilesWritten({ outDir, files, width }: FilesWrittenProps) {
  const { heading, names } = filesWrittenBlock(outDir, files, width);
  return (
    <Box flexDirection="column" width={width}>
      {heading.map((line, index) => (
        <Text key={`heading-${index}`} bold wrap="truncate">
          {line}
        </Text>
      ))}
      {names.map((line, index) => (
        <Text key={index} wrap="truncate">
          {line}
        </Text>
      ))}
    </Box>
  );
}
