// Plain TypeScript twin of assembly/isolation-forest.ts: the same subsampling, the same draws in
// the same order, the same complete-tree layout. A forest built here with a seed is equal, array
// for array, to the one the WebAssembly kernel builds with that seed.

import type { Matrix } from '../api.js';
import { ReferenceRandom } from './random.js';

/** The flat arrays of a fitted forest (see assembly/isolation-forest.ts for the layout). */
export interface ForestArrays {
  trees: number;
  depth: number;
  /** Non-zero terms per node of an extended forest; 0 for a standard forest. */
  terms: number;
  features: Int32Array;
  indices: Int32Array;
  weights: Float64Array;
  thresholds: Float64Array;
  leaves: Float64Array;
}

/** c(size) for size 0..psi: the average path length of an unsuccessful BST search, H exact. */
export function averagePathLengths(psi: number): Float64Array {
  const c = new Float64Array(psi + 1);
  let harmonic = 0; // H(n - 1)
  for (let n = 2; n <= psi; n++) {
    harmonic += 1 / (n - 1);
    c[n] = 2 * harmonic - (2 * (n - 1)) / n;
  }
  return c;
}

export function depthFor(psi: number): number {
  return Math.ceil(Math.log2(psi));
}

export function buildForestReference(
  X: Matrix,
  psi: number,
  trees: number,
  seedLow: number,
  seedHigh: number,
  terms: number,
): ForestArrays {
  const { data, rows: n, cols: d } = X;
  const depth = depthFor(psi);
  const internal = (1 << depth) - 1;
  const leafCount = 1 << depth;
  const c = averagePathLengths(psi);
  const forest: ForestArrays = {
    trees,
    depth,
    terms,
    features: new Int32Array(terms === 0 ? trees * internal : 0),
    indices: new Int32Array(trees * internal * terms),
    weights: new Float64Array(trees * internal * terms),
    thresholds: new Float64Array(trees * internal),
    leaves: new Float64Array(trees * leafCount),
  };
  const permutation = Int32Array.from({ length: n }, (_, i) => i);
  const sample = new Float64Array(psi * d);
  const rowIndex = new Int32Array(psi);
  const swaps = new Int32Array(psi);
  const lows = new Float64Array(d);
  const highs = new Float64Array(d);
  const value = (r: number, f: number) => sample[r * d + f] as number;

  for (let t = 0; t < trees; t++) {
    const random = new ReferenceRandom(seedLow, seedHigh, t);
    for (let j = 0; j < psi; j++) {
      const r = j + random.nextBelow(n - j);
      const a = permutation[j] as number;
      const b = permutation[r] as number;
      permutation[j] = b;
      permutation[r] = a;
      swaps[j] = r;
      sample.set(data.subarray(b * d, b * d + d), j * d);
    }
    for (let j = psi - 1; j >= 0; j--) {
      const r = swaps[j] as number;
      const a = permutation[j] as number;
      permutation[j] = permutation[r] as number;
      permutation[r] = a;
    }
    for (let j = 0; j < psi; j++) rowIndex[j] = j;
    const nodeBase = t * internal;
    const leafBase = t * leafCount;

    const makeLeaf = (node: number, level: number, size: number) => {
      let at = node;
      for (let l = level; l < depth; l++) {
        forest.thresholds[nodeBase + at] = Number.POSITIVE_INFINITY;
        at = 2 * at + 1;
      }
      forest.leaves[leafBase + at - internal] = level + (c[size] as number);
    };

    const split = (lo: number, hi: number, goesLeft: (r: number) => boolean): number => {
      let i = lo;
      let j = hi - 1;
      while (i <= j) {
        const r = rowIndex[i] as number;
        if (goesLeft(r)) {
          i++;
        } else {
          rowIndex[i] = rowIndex[j] as number;
          rowIndex[j] = r;
          j--;
        }
      }
      return i;
    };

    const buildStandard = (node: number, level: number, lo: number, hi: number): void => {
      const size = hi - lo;
      if (level >= depth || size <= 1) {
        makeLeaf(node, level, size);
        return;
      }
      const candidates = Int32Array.from({ length: d }, (_, f) => f);
      let remaining = d;
      while (remaining > 0) {
        const pick = random.nextBelow(remaining);
        const feature = candidates[pick] as number;
        let lowest = value(rowIndex[lo] as number, feature);
        let highest = lowest;
        for (let i = lo + 1; i < hi; i++) {
          const v = value(rowIndex[i] as number, feature);
          if (v < lowest) lowest = v;
          if (v > highest) highest = v;
        }
        if (highest > lowest) {
          let threshold = lowest + random.nextUniform() * (highest - lowest);
          if (threshold >= highest) threshold = lowest;
          const mid = split(lo, hi, (r) => value(r, feature) <= threshold);
          forest.features[nodeBase + node] = feature;
          forest.thresholds[nodeBase + node] = threshold;
          buildStandard(2 * node + 1, level + 1, lo, mid);
          buildStandard(2 * node + 2, level + 1, mid, hi);
          return;
        }
        remaining--;
        candidates[pick] = candidates[remaining] as number;
      }
      makeLeaf(node, level, size);
    };

    const buildExtended = (node: number, level: number, lo: number, hi: number): void => {
      const size = hi - lo;
      if (level >= depth || size <= 1) {
        makeLeaf(node, level, size);
        return;
      }
      let varying = 0;
      for (let f = 0; f < d; f++) {
        let lowest = value(rowIndex[lo] as number, f);
        let highest = lowest;
        for (let i = lo + 1; i < hi; i++) {
          const v = value(rowIndex[i] as number, f);
          if (v < lowest) lowest = v;
          if (v > highest) highest = v;
        }
        lows[f] = lowest;
        highs[f] = highest;
        if (highest > lowest) varying++;
      }
      if (varying === 0) {
        makeLeaf(node, level, size);
        return;
      }
      const candidates = Int32Array.from({ length: d }, (_, f) => f);
      const base = (nodeBase + node) * terms;
      let intercept = 0;
      for (let j = 0; j < terms; j++) {
        const pick = j + random.nextBelow(d - j);
        const feature = candidates[pick] as number;
        candidates[pick] = candidates[j] as number;
        candidates[j] = feature;
        const weight = random.nextGaussian();
        const lowest = lows[feature] as number;
        const point = lowest + random.nextUniform() * ((highs[feature] as number) - lowest);
        intercept += weight * point;
        forest.indices[base + j] = feature;
        forest.weights[base + j] = weight;
      }
      forest.thresholds[nodeBase + node] = intercept;
      const mid = split(lo, hi, (r) => {
        let dot = 0;
        for (let j = 0; j < terms; j++) {
          dot += (forest.weights[base + j] as number) * value(r, forest.indices[base + j] as number);
        }
        return dot <= intercept;
      });
      buildExtended(2 * node + 1, level + 1, lo, mid);
      buildExtended(2 * node + 2, level + 1, mid, hi);
    };

    if (terms === 0) buildStandard(0, 0, 0, psi);
    else buildExtended(0, 0, 0, psi);
  }
  return forest;
}

/** Sum over trees of h(x) (path length + c(leaf size)) per row, walking each tree point by point. */
export function pathLengthSumsReference(forest: ForestArrays, X: Matrix): Float64Array {
  const { depth, trees, terms } = forest;
  const internal = (1 << depth) - 1;
  const leafCount = 1 << depth;
  const out = new Float64Array(X.rows);
  for (let r = 0; r < X.rows; r++) {
    const offset = r * X.cols;
    let total = 0;
    for (let t = 0; t < trees; t++) {
      let node = 0;
      for (let level = 0; level < depth; level++) {
        const at = t * internal + node;
        let v: number;
        if (terms === 0) {
          v = X.data[offset + (forest.features[at] as number)] as number;
        } else {
          v = 0;
          for (let j = 0; j < terms; j++) {
            v +=
              (forest.weights[at * terms + j] as number) *
              (X.data[offset + (forest.indices[at * terms + j] as number)] as number);
          }
        }
        node = 2 * node + 1 + (v > (forest.thresholds[at] as number) ? 1 : 0);
      }
      total += forest.leaves[t * leafCount + node - internal] as number;
    }
    out[r] = total;
  }
  return out;
}
