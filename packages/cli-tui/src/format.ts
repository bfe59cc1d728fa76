/** Formatting shared by the dashboard and the plain logger: plain strings, no ANSI codes. */

/**
 * A duration for people: `850ms`, `12.3s`, `4m 05s`, `2h 07m`. Negative or non-finite input
 * gives `--` (an unknown duration, e.g. an ETA before the first measurement).
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '--';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const totalSeconds = Math.round(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** `ETA 1m 05s`, or `ETA --` while unknown. */
export function formatEta(ms: number | undefined): string {
  return `ETA ${formatDuration(ms)}`;
}

/** Integer with thousands separators: `12,345`. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const sign = value < 0 ? '-' : '';
  return sign + String(Math.round(Math.abs(value))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Compact magnitude for rates and counts: `950`, `12.3k`, `4.56M`, `1.2G`. */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) return `${precise(value / size, 3)}${suffix}`;
  }
  return precise(value, 3);
}

/** A rate: `12.3k rows/s`. */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `-- ${unit}/s`;
  return `${formatCompact(perSecond)} ${unit}/s`;
}

/**
 * A measured value (loss, score, threshold) with `significant` digits; switches to exponent form
 * for very small or very large magnitudes so it stays short: `0.0123`, `1.23e-5`, `4.56e+6`.
 */
export function formatNumber(value: number, significant = 3): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-3 || abs >= 1e6) {
    const [mantissa, exponent] = value.toExponential(significant - 1).split('e');
    return `${trimZeros(mantissa ?? '')}e${exponent}`;
  }
  return precise(value, significant);
}

/** `42%` from a fraction in [0, 1]. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '--%';
  return `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

/** A Unix-ms time as `YYYY-MM-DD HH:MM` in UTC (candles are UTC). */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return '--';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** Cuts `text` to `width` columns, marking the cut with `…`. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
}

/** Pads or cuts `text` to exactly `width` columns. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncate(text, width);
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}

/** A text progress bar of `width` cells: `█████░░░░░`. */
export function progressBar(fraction: number, width: number): string {
  if (width <= 0) return '';
  const clamped = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(clamped * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** `significant` digits without exponent form or trailing zeros; integers past them are rounded. */
function precise(value: number, significant: number): string {
  if (Math.abs(value) >= 10 ** (significant - 1)) return String(Math.round(value));
  return trimZeros(value.toPrecision(significant));
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/**
 * Why training stopped early, in words: at its best epoch it stopped on a plateau (the loss still
 * creeping down, by less than the minimum improvement for the whole patience), which "early stop
 * at epoch 137 (best epoch 137)" made read as a contradiction.
 */
export function earlyStopText(epoch: number, bestEpoch: number): string {
  return bestEpoch === epoch
    ? `early stop at epoch ${epoch} on a plateau (still improving, by less than the minimum)`
    : `early stop at epoch ${epoch} (best epoch ${bestEpoch})`;
}
