import type { TimeRange } from '../api.js';

/** Sorts and merges overlapping or touching ranges. */
export function mergeRanges(ranges: readonly TimeRange[]): TimeRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const merged: TimeRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

/** `whole` minus the union of `parts`. */
export function subtractRanges(whole: TimeRange, parts: readonly TimeRange[]): TimeRange[] {
  const out: TimeRange[] = [];
  let cursor = whole.start;
  for (const part of mergeRanges(parts)) {
    if (part.end <= cursor) continue;
    if (part.start >= whole.end) break;
    if (part.start > cursor) out.push({ start: cursor, end: Math.min(part.start, whole.end) });
    cursor = Math.max(cursor, part.end);
    if (cursor >= whole.end) break;
  }
  if (cursor < whole.end) out.push({ start: cursor, end: whole.end });
  return out;
}
