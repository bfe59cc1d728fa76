import { formatNumber } from './format.js';

/** One line of a chart: its values at x = 0, 1, 2, ... (non-finite values leave a gap). */
export interface ChartSeries {
  name: string;
  values: readonly number[];
  /**
   * `line` (default): a box-drawing line. `points`: `•` at each point and `·` between them, so two
   * series stay apart without colour. Default `line`.
   */
  style?: 'line' | 'points';
}

/** The glyph a `points` series draws at its points and between them. */
export const POINT_GLYPH = '•';
export const BETWEEN_POINTS_GLYPH = '·';
/** The glyph of a vertical marker (e.g. the best epoch). */
export const MARKER_GLYPH = '┊';
/** Owner of a marker's cells in `LineChart.owners`. */
export const MARKER_OWNER = -2;

export interface LineChartOptions {
  /** Total width in columns, y-axis labels included. */
  width: number;
  /** Plot height in rows. */
  height: number;
  /** Plot log10 of the values (non-positive values are left out). Default false. */
  logScale: boolean;
  /**
   * The x extent the plot spans, in points: set it to the planned number of epochs so the
   * line grows from left to right as epochs end. Default: the longest series.
   */
  xPoints?: number;
  /** Points (x index) to mark with a vertical `┊` in the cells no series draws. Default none. */
  markers?: readonly number[];
  /**
   * Adds an x axis under the plot (`LineChart.axis`): a rule with ticks and the labels of a few
   * points, point i labelled `first + i`; `title` goes in the y labels' gutter. Default none.
   */
  xAxis?: { first: number; title?: string };
}

/** A rendered chart: `lines` as plain text, `owners` saying which series drew each cell. */
export interface LineChart {
  lines: string[];
  /** Per row, per column: the index of the series that drew the cell, or -1. */
  owners: number[][];
  /** The y range shown, in the series' own units. */
  min: number;
  max: number;
  /** With `xAxis`: the rule with its ticks, then the labels; as wide as `lines`. Else empty. */
  axis: string[];
}

const LABEL_WIDTH = 9;

/**
 * Renders series as a text line chart (box-drawing characters, one row per y step, y labels on
 * the left). Later series are drawn over earlier ones where they cross. Pure: same input, same rows.
 */
export function renderLineChart(series: readonly ChartSeries[], options: LineChartOptions): LineChart {
  const height = Math.max(2, Math.floor(options.height));
  const labelWidth = Math.min(LABEL_WIDTH, Math.max(0, Math.floor(options.width) - 2));
  const plotWidth = Math.max(1, Math.floor(options.width) - labelWidth - 1);
  const transform = options.logScale
    ? (v: number) => (v > 0 && Number.isFinite(v) ? Math.log10(v) : Number.NaN)
    : (v: number) => (Number.isFinite(v) ? v : Number.NaN);
  const inverse = options.logScale ? (v: number) => 10 ** v : (v: number) => v;

  const transformed = series.map((s) => s.values.map(transform));
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const values of transformed) {
    for (const v of values) {
      if (Number.isNaN(v)) continue;
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
  }
  const empty = !Number.isFinite(low);
  if (empty) {
    low = 0;
    high = 1;
  } else if (high - low < 1e-12) {
    // A flat line: give it some room so it sits mid-chart instead of dividing by zero.
    const pad = Math.abs(high) > 0 ? Math.abs(high) * 0.05 : 0.5;
    low -= pad;
    high += pad;
  }
  const rowOf = (v: number) => Math.round(((high - v) / (high - low)) * (height - 1));

  const grid: string[][] = Array.from({ length: height }, () => Array<string>(plotWidth).fill(' '));
  const owners: number[][] = Array.from({ length: height }, () => Array<number>(plotWidth).fill(-1));
  const longest = Math.max(0, ...series.map((s) => s.values.length));
  const xPoints = Math.max(longest, Math.floor(options.xPoints ?? 0), 1);

  const pointColumns = new Set(Array.from({ length: xPoints }, (_, i) => columnOf(i, xPoints, plotWidth)));
  transformed.forEach((values, seriesIndex) => {
    const rows = columnRows(values, xPoints, plotWidth).map((v) => (Number.isNaN(v) ? -1 : rowOf(v)));
    const put = (row: number, column: number, glyph: string) => {
      const line = grid[row];
      if (!line) return;
      line[column] = glyph;
      owners[row]![column] = seriesIndex;
    };
    if (series[seriesIndex]!.style === 'points') {
      rows.forEach((row, column) => {
        if (row >= 0) put(row, column, pointColumns.has(column) ? POINT_GLYPH : BETWEEN_POINTS_GLYPH);
      });
      return;
    }
    for (let column = 0; column < rows.length; column++) {
      const here = rows[column]!;
      if (here < 0) continue;
      const next = rows[column + 1];
      if (next === undefined || next < 0 || next === here) {
        put(here, column, '─');
      } else if (next < here) {
        // Rising: leave this cell upwards, arrive from below.
        put(here, column, '╯');
        for (let row = next + 1; row < here; row++) put(row, column, '│');
        put(next, column, '╭');
      } else {
        put(here, column, '╮');
        for (let row = here + 1; row < next; row++) put(row, column, '│');
        put(next, column, '╰');
      }
    }
  });

  for (const marker of options.markers ?? []) {
    if (!(marker >= 0 && marker < xPoints)) continue;
    const column = columnOf(marker, xPoints, plotWidth);
    for (let row = 0; row < height; row++) {
      if (owners[row]![column] !== -1) continue;
      grid[row]![column] = MARKER_GLYPH;
      owners[row]![column] = MARKER_OWNER;
    }
  }

  const lines = grid.map((cells, row) => {
    const value = inverse(high - (row / (height - 1)) * (high - low));
    const labelled = row === 0 || row === height - 1 || row === Math.round((height - 1) / 2);
    const label = labelled && !empty ? formatNumber(value, 3) : '';
    const axis = labelled ? '┤' : '│';
    return `${label.padStart(labelWidth).slice(-labelWidth)}${axis}${cells.join('')}`;
  });
  const ownersWithLabels = owners.map((cells) => [...Array<number>(labelWidth + 1).fill(-1), ...cells]);
  const axis = options.xAxis ? xAxisLines(options.xAxis, xPoints, labelWidth, plotWidth) : [];
  return { lines, owners: ownersWithLabels, min: inverse(low), max: inverse(high), axis };
}

