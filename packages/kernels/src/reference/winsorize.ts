// Twin of assembly/winsorize.ts, by sorting: numpy's 'linear' quantile (virtual index (n-1) q, and
// numpy's _lerp, which interpolates from the upper side when the fraction is >= 0.5).

export function referenceQuantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values)
    .filter((v) => !Number.isNaN(v))
    .sort();
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const k = Math.floor(h);
  const a = sorted[k] as number;
  const b = (k + 1 < n ? sorted[k + 1] : a) as number;
  const t = h - k;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

export function referenceClip(values: ArrayLike<number>, lower: number, upper: number): Float64Array {
  return Float64Array.from(values, (v) => Math.min(Math.max(v, lower), upper));
}
