import { describe, expect, it } from 'vitest';
import { renderLineChart } from '../src/line-chart.js';

const plot = (lines: string[]) => lines.map((line) => line.slice(10));

describe('renderLineChart', () => {
  it('renders exactly height rows of exactly width columns', () => {
    const chart = renderLineChart([{ name: 'loss', values: [4, 3, 2, 1] }], {
      width: 40,
      height: 8,
      logScale: false,
    });
    expect(chart.lines).toHaveLength(8);
    for (const line of chart.lines) expect(line).toHaveLength(40);
    expect(chart.owners).toHaveLength(8);
    expect(chart.owners[0]).toHaveLength(40);
    expect(chart.min).toBe(1);
    expect(chart.max).toBe(4);
  });

  it('draws a falling line from the top-left to the bottom-right with y labels', () => {
    const chart = renderLineChart([{ name: 'loss', values: [3, 2, 1] }], {
      width: 13,
      height: 3,
      logScale: false,
    });
    expect(chart.lines).toEqual(['        3┤╮  ', '        2┤╰╮ ', '        1┤ ╰─']);
  });

  it('draws a rising line with the right corners', () => {
    const chart = renderLineChart([{ name: 'x', values: [1, 3] }], { width: 12, height: 3, logScale: false });
    expect(plot(chart.lines)).toEqual(['╭─', '│ ', '╯ ']);
  });

  it('spans the planned x extent so the line grows left to right', () => {
    const options = { width: 30, height: 5, logScale: false, xPoints: 21 };
    const early = renderLineChart([{ name: 'loss', values: [5, 4, 3] }], options);
    const late = renderLineChart(
      [{ name: 'loss', values: [5, 4, 3, 2.5, 2.2, 2, 1.9, 1.8, 1.7, 1.6, 1.5] }],
      options,
    );
    const lastDrawn = (lines: string[]) => Math.max(...plot(lines).map((line) => line.trimEnd().length));
    expect(lastDrawn(early.lines)).toBeLessThan(lastDrawn(late.lines));
    expect(lastDrawn(late.lines)).toBeLessThan(20); // half the epochs: about half the plot
  });

  it('compresses more points than columns without exceeding the width', () => {
    const values = Array.from({ length: 500 }, (_, i) => 1 / (i + 1));
    const chart = renderLineChart([{ name: 'loss', values }], { width: 30, height: 6, logScale: false });
    for (const line of chart.lines) expect(line).toHaveLength(30);
    expect(plot(chart.lines).join('').replace(/ /g, '').length).toBeGreaterThan(19);
  });

  it('draws later series over earlier ones and records who drew each cell', () => {
    const chart = renderLineChart(
      [
        { name: 'train', values: [1, 1, 1] },
        { name: 'validation', values: [1, 1, 1] },
      ],
      { width: 14, height: 3, logScale: false },
    );
    const owners = chart.owners.flat().filter((owner) => owner >= 0);
    expect(owners.length).toBeGreaterThan(0);
    expect(new Set(owners)).toEqual(new Set([1]));
  });

  it('uses a log scale that spreads decades evenly', () => {
    const values = [1, 0.1, 0.01, 0.001];
    const linear = renderLineChart([{ name: 'loss', values }], { width: 14, height: 4, logScale: false });
    const log = renderLineChart([{ name: 'loss', values }], { width: 14, height: 4, logScale: true });
    // Linear: the last three points crowd into the bottom row. Log: one row per decade.
    expect(plot(linear.lines)[3]).toMatch(/╰──/);
    expect(plot(log.lines)).toEqual(['╮   ', '╰╮  ', ' ╰╮ ', '  ╰─']);
    expect(log.lines[0]).toMatch(/^ +1┤/);
    expect(log.lines[3]).toMatch(/ 0.001┤/);
  });

  it('leaves gaps for non-finite values and non-positive values on a log scale', () => {
    const chart = renderLineChart([{ name: 'loss', values: [1, Number.NaN, 1] }], {
      width: 13,
      height: 2,
      logScale: false,
    });
    expect(plot(chart.lines).join('')).toContain(' ');
    const log = renderLineChart([{ name: 'loss', values: [0, -1] }], {
      width: 13,
      height: 2,
      logScale: true,
    });
    expect(plot(log.lines).join('').trim()).toBe('');
  });

  it('renders an empty frame before the first point', () => {
    const chart = renderLineChart([], { width: 20, height: 4, logScale: false });
    expect(chart.lines).toHaveLength(4);
    expect(chart.lines.join('')).not.toMatch(/[─╭╮╯╰]/);
  });
});

