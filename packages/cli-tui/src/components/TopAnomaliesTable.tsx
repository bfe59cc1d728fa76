import type { AnomalyRow, DetectorName } from '@crypto-anomaly/core';
import { Box, Text } from 'ink';
import { anomalyTableLines } from '../summary.js';

export interface TopAnomaliesTableProps {
  topAnomalies: Partial<Record<DetectorName | 'consensus', AnomalyRow[]>>;
  width: number;
  /** At most this many rows per detector. */
  rowsPerDetector: number;
}

/** The most anomalous rows per detector, consensus first, as one aligned table. */
export function TopAnomaliesTable({ topAnomalies, width, rowsPerDetector }: TopAnomaliesTableProps) {
  const lines = anomalyTableLines(topAnomalies, { width, rowsPerDetector });
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((line, index) => (
        <Text
          key={index}
          wrap="truncate"
          bold={line.kind !== 'row'}
          color={line.kind === 'detector' ? 'cyan' : undefined}
        >
          {line.text}
        </Text>
      ))}
    </Box>
  );
}
