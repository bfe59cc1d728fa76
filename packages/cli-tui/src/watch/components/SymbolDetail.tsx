import { Box, Text } from 'ink';
import { formatNumber, truncate } from '../../format.js';
import { renderLineChart } from '../../line-chart.js';
import type { SymbolRow, WatchState } from '../watch-reducer.js';
import { AlertFeed } from './AlertFeed.js';
import { DETECTOR_LABELS } from './SymbolTable.js';

const COLORS = ['cyan', 'magenta', 'yellow', 'red'] as const;

/** One pair: its price and its scores (over their thresholds: 1 is the line) as charts, and its alerts. */
export function SymbolDetail({
  row,
  state,
  width,
  height,
}: {
  row: SymbolRow;
  state: WatchState;
  width: number;
  height: number;
}) {
  const alerts = state.feed.filter((item) => item.alert.symbol === row.symbol);
  const alertRows = Math.min(5, Math.max(2, alerts.length + 1));
  const chartRows = Math.max(4, height - alertRows - 4);
  const priceRows = Math.max(2, Math.floor(chartRows / 2));
  const scoreRows = Math.max(2, chartRows - priceRows);
  const price = renderLineChart([{ name: 'close', values: row.history.map((point) => point.close) }], {
    width,
    height: priceRows,
    logScale: false,
  });
  const names = Object.keys(row.history.at(-1)?.ratios ?? {});
  const scores = renderLineChart(
    [
      ...names.map((name) => ({
        name,
        values: row.history.map((point) => point.ratios[name] ?? Number.NaN),
      })),
      { name: 'threshold', values: row.history.map(() => 1) },
    ],
    { width, height: scoreRows, logScale: false },
  );
  const first = row.history[0];
  const last = row.history.at(-1);
  const span =
    first && last
      ? `${new Date(first.openTime).toISOString().slice(0, 16)} → ${new Date(last.openTime).toISOString().slice(11, 16)} UTC`
      : 'no candle yet';
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">
        {truncate(
          `${row.symbol} · close ${row.close === undefined ? '-' : formatNumber(row.close, 6)} · ${row.candles} candles · ${row.alerts} alerts, ${row.suppressed} suppressed · ${span}`,
          width,
        )}
      </Text>
      {row.stopped !== undefined ? <Text color="red">stopped: {row.stopped}</Text> : null}
      {price.lines.map((line, index) => (
        <Text key={`p${index}`} color="cyan" wrap="truncate">
          {line}
        </Text>
      ))}
      <Text wrap="truncate">
        {'scores / threshold: '}
        {names.map((name, index) => (
          <Text key={name} color={COLORS[index % COLORS.length]}>
            {`${DETECTOR_LABELS[name] ?? name} `}
          </Text>
        ))}
        <Text dimColor>(1 = threshold)</Text>
      </Text>
      {scores.lines.map((line, rowIndex) => (
        <Text key={`s${rowIndex}`} wrap="truncate">
          {[...line].map((char, column) => {
            const owner =
              scores.owners[rowIndex]?.[column - (line.length - (scores.owners[rowIndex]?.length ?? 0))] ??
              -1;
            return owner < 0 || owner >= names.length ? (
              <Text key={column} dimColor={owner === names.length}>
                {char}
              </Text>
            ) : (
              <Text key={column} color={COLORS[owner % COLORS.length]}>
                {char}
              </Text>
            );
          })}
        </Text>
      ))}
      <AlertFeed feed={alerts} width={width} height={alertRows} title={`${row.symbol} alerts`} />
    </Box>
  );
}
