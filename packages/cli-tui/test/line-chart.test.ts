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
