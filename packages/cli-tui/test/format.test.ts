import { describe, expect, it } from 'vitest';
import {
  fit,
  formatCompact,
  formatCount,
  formatDuration,
  formatEta,
  formatNumber,
  formatPercent,
  formatRate,
  formatTime,
  progressBar,
  truncate,
} from '../src/format.js';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [1_000, '1.0s'],
    [12_345, '12s'],
    [9_940, '9.9s'],
    [65_000, '1m 05s'],
    [3_599_000, '59m 59s'],
    [3_723_000, '1h 02m'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('says -- for unknown durations', () => {
    expect(formatDuration(undefined)).toBe('--');
    expect(formatDuration(Number.NaN)).toBe('--');
    expect(formatDuration(-5)).toBe('--');
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('ETA --');
    expect(formatEta(90_000)).toBe('ETA 1m 30s');
  });
});

describe('numbers', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(-4321.6)).toBe('-4,322');
  });

  it('writes compact magnitudes', () => {
    expect(formatCompact(950)).toBe('950');
    expect(formatCompact(12_345)).toBe('12.3k');
    expect(formatCompact(4_560_000)).toBe('4.56M');
    expect(formatCompact(999_999)).toBe('1000k');
    expect(formatCompact(2.5)).toBe('2.5');
    expect(formatRate(12_345, 'rows')).toBe('12.3k rows/s');
    expect(formatRate(Number.NaN, 'rows')).toBe('-- rows/s');
  });

  it('keeps measured values short with significant digits', () => {
    expect(formatNumber(0.012345)).toBe('0.0123');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(1.23456e-5)).toBe('1.23e-5');
    expect(formatNumber(12345)).toBe('12345');
    expect(formatNumber(4.56e7)).toBe('4.56e+7');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(-0.25, 2)).toBe('-0.25');
  });

  it('writes percents, times and bars', () => {
    expect(formatPercent(0.424)).toBe('42%');
    expect(formatPercent(2)).toBe('100%');
    expect(formatTime(Date.UTC(2024, 2, 1, 14, 5))).toBe('2024-03-01 14:05');
    expect(progressBar(0.5, 10)).toBe('█████░░░░░');
    expect(progressBar(-1, 4)).toBe('░░░░');
    expect(progressBar(Number.NaN, 3)).toBe('░░░');
  });
});

describe('text fitting', () => {
  it('cuts with an ellipsis and pads to width', () => {
    expect(truncate('isolation-forest', 10)).toBe('isolation…');
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('abc', 0)).toBe('');
    expect(fit('ab', 4)).toBe('ab  ');
    expect(fit('ab', 4, 'right')).toBe('  ab');
    expect(fit('abcdef', 4)).toBe('abc…');
  });
});
