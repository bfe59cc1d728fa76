import { Box, Text } from 'ink';
import { truncate } from '../../format.js';
import type { FeedItem } from '../watch-reducer.js';

const time = (ms: number) => new Date(ms).toISOString().slice(5, 16).replace('T', ' ');

/** One line per alert, newest first: when, pair, detector, why. */
export function alertLine(item: FeedItem): string {
  const { alert } = item;
  const late = alert.via === 'backfill' ? ' [back-filled]' : '';
  return `${time(alert.openTime)} ${alert.symbol} ${alert.detector} (${alert.thresholdKind})${late}: ${alert.reason}`;
}

export function AlertFeed({
  feed,
  width,
  height,
  title = 'alerts',
}: {
  feed: readonly FeedItem[];
  width: number;
  height: number;
  title?: string;
}) {
  const lines = feed.slice(0, Math.max(0, height - 1));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">
        {title} (newest first){feed.length === 0 ? ': none yet' : ''}
      </Text>
      {lines.map((item) => (
        <Text key={item.alert.id} color="yellow" wrap="truncate">
          {truncate(alertLine(item), width)}
        </Text>
      ))}
    </Box>
  );
}
