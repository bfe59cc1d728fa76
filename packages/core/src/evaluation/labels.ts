import { CoreError } from '../errors.js';
import { withDefaults } from '../validate.js';
import {
  DEFAULT_LABEL_OPTIONS,
  type LabelOptions,
  type LabelRange,
  type SeriesLabels,
  type TimeRange,
} from './api.js';

/**
 * Labels: events (instants or [start, end] spans, from a CSV or NAB's `combined_windows.json`)
 * placed on a series' row times as inclusive row ranges, and the 0/1 row labels they imply.
 */

/**
 * `YYYY-MM-DD`, then optionally `[ T]HH:MM[:SS[.fff…]]`, then optionally a zone: `Z`, ` UTC`,
 * `±HH:MM` or `±HHMM`. Anything else (slashes, day-first dates, month names) is refused rather
 * than guessed: `Date.parse` reads `2024/08/05 06:00` in the machine's time zone and `12/03/2020`
 * month first, so the same labels would mark other candles on another machine.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:(Z|z| ?UTC)|([+-])(\d{2}):?(\d{2}))?$/;

const TIME_FORMS =
  'give epoch milliseconds, Unix seconds (10 digits), or YYYY-MM-DD[ HH:MM[:SS]] (UTC unless it ends in Z, UTC or an offset such as +02:00)';

/**
 * A time as milliseconds since the epoch: a number (epoch ms), a string of digits (epoch ms, or
 * Unix seconds when it has ten digits, e.g. 1722816000), or `YYYY-MM-DD[ HH:MM[:SS[.fff…]]]` with
 * an optional zone (`Z`, `UTC`, `+02:00`, `+0200`), read as UTC without one (NAB's and Binance's
 * files carry none). A date that does not exist (2020-02-30, 24:30) is refused, not rolled over.
 */
export function parseTime(value: string | number, field = 'time'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else {
    const text = value.trim();
    // Ten digits are Unix seconds (as the command line reads dates): 1722816000 read as
    // milliseconds would be 1970-01-20 and match no candle, silently.
    if (/^\d{10}(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
    // Epoch milliseconds have 11 digits or more since 1970-01-02; fewer (20200312, a compact date)
    // would be a moment of 1970's first day.
    if (/^\d{11,}(\.\d+)?$/.test(text)) return Number(text);
    const match = DATE_TIME.exec(text);
    if (match) {
      const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', utc, sign, zh, zm] = match;
      const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
      const local = Date.UTC(...parts);
      const back = new Date(local);
      const exists =
        back.getUTCFullYear() === parts[0] &&
        back.getUTCMonth() === parts[1] &&
        back.getUTCDate() === parts[2] &&
        back.getUTCHours() === parts[3] &&
        back.getUTCMinutes() === parts[4] &&
        back.getUTCSeconds() === parts[5];
      const offsetMinutes = sign ? (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm)) : 0;
      if (exists && (utc !== undefined || !sign || (Number(zh) <= 14 && Number(zm) <= 59))) {
        return local + Math.round(Number(`0.${fraction || '0'}`) * 1000) - offsetMinutes * 60_000;
      }
      throw new CoreError(
        'INVALID_ARGUMENT',
        `${field} ${JSON.stringify(value)} is not a time that exists: ${TIME_FORMS}.`,
      );
    }
  }
  throw new CoreError('INVALID_ARGUMENT', `${field} ${JSON.stringify(value)} is not a time: ${TIME_FORMS}.`);
}

function assertAscending(times: ArrayLike<number>): void {
  for (let i = 1; i < times.length; i++) {
    if (!(times[i]! >= times[i - 1]!)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `row times must be finite and ascending: row ${i} (${times[i]}) comes before row ${i - 1} (${times[i - 1]}).`,
      );
    }
  }
}

/** First index whose value is >= t (`strict`: > t), values ascending (times, sorted scores). */
export function firstIndexAfter(times: ArrayLike<number>, t: number, strict: boolean): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t || (strict && times[mid]! === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Places events on a series: each event (an instant or a [start, end] span, widened by
 * `tolerance` ms on each side) labels the rows whose time falls inside it. Events that cover no
 * row are returned in `outside`, not dropped silently, so a caller can say how many were missed.
 */
export function labelsFromEvents(
  times: ArrayLike<number>,
  events: readonly (number | TimeRange)[],
  options: Partial<LabelOptions> = {},
): SeriesLabels {
  const { tolerance, candleMs } = withDefaults('labelsFromEvents options', DEFAULT_LABEL_OPTIONS, options);
  for (const [name, value] of [
    ['tolerance', tolerance],
    ['candleMs', candleMs],
  ] as const) {
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new CoreError('INVALID_ARGUMENT', `${name} must be a finite number of ms >= 0, got ${value}.`);
    }
  }
  assertAscending(times);
  const ranges: LabelRange[] = [];
  const rangeEvents: number[] = [];
  const outside: TimeRange[] = [];
  for (const [index, event] of events.entries()) {
    const span = typeof event === 'number' ? { start: event, end: event } : event;
    if (!(span.start <= span.end)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `an event's start must not be after its end, got start ${span.start} and end ${span.end}.`,
      );
    }
    // With candles, the first row whose candle [t, t + candleMs) ends after the widened start.
    const startIndex =
      candleMs > 0
        ? firstIndexAfter(times, span.start - tolerance - candleMs, true)
        : firstIndexAfter(times, span.start - tolerance, false);
    const endIndex = firstIndexAfter(times, span.end + tolerance, true) - 1;
    if (startIndex <= endIndex) {
      ranges.push({ startIndex, endIndex });
      rangeEvents.push(index);
    } else {
      outside.push(span);
    }
  }
  return { ranges, rangeEvents, outside };
}

