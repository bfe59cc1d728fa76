import type { StreamDetectorScore } from '@crypto-anomaly/core';
import { Text } from 'ink';
import { ratioOf } from '../watch-reducer.js';

/** Ratios shown by a full bar: the threshold sits at 1 / BAR_RANGE of the bar's width. */
const BAR_RANGE = 1.5;

/**
 * A score as a bar against its threshold: filled up to the score, `│` where the threshold is; red
 * when over it. Pure text, so tests can read it.
 */
export function scoreBar(
  score: Pick<StreamDetectorScore, 'score' | 'threshold'> | undefined,
  width: number,
): string {
  if (!score) return ' '.repeat(width);
  const ratio = Math.max(0, Math.min(BAR_RANGE, ratioOf(score)));
  const filled = Math.round((ratio / BAR_RANGE) * width);
  const mark = Math.min(width - 1, Math.round(width / BAR_RANGE));
  let bar = '';
  for (let i = 0; i < width; i++) bar += i === mark ? '│' : i < filled ? '█' : '·';
  return bar;
}

export function ScoreBar({ score, width }: { score: StreamDetectorScore | undefined; width: number }) {
  return <Text color={score?.flagged ? 'red' : score ? 'green' : undefined}>{scoreBar(score, width)}</Text>;
}