/** The plot column of point `index` (the same spacing `columnRows` draws with). */
function columnOf(index: number, xPoints: number, plotWidth: number): number {
  if (xPoints <= 1 || plotWidth <= 1) return 0;
  return Math.min(plotWidth - 1, Math.round((index * (plotWidth - 1)) / (xPoints - 1)));
}

/** Label steps, in points: the first that leaves room between labels is used. */
const AXIS_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

/**
 * The x axis: `└──┬───┬──` under the plot, then the labels, each starting at its tick (the
 * last one ending at it when it would run past the edge). The first and last points are labelled
 * when there is room, then the multiples of the smallest step whose labels do not touch.
 */
function xAxisLines(
  axis: { first: number; title?: string },
  xPoints: number,
  labelWidth: number,
  plotWidth: number,
): string[] {
  const last = axis.first + xPoints - 1;
  const widest = String(last).length + 1;
  const columnsPerPoint = xPoints > 1 ? (plotWidth - 1) / (xPoints - 1) : plotWidth;
  const step = AXIS_STEPS.find((s) => s * columnsPerPoint >= widest) ?? AXIS_STEPS[AXIS_STEPS.length - 1]!;
  const candidates = [axis.first, last];
  for (let value = Math.ceil(axis.first / step) * step; value <= last; value += step) candidates.push(value);
  const labels = Array<string>(plotWidth).fill(' ');
  const rule = Array<string>(plotWidth).fill('─');
  const taken: [number, number][] = [];
  for (const value of candidates) {
    const column = columnOf(value - axis.first, xPoints, plotWidth);
    const text = String(value);
    const start = column + text.length > plotWidth ? column - text.length + 1 : column;
    const end = start + text.length - 1;
    if (start < 0 || taken.some(([a, b]) => start <= b + 1 && end >= a - 1)) continue;
    taken.push([start, end]);
    rule[column] = '┬';
    for (let i = 0; i < text.length; i++) labels[start + i] = text[i]!;
  }
  const title = (axis.title ?? '').slice(0, labelWidth);
  return [`${' '.repeat(labelWidth)}└${rule.join('')}`, `${title.padStart(labelWidth)} ${labels.join('')}`];
}

/**
 * The series' value at each plot column, interpolated between points: point i sits at column
 * i * (plotWidth - 1) / (xPoints - 1). Columns past the last point are left out.
 */
function columnRows(values: readonly number[], xPoints: number, plotWidth: number): number[] {
  if (values.length === 0) return [];
  if (xPoints <= 1 || plotWidth <= 1) return [values[values.length - 1]!];
  const pointsPerColumn = (xPoints - 1) / (plotWidth - 1);
  const lastColumn = Math.min(plotWidth - 1, Math.floor((values.length - 1) / pointsPerColumn + 1e-9));
  const result: number[] = [];
  for (let column = 0; column <= lastColumn; column++) {
    const position = column * pointsPerColumn;
    const left = Math.floor(position);
    const right = Math.min(values.length - 1, left + 1);
    const a = values[left]!;
    const b = values[right]!;
    const t = position - left;
    // A gap on either side stays a gap rather than inventing a value.
    result.push(t === 0 ? a : Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : a + (b - a) * t);
  }
  return result;
}