/** A CSV line's cells, with surrounding double quotes removed ("a,b" stays one cell). */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

/**
 * Events from a CSV: a header naming either a `time` (or `timestamp`) column, one instant per
 * line, or `start` and `end` columns, one span per line; an optional `label` (or `kind`) column
 * names what each event is, and `evaluate` counts the events caught per label (other columns, e.g.
 * a description, are ignored). Times as `parseTime` reads them. Errors name the line (counting from 1, header
 * included) and what to change.
 */
export function parseEventsCsv(text: string): TimeRange[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerLine = lines.findIndex((line) => line.trim() !== '');
  if (headerLine < 0) {
    throw new CoreError(
      'MISSING_COLUMN',
      'the events CSV is empty: give a header ("time", or "start,end") and one event per line.',
    );
  }
  const header = csvCells(lines[headerLine]!).map((name) => name.toLowerCase());
  const timeColumn = header.findIndex((name) => name === 'time' || name === 'timestamp');
  const startColumn = header.indexOf('start');
  const endColumn = header.indexOf('end');
  const labelColumn = header.includes('label') ? header.indexOf('label') : header.indexOf('kind');
  if (startColumn < 0 !== endColumn < 0 || (startColumn < 0 && timeColumn < 0)) {
    throw new CoreError(
      'MISSING_COLUMN',
      `events CSV line ${headerLine + 1}: the header needs a "time" column or both "start" and "end" columns, got "${lines[headerLine]}".`,
    );
  }
  // An empty label cell is an event without a label, not an error: labels are optional.
  const labelOf = (cells: string[]) => {
    const label = labelColumn >= 0 ? cells[labelColumn] : undefined;
    return label ? { label } : {};
  };
  const events: TimeRange[] = [];
  for (let i = headerLine + 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    const cells = csvCells(lines[i]!);
    const where = `events CSV line ${i + 1}`;
    const cell = (column: number, name: string): string => {
      const value = cells[column];
      if (value === undefined || value === '') {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `${where}: the "${name}" cell is empty or missing (the line has ${cells.length} cells for the header's ${header.length}).`,
        );
      }
      return value;
    };
    if (startColumn >= 0) {
      const start = parseTime(cell(startColumn, 'start'), `${where}: start`);
      const end = parseTime(cell(endColumn, 'end'), `${where}: end`);
      if (start > end) {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `${where}: start ${cells[startColumn]} is after end ${cells[endColumn]}; swap them.`,
        );
      }
      events.push({ start, end, ...labelOf(cells) });
    } else {
      const time = parseTime(cell(timeColumn, 'time'), `${where}: time`);
      events.push({ start: time, end: time, ...labelOf(cells) });
    }
  }
  // A header alone would judge every detector against no event at all, and say nothing.
  if (events.length === 0) {
    throw new CoreError(
      'MISSING_COLUMN',
      `the events CSV has a header (line ${headerLine + 1}) and no event: add one event per line below it.`,
    );
  }
  return events;
}

/**
 * NAB's `combined_windows.json`: `{ "<category>/<file>.csv": [[start, end], ...] }` with zone-less
 * times (read as UTC), to a map from file name to its windows.
 */
export function parseNabWindows(json: unknown): Map<string, TimeRange[]> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      'NAB windows must be an object mapping each file name to a list of [start, end] pairs.',
    );
  }
  const windows = new Map<string, TimeRange[]>();
  for (const [name, list] of Object.entries(json)) {
    if (!Array.isArray(list)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `NAB windows of "${name}" must be a list of [start, end] pairs.`,
      );
    }
    windows.set(
      name,
      list.map((pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2) {
          throw new CoreError(
            'INVALID_ARGUMENT',
            `NAB window ${i} of "${name}" must be a [start, end] pair, got ${JSON.stringify(pair)}.`,
          );
        }
        const start = parseTime(pair[0], `NAB window ${i} of "${name}": start`);
        const end = parseTime(pair[1], `NAB window ${i} of "${name}": end`);
        if (start > end) {
          throw new CoreError(
            'INVALID_ARGUMENT',
            `NAB window ${i} of "${name}" starts (${JSON.stringify(pair[0])}) after it ends (${JSON.stringify(pair[1])}).`,
          );
        }
        return { start, end };
      }),
    );
  }
  return windows;
}

/** 0/1 row labels of a series of `length` rows: 1 inside any range. */
export function rowLabels(length: number, ranges: readonly LabelRange[]): Uint8Array {
  const labels = new Uint8Array(length);
  for (const { startIndex, endIndex } of ranges) {
    labels.fill(1, Math.max(0, startIndex), Math.min(length, endIndex + 1));
  }
  return labels;
}

/** Maximal runs of consecutive non-zero rows, as ranges. */
export function rangesFromFlags(flags: ArrayLike<number>): LabelRange[] {
  const ranges: LabelRange[] = [];
  let start = -1;
  for (let i = 0; i <= flags.length; i++) {
    const on = i < flags.length && Boolean(flags[i]);
    if (on && start < 0) start = i;
    else if (!on && start >= 0) {
      ranges.push({ startIndex: start, endIndex: i - 1 });
      start = -1;
    }
  }
  return ranges;
}

/** Ranges sorted, with overlapping or touching ones merged. */
export function mergeRanges(ranges: readonly LabelRange[]): LabelRange[] {
  const sorted = [...ranges].sort((a, b) => a.startIndex - b.startIndex);
  const merged: LabelRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.startIndex <= last.endIndex + 1) {
      merged[merged.length - 1] = {
        startIndex: last.startIndex,
        endIndex: Math.max(last.endIndex, range.endIndex),
      };
    } else {
      merged.push({ startIndex: range.startIndex, endIndex: range.endIndex });
    }
  }
  return merged;
}
