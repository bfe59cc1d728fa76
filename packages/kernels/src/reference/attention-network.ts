// Plain TypeScript twins of the network kernels' losses, written the obvious way from the
// networks' definitions (float64, arrays of rows, window by window). The tests hold the kernels'
// losses to these, and their gradients to these losses' central differences.

import type { AttentionKernelArchitecture } from '../attention-network.js';

type Rows = number[][];

/** The attention autoencoder's trimmed loss (assembly/attention-network.ts says the network). */
export function attentionLoss(
  a: AttentionKernelArchitecture,
  params: ArrayLike<number>,
  positions: ArrayLike<number>,
  x: ArrayLike<number>,
  trimmed: number,
): number {
  const { featureCount: f, windowSize: w, modelDim: d, heads, feedForwardDim: ff, latentDim: z } = a;
  let at = 0;
  const take = (rows: number, cols: number): Rows =>
    Array.from({ length: rows }, () => Array.from({ length: cols }, () => params[at++]!));
  const vector = (n: number) => take(1, n)[0]!;
  const dense = (h: Rows, kernel: Rows, bias: number[]): Rows =>
    h.map((row) => bias.map((b, j) => b + row.reduce((s, v, i) => s + v * kernel[i]![j]!, 0)));
  const norm = (h: Rows, gain: number[], shift: number[]): Rows =>
    h.map((row) => {
      const mean = row.reduce((s, v) => s + v, 0) / row.length;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
      return row.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gain[j]! + shift[j]!);
    });
  const addRows = (p: Rows, q: Rows): Rows => p.map((row, i) => row.map((v, j) => v + q[i]![j]!));
  const P: Rows = Array.from({ length: w }, (_, t) =>
    Array.from({ length: d }, (_, j) => positions[t * d + j]!),
  );
  const readBlock = () => ({
    q: [take(d, d), vector(d)] as const,
    k: [take(d, d), vector(d)] as const,
    v: [take(d, d), vector(d)] as const,
    o: [take(d, d), vector(d)] as const,
    norm1: [vector(d), vector(d)] as const,
    ff1: [take(d, ff), vector(ff)] as const,
    ff2: [take(ff, d), vector(d)] as const,
    norm2: [vector(d), vector(d)] as const,
  });
  const input = [take(f, d), vector(d)] as const;
  const encoders = Array.from({ length: a.blocks }, readBlock);
  const bottleneck = [take(w * d, z), vector(z)] as const;
  const expand = [take(z, w * d), vector(w * d)] as const;
  const decoders = Array.from({ length: a.blocks }, readBlock);
  const output = [take(d, f), vector(f)] as const;
  const block = (h: Rows, b: ReturnType<typeof readBlock>): Rows => {
    const [q, k, v] = [dense(h, ...b.q), dense(h, ...b.k), dense(h, ...b.v)];
    const hd = d / heads;
    const merged: Rows = h.map(() => new Array(d).fill(0));
    for (let head = 0; head < heads; head++) {
      for (let t = 0; t < w; t++) {
        const scores = k.map((ks) => {
          let dot = 0;
          for (let c = head * hd; c < (head + 1) * hd; c++) dot += q[t]![c]! * ks[c]!;
          return dot / Math.sqrt(hd);
        });
        const top = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - top));
        const total = e.reduce((s, v) => s + v, 0);
        for (let c = head * hd; c < (head + 1) * hd; c++) {
          merged[t]![c] = e.reduce((s, p, si) => s + (p / total) * v[si]![c]!, 0);
        }
      }
    }
    const h1 = norm(addRows(h, dense(merged, ...b.o)), ...b.norm1);
    const hidden = dense(h1, ...b.ff1).map((row) => row.map((u) => Math.max(u, 0)));
    return norm(addRows(h1, dense(hidden, ...b.ff2)), ...b.norm2);
  };
  const errors: number[] = [];
  for (let start = 0; start < x.length; start += w * f) {
    const window: Rows = Array.from({ length: w }, (_, t) =>
      Array.from({ length: f }, (_, i) => x[start + t * f + i]!),
    );
    let h = addRows(dense(window, ...input), P);
    for (const b of encoders) h = block(h, b);
    const latent = dense([h.flat()], ...bottleneck)[0]!.map(Math.tanh);
    const flat = dense([latent], ...expand)[0]!;
    h = addRows(
      Array.from({ length: w }, (_, t) => flat.slice(t * d, t * d + d)),
      P,
    );
    for (const b of decoders) h = block(h, b);
    const out = dense(h, ...output);
    errors.push(out.flat().reduce((s, v, i) => s + (v - window.flat()[i]!) ** 2, 0) / (w * f));
  }
  const keep = errors.length - Math.floor(errors.length * trimmed);
  const kept = errors
    .map((e, i) => [e, i] as const)
    .sort((p, q) => p[0] - q[0] || p[1] - q[1])
    .slice(0, keep);
  return kept.reduce((s, [e]) => s + e, 0) / keep;
}
