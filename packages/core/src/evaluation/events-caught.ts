import type { DetectionDelay, EvaluationReport } from './api.js';

/** A delay in candles with its sign: +0 (the candle the event starts in), +3, -1. */
export function formatDelay(candles: number): string {
  return `${candles < 0 ? '' : '+'}${candles}`;
}

/** One detector's cell of the events-caught table: `caught (median delay)`, or 0. */
function caughtCell(delay: DetectionDelay | null | undefined): string {
  return !delay || delay.detected === 0 ? '0' : `${delay.detected} (${formatDelay(delay.median)})`;
}

/**
 * The events-caught table of an evaluation, as `evaluate` prints it and the HTML report shows it:
 * a row per label (in order of first appearance), then one for every event on the evaluated rows,
 * each with its event count and a cell per detector (in the report's order). Empty when no event
 * falls on the rows.
 */
export function eventsCaughtRows(
  report: EvaluationReport,
): { label: string; events: number; cells: string[] }[] {
  const onRows = report.labels ? report.labels.events - report.labels.eventsOutside : 0;
  if (onRows === 0) return [];
  return [
    ...(report.eventLabels ?? []).map((group) => ({
      label: group.label,
      events: group.events,
      cells: report.detectors.map((d) => caughtCell(group.detections[d.name])),
    })),
    { label: 'all', events: onRows, cells: report.detectors.map((d) => caughtCell(d.delay)) },
  ];
}
