import { Box, Text } from 'ink';
import { type DashboardState, PANES, type PaneName } from '../api.js';
import { stageElapsedMs } from '../dashboard-reducer.js';
import { formatDuration, truncate } from '../format.js';
import { FetchProgress } from './FetchProgress.js';
import { FilesWritten, filesWrittenBlock } from './FilesWritten.js';
import { FlaggedCounts, flaggedCountsLines } from './FlaggedCounts.js';
import { IsolationForestProgress } from './IsolationForestProgress.js';
import { LossChart } from './LossChart.js';
import { StageList } from './StageList.js';
import { TopAnomaliesTable } from './TopAnomaliesTable.js';

export interface DashboardProps {
  state: DashboardState;
  /** Terminal columns to fill. */
  width: number;
  /** Terminal rows to fill; keep it below the terminal's height so Ink never scrolls. */
  height: number;
  /** The clock (`Date.now()`) the running stage's elapsed time and the ETA tick with. */
  now?: number;
}

const PANE_LABELS: Record<PaneName, [long: string, short: string, shortest: string]> = {
  autoencoder: ['autoencoder', 'autoencoder', 'dense'],
  attention: ['attention', 'attention', 'attention'],
  'isolation-forest': ['isolation forest', 'iforest', 'iforest'],
  anomalies: ['top anomalies', 'anomalies', 'anomalies'],
};

/** Panes wider than this make room for a second pane beside the selected one. */
const TWO_PANE_WIDTH = 110;

/**
 * Everything on one screen: stages and flag counts on the left, the selected pane(s) on the right,
 * and at the end the files written across the whole width (no path cut).
 */
export function Dashboard({ state, width, height, now }: DashboardProps) {
  if (state.mode === 'fetch') return <FetchScreen state={state} width={width} height={height} />;
  const fetchLines = state.fetch ? (state.fetch.waitingMs && !state.fetch.done ? 2 : 1) : 0;
  const files = state.outcome
    ? filesWrittenBlock(state.outcome.outDir, state.outcome.files, width)
    : undefined;
  const filesLines = files ? files.heading.length + files.names.length + 1 : 0;
  const bodyHeight = Math.max(6, height - 2 - fetchLines - 2 - filesLines);
  // 18 columns below 70: the anomaly table's time, close and score columns still fit at 60.
  const leftWidth = width >= 70 ? 25 : 18;
  const rightWidth = Math.max(20, width - leftWidth - 3);
  const twoPanes = rightWidth >= TWO_PANE_WIDTH;
  const paneWidth = twoPanes ? Math.floor((rightWidth - 2) / 2) : rightWidth;
  const paneHeight = bodyHeight - 1;
  const shown: PaneName[] = twoPanes
    ? [state.pane, PANES[(PANES.indexOf(state.pane) + 1) % PANES.length]!]
    : [state.pane];
  const scoredAny = Object.keys(state.scored).length > 0;
  // The stages take what the flag counts leave (and the line between them): on a short screen the
  // finished ones fold into one line rather than the list being cut.
  const flaggedLines = scoredAny ? flaggedCountsLines(state.scored) + 1 : 0;
  // flexShrink 0: should it still not fit, the column clips its last lines instead of squeezing rows.
  const stageList = (
    <Box flexShrink={0}>
      <StageList stages={state.stages} width={leftWidth} now={now} maxLines={bodyHeight - flaggedLines} />
    </Box>
  );
  const flagged = scoredAny ? <FlaggedCounts scored={state.scored} width={leftWidth} /> : null;

  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {truncate(state.title, width)}
      </Text>
      <Text dimColor wrap="truncate">
        {truncate(
          [
            state.source ? `source: ${state.source}` : 'source: loading…',
            state.backend ? `backend: ${state.backend.description}` : undefined,
          ]
            .filter(Boolean)
            .join(' · '),
          width,
        )}
      </Text>
      {state.fetch ? <FetchProgress fetch={state.fetch} width={width} /> : null}
      <Box height={bodyHeight}>
        <Box
          flexDirection="column"
          width={leftWidth + 2}
          paddingRight={1}
          borderStyle="single"
          borderTop={false}
          borderBottom={false}
          borderLeft={false}
          borderDimColor
          overflowY="hidden"
        >
          {state.phase === 'running' || state.phase === 'stopping' ? (
            <>
              {stageList}
              {flagged ? (
                <Box marginTop={1} flexShrink={0}>
                  {flagged}
                </Box>
              ) : null}
            </>
          ) : (
            // At the end the counts come first: the stages are what may be cut on a short screen.
            <>
              {flagged ? (
                <Box marginBottom={1} flexShrink={0}>
                  {flagged}
                </Box>
              ) : null}
              {stageList}
            </>
          )}
        </Box>
        <Box flexDirection="column" marginLeft={1} width={rightWidth}>
          <TabBar selected={shown} width={rightWidth} />
          <Box>
            {shown.map((pane, index) => (
              <Box key={pane} width={paneWidth} marginLeft={index > 0 ? 2 : 0} flexDirection="column">
                <Pane pane={pane} state={state} width={paneWidth} height={paneHeight} now={now} />
              </Box>
            ))}
          </Box>
        </Box>
      </Box>
      {state.outcome ? (
        <Box marginTop={1}>
          <FilesWritten outDir={state.outcome.outDir} files={state.outcome.files} width={width} />
        </Box>
      ) : null}
      <Footer state={state} width={width} />
    </Box>
  );
}