describe('renderLineChart marks, glyphs and the x axis', () => {
  const falling = Array.from({ length: 10 }, (_, i) => 1 / (i + 1));

  it('draws a points series with • at its points and · between them, apart from a line series', () => {
    const chart = renderLineChart(
      [
        { name: 'train', values: falling },
        { name: 'validation', values: falling.map((v) => v + 0.5), style: 'points' },
      ],
      { width: 40, height: 8, logScale: false },
    );
    const cells = plot(chart.lines).join('');
    expect(cells).toMatch(/•/);
    expect(cells).toMatch(/·/);
    expect(cells).toMatch(/[─╭╮╯╰]/);
    // Every • or · belongs to the validation series, every box-drawing cell to train.
    for (const [row, line] of chart.lines.entries()) {
      for (const [column, glyph] of [...line].entries()) {
        if (glyph === '•' || glyph === '·') expect(chart.owners[row]![column]).toBe(1);
        if ('─╭╮╯╰│'.includes(glyph) && column > 9) expect(chart.owners[row]![column]).toBe(0);
      }
    }
    expect(plot(chart.lines).join('').match(/•/g)?.length).toBeGreaterThanOrEqual(10);
  });

  it('marks a point with a vertical ┊ in the cells no series drew, at that point’s column', () => {
    const chart = renderLineChart([{ name: 'loss', values: falling }], {
      width: 40,
      height: 6,
      logScale: false,
      markers: [6],
      xAxis: { first: 1 },
    });
    const column = 10 + Math.round((6 * 29) / 9);
    const markerRows = chart.lines.filter((line) => line[column] === '┊').length;
    expect(markerRows).toBeGreaterThanOrEqual(4);
    expect(chart.lines.every((line) => line[column] === '┊' || line[column] !== ' ')).toBe(true);
    expect(chart.owners.some((row) => row[column] === -2)).toBe(true);
    // The tick of point 6 (label 7) is in the same column.
    expect(chart.axis[0]![column]).toBe('┬');
    expect(chart.axis[1]![column]).toBe('7');
  });

  it('labels the x axis from `first` to the last point, each label starting at its tick', () => {
    const chart = renderLineChart([{ name: 'loss', values: falling }], {
      width: 40,
      height: 4,
      logScale: false,
      xAxis: { first: 1, title: 'epoch' },
    });
    expect(chart.axis).toHaveLength(2);
    for (const line of chart.axis) expect(line).toHaveLength(40);
    expect(chart.axis[0]).toMatch(/^ {9}└[─┬]+$/);
    expect(chart.axis[1]).toMatch(/^ {4}epoch 1 +2 +3 +4 +5 +6 +7 +8 +9 +10$/);
    const ticks = [...chart.axis[0]!].flatMap((glyph, column) => (glyph === '┬' ? [column] : []));
    const labels = [...chart.axis[1]!.matchAll(/\d+/g)].map((match) => match.index);
    expect(ticks).toEqual(labels.slice(0, -1).concat(39));
  });

  it('thins the labels of many points to round steps and keeps the first and the last', () => {
    const values = Array.from({ length: 137 }, (_, i) => 1 / (i + 1));
    const chart = renderLineChart([{ name: 'loss', values }], {
      width: 40,
      height: 4,
      logScale: false,
      xAxis: { first: 1 },
    });
    const labels = chart.axis[1]!.trim().split(/ +/).map(Number);
    expect(labels[0]).toBe(1);
    expect(labels.at(-1)).toBe(137);
    for (const label of labels.slice(1, -1)) expect(label % 20).toBe(0);
    expect(labels).toEqual([...labels].sort((a, b) => a - b));
  });

  it('has no axis unless asked', () => {
    expect(
      renderLineChart([{ name: 'x', values: [1, 2] }], { width: 20, height: 3, logScale: false }).axis,
    ).toEqual([]);
  });
});
