import { Box, Text } from 'ink';
import { filesWrittenLines } from '../summary.js';

export interface FilesWrittenProps {
  outDir: string;
  files: Record<string, string>;
  width: number;
  /** Lines available, the heading included; the rest is summarised as "+ N more". */
  height: number;
}

/** Where the run's files went: the folder, then each file relative to it. */
export function FilesWritten({ outDir, files, width, height }: FilesWrittenProps) {
  const lines = filesWrittenLines(outDir, files, { width, maxLines: height });
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((line, index) => (
        <Text key={index} wrap="truncate" bold={index === 0}>
          {line}
        </Text>
      ))}
    </Box>
  );
}
