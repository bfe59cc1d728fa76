import type { AnomalyRow, DetectorName } from '@crypto-anomaly/core';
import { Box, Text } from 'ink';
import { anomalyTableLines } from '../summary.js';

export interface TopAnomaliesTableProps {
  topAnomalies: Partial<Record<DetectorName | 'consensus', AnomalyRow[]>>;
  width: number;
  /** At most this many rows per detector. */
  rowsPerDetector: number;
  /** At most this many lines: detectors that do not fit are counted on a last line. */
  maxLines?: number;
}

/** The most anomalous rows per detector, consensus first, as one aligned table. */
export function TopAnomaliesTable({
  topAnomalies,
  width,
  rowsPerDetector,
  maxLines,
}: TopAnomaliesTableProps) {
  const lines = anomalyTableLines(topAnomalies, {
    width,
    rowsPerDetector,
    ...(maxLines !== undefined ? { maxLines } : {}),
  });
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((line, index) => (
        <Text
          key={index}
          wrap="truncate"
          bold={line.kind === 'header' || line.kind === 'detector'}
          color={line.kind === 'detector' ? 'cyan' : undefined}
          dimColor={line.kind === 'more'}
        >
          {line.text}
        </Text>
      ))}
    </Box>
  );
}