/** The download alone: progress, what happened (waits, archive files), where it went. */
function FetchScreen({ state, width, height }: DashboardProps) {
  const block = state.outcome
    ? filesWrittenBlock(state.outcome.outDir, state.outcome.files, width)
    : undefined;
  const files = block ? block.heading.length + block.names.length : 0;
  const logRows = Math.max(1, height - 2 - 2 - 2 - (files > 0 ? files + 1 : 0));
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {truncate(state.title, width)}
      </Text>
      <Text dimColor wrap="truncate">
        {truncate(state.source ? `source: ${state.source}` : ' ', width)}
      </Text>
      {state.fetch ? (
        <FetchProgress fetch={state.fetch} width={width} />
      ) : (
        <Text dimColor>fetch: starting…</Text>
      )}
      <Box flexDirection="column" marginTop={1}>
        {state.logs.slice(-logRows).map((line, index) => (
          <Text key={index} wrap="truncate" color={line.level === 'warn' ? 'yellow' : undefined}>
            {truncate(line.message, width)}
          </Text>
        ))}
      </Box>
      {state.outcome ? (
        <Box marginTop={1}>
          <FilesWritten outDir={state.outcome.outDir} files={state.outcome.files} width={width} />
        </Box>
      ) : null}
      <Footer state={{ ...state, logs: [] }} width={width} />
    </Box>
  );
}

function TabBar({ selected, width }: { selected: readonly PaneName[]; width: number }) {
  // Each label starts with a mark, › for the pane shown (inverse too) and a space otherwise, so the
  // pane stays marked when NO_COLOR drops the reverse video. The widest labels and gaps that fit.
  const choices = [
    [0, '  '],
    [1, '  '],
    [1, ' '],
    [2, ' '],
  ] as const;
  const fits = ([tier, gap]: (typeof choices)[number]) =>
    PANES.map((pane) => ` ${PANE_LABELS[pane][tier]}`).join(gap).length <= width;
  const [tier, gap] = choices.find(fits) ?? choices[choices.length - 1]!;
  return (
    <Text wrap="truncate">
      {PANES.map((pane, index) => {
        const shown = selected.includes(pane);
        return (
          <Text key={pane}>
            {index > 0 ? gap : ''}
            <Text inverse={shown} bold={selected[0] === pane}>
              {`${shown ? '›' : ' '}${PANE_LABELS[pane][tier]}`}
            </Text>
          </Text>
        );
      })}
    </Text>
  );
}

function Pane({
  pane,
  state,
  width,
  height,
  now,
}: {
  pane: PaneName;
  state: DashboardState;
  width: number;
  height: number;
  now: number | undefined;
}) {
  switch (pane) {
    case 'autoencoder':
    case 'attention': {
      const stage = state.stages.find((s) => s.name === pane);
      const elapsedMs = stage ? stageElapsedMs(stage, now) : undefined;
      return (
        <LossChart
          detector={pane}
          training={state.training[pane]}
          width={width}
          height={height}
          logScale={state.logScale}
          now={now}
          {...(elapsedMs !== undefined ? { elapsedMs } : {})}
        />
      );
    }
    case 'isolation-forest':
      return (
        <IsolationForestProgress
          progress={state.isolationForest}
          stage={state.stages.find((stage) => stage.name === 'isolation-forest')}
          threshold={state.scored['isolation-forest']?.threshold}
          width={width}
        />
      );
    case 'anomalies': {
      // Each detector's rows as soon as it scored; the run's own table once it finished.
      const topAnomalies = {
        ...Object.fromEntries(Object.entries(state.scored).map(([name, s]) => [name, s.topAnomalies])),
        ...state.outcome?.topAnomalies,
      };
      const detectors = Object.values(topAnomalies).filter(Boolean).length;
      if (detectors === 0) {
        return (
          <Text dimColor>{truncate('The top anomalies appear here as each detector finishes.', width)}</Text>
        );
      }
      const rowsPerDetector = Math.max(1, Math.min(10, Math.floor((height - 1 - detectors) / detectors)));
      return (
        <TopAnomaliesTable
          topAnomalies={topAnomalies}
          width={width}
          rowsPerDetector={rowsPerDetector}
          maxLines={height}
        />
      );
    }
  }
}

function Footer({ state, width }: { state: DashboardState; width: number }) {
  const keys = 'tab/←→ pane · l log scale';
  const last = state.logs[state.logs.length - 1];
  let status: { text: string; color?: string };
  switch (state.phase) {
    case 'running':
      status = { text: `running · q stop · ${keys}` };
      break;
    case 'stopping':
      status = { text: 'stopping at the next safe point; nothing half-written is left…', color: 'yellow' };
      break;
    case 'finished':
      status = {
        text: `finished in ${formatDuration(state.outcome?.elapsedMs)} · q exit · ${keys}`,
        color: 'green',
      };
      break;
    case 'failed':
      status = { text: `failed · q exit · ${keys}`, color: 'red' };
      break;
    case 'stopped':
      status = { text: 'stopped before the end · q exit', color: 'yellow' };
      break;
  }
  const message = state.error
    ? { text: `${state.error.cause} (${state.error.hint})`, color: 'red' }
    : last
      ? { text: last.message, color: last.level === 'warn' ? 'yellow' : 'gray' }
      : { text: '', color: 'gray' };
  return (
    <Box flexDirection="column" width={width}>
      <Text color={message.color} wrap="truncate">
        {truncate(message.text, width) || ' '}
      </Text>
      <Text color={status.color} wrap="truncate">
        {truncate(status.text, width)}
      </Text>
    </Box>
  );
}
