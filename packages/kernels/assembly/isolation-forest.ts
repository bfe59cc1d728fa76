// Isolation Forest (Liu, Ting & Zhou 2008) and Extended Isolation Forest (Hariri et al. 2019):
// tree building and batch scoring. The kernels never allocate: the host hands in every buffer,
// so several instances (one per worker thread) can share one memory.
//
// Tree layout: each tree is a complete binary tree of depth L = ceil(log2 psi). Internal node i
// has children 2i+1 (left: value <= threshold) and 2i+2 (right). A leaf reached before depth L is
// padded with always-left nodes (threshold +Infinity) down to depth L, so every walk takes exactly
// L steps with no branch, and leafValue[leaf] = depth + c(size) is read at the end.
// The TypeScript twin is src/reference/isolation-forest.ts: same draws, same arrays.

import { nextBelow, nextU32, nextUniform, seedStream } from './random';

// Per-instance state of the tree being built (each worker thread has its own instance).
let dataRows: usize = 0; // sampled rows, psi x d
let dims: i32 = 0;
let depthLimit: i32 = 0;
let rowIndex: usize = 0; // i32[psi]
let candidates: usize = 0; // i32[d * (L + 1)]
let cTable: usize = 0; // c(size) for size 0..psi
let treeFeatures: usize = 0;
let treeThresholds: usize = 0;
let treeLeaves: usize = 0;
let terms: i32 = 1; // extended: non-zero terms per node
let treeIndices: usize = 0;
let treeWeights: usize = 0;
let bounds: usize = 0; // extended: f64[2 * d] min and max per feature

function row(index: i32, feature: i32): f64 {
  return load<f64>(dataRows + ((<usize>index * <usize>dims + <usize>feature) << 3));
}

function idx(position: i32): i32 {
  return load<i32>(rowIndex + ((<usize>position) << 2));
}

function setIdx(position: i32, value: i32): void {
  store<i32>(rowIndex + ((<usize>position) << 2), value);
}

function makeLeaf(node: i32, depth: i32, size: i32): void {
  const value = f64(depth) + load<f64>(cTable + ((<usize>size) << 3));
  let at = node;
  for (let level = depth; level < depthLimit; level++) {
    if (terms === 0) {
      store<i32>(treeFeatures + ((<usize>at) << 2), 0);
    }
    store<f64>(treeThresholds + ((<usize>at) << 3), Infinity);
    at = 2 * at + 1;
  }
  const internal = (1 << depthLimit) - 1;
  store<f64>(treeLeaves + ((<usize>(at - internal)) << 3), value);
}

/** Moves rows whose `feature` value is <= threshold to the front of [lo, hi); returns the split. */
function partition(lo: i32, hi: i32, feature: i32, threshold: f64): i32 {
  let i = lo;
  let j = hi - 1;
  while (i <= j) {
    if (row(idx(i), feature) <= threshold) {
      i++;
    } else {
      const t = idx(i);
      setIdx(i, idx(j));
      setIdx(j, t);
      j--;
    }
  }
  return i;
}

function buildNode(node: i32, depth: i32, lo: i32, hi: i32): void {
  const size = hi - lo;
  if (depth >= depthLimit || size <= 1) {
    makeLeaf(node, depth, size);
    return;
  }
  // As scikit-learn's splitter: draw features without replacement until one is not constant here.
  const cand = candidates + ((<usize>depth * <usize>dims) << 2);
  for (let f = 0; f < dims; f++) store<i32>(cand + ((<usize>f) << 2), f);
  let remaining = dims;
  while (remaining > 0) {
    const pick = nextBelow(remaining);
    const feature = load<i32>(cand + ((<usize>pick) << 2));
    let lowest = row(idx(lo), feature);
    let highest = lowest;
    for (let i = lo + 1; i < hi; i++) {
      const v = row(idx(i), feature);
      if (v < lowest) lowest = v;
      if (v > highest) highest = v;
    }
    if (highest > lowest) {
      let threshold = lowest + nextUniform() * (highest - lowest);
      if (threshold >= highest) threshold = lowest;
      const mid = partition(lo, hi, feature, threshold);
      store<i32>(treeFeatures + ((<usize>node) << 2), feature);
      store<f64>(treeThresholds + ((<usize>node) << 3), threshold);
      buildNode(2 * node + 1, depth + 1, lo, mid);
      buildNode(2 * node + 2, depth + 1, mid, hi);
      return;
    }
    remaining--;
    store<i32>(cand + ((<usize>pick) << 2), load<i32>(cand + ((<usize>remaining) << 2)));
  }
  // Every feature is constant: these rows cannot be separated.
  makeLeaf(node, depth, size);
}

/** Natural log by the atanh series, written identically in the TypeScript twin (bit-exact). */
function logExact(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let exponent = i32((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0xfffffffffffff) | 0x3ff0000000000000);
  if (m > Math.SQRT2) {
    m = m * 0.5;
    exponent += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let poly: f64 = 1.0 / 21.0;
  poly = 1.0 / 19.0 + s2 * poly;
  poly = 1.0 / 17.0 + s2 * poly;
  poly = 1.0 / 15.0 + s2 * poly;
  poly = 1.0 / 13.0 + s2 * poly;
  poly = 1.0 / 11.0 + s2 * poly;
  poly = 1.0 / 9.0 + s2 * poly;
  poly = 1.0 / 7.0 + s2 * poly;
  poly = 1.0 / 5.0 + s2 * poly;
  poly = 1.0 / 3.0 + s2 * poly;
  poly = 1.0 + s2 * poly;
  return f64(exponent) * Math.LN2 + 2 * s * poly;
}

/** Standard normal draw (Marsaglia's polar method). */
function nextGaussian(): f64 {
  let u: f64 = 0;
  let s: f64 = 0;
  do {
    u = 2 * nextUniform() - 1;
    const v = 2 * nextUniform() - 1;
    s = u * u + v * v;
  } while (!(s < 1 && s > 0));
  return u * Math.sqrt((-2 * logExact(s)) / s);
}

function buildNodeExtended(node: i32, depth: i32, lo: i32, hi: i32): void {
  const size = hi - lo;
  if (depth >= depthLimit || size <= 1) {
    makeLeaf(node, depth, size);
    return;
  }
  let varying = 0;
  for (let f = 0; f < dims; f++) {
    let lowest = row(idx(lo), f);
    let highest = lowest;
    for (let i = lo + 1; i < hi; i++) {
      const v = row(idx(i), f);
      if (v < lowest) lowest = v;
      if (v > highest) highest = v;
    }
    store<f64>(bounds + ((<usize>f) << 4), lowest);
    store<f64>(bounds + ((<usize>f) << 4), highest, 8);
    if (highest > lowest) varying++;
  }
  if (varying === 0) {
    makeLeaf(node, depth, size);
    return;
  }
  // `terms` distinct dimensions (partial Fisher-Yates), Gaussian weights, intercept point drawn
  // uniformly in the node's bounding box: right side when w . x > w . p.
  const cand = candidates + ((<usize>depth * <usize>dims) << 2);
  for (let f = 0; f < dims; f++) store<i32>(cand + ((<usize>f) << 2), f);
  const base = <usize>node * <usize>terms;
  let intercept: f64 = 0;
  for (let j = 0; j < terms; j++) {
    const pick = j + nextBelow(dims - j);
    const feature = load<i32>(cand + ((<usize>pick) << 2));
    store<i32>(cand + ((<usize>pick) << 2), load<i32>(cand + ((<usize>j) << 2)));
    store<i32>(cand + ((<usize>j) << 2), feature);
    const weight = nextGaussian();
    const lowest = load<f64>(bounds + ((<usize>feature) << 4));
    const highest = load<f64>(bounds + ((<usize>feature) << 4), 8);
    const point = lowest + nextUniform() * (highest - lowest);
    intercept += weight * point;
    store<i32>(treeIndices + ((base + j) << 2), feature);
    store<f64>(treeWeights + ((base + j) << 3), weight);
  }
  store<f64>(treeThresholds + ((<usize>node) << 3), intercept);
  let i = lo;
  let k = hi - 1;
  while (i <= k) {
    let dot: f64 = 0;
    const r = idx(i);
    for (let j = 0; j < terms; j++) {
      dot += load<f64>(treeWeights + ((base + j) << 3)) * row(r, load<i32>(treeIndices + ((base + j) << 2)));
    }
    if (dot <= intercept) {
      i++;
    } else {
      setIdx(i, idx(k));
      setIdx(k, r);
      k--;
    }
  }
  buildNodeExtended(2 * node + 1, depth + 1, lo, i);
  buildNodeExtended(2 * node + 2, depth + 1, i, hi);
}

/** Bytes of scratch one thread needs to build trees (see the layout in buildTrees). */
export function buildScratchBytes(n: i32, d: i32, psi: i32, depth: i32): usize {
  return (
    ((((<usize>n) << 2) + 15) / 16) * 16 +
    ((<usize>psi * <usize>d) << 3) +
    ((((<usize>psi) << 2) + 15) / 16) * 16 +
    ((((<usize>d * <usize>(depth + 1)) << 2) + 15) / 16) * 16 +
    ((<usize>d) << 4)
  );
}

/**
 * Builds trees [treeStart, treeEnd) of a forest over the n x d rows at `x`. Tree t draws from the
 * stream seeded by (seed, t) alone, so the forest does not depend on how trees are split between
 * threads. `extensionTerms` 0 builds standard trees into `features`/`thresholds`; k >= 1 builds
 * extended trees with k non-zero terms per node into `indices`/`weights`/`thresholds`.
 */
export function buildTrees(
  x: usize,
  n: i32,
  d: i32,
  psi: i32,
  depth: i32,
  treeStart: i32,
  treeEnd: i32,
  seedLow: u32,
  seedHigh: u32,
  cValues: usize,
  extensionTerms: i32,
  features: usize,
  indices: usize,
  weights: usize,
  thresholds: usize,
  leaves: usize,
  scratch: usize,
): void {
  const permutation = scratch;
  dataRows = permutation + ((((<usize>n) << 2) + 15) / 16) * 16;
  rowIndex = dataRows + ((<usize>psi * <usize>d) << 3);
  candidates = rowIndex + ((((<usize>psi) << 2) + 15) / 16) * 16;
  bounds = candidates + ((((<usize>d * <usize>(depth + 1)) << 2) + 15) / 16) * 16;
  dims = d;
  depthLimit = depth;
  cTable = cValues;
  terms = extensionTerms;
  const internal = (1 << depth) - 1;
  const leafCount = 1 << depth;
  const rowBytes = (<usize>d) << 3;
  for (let i = 0; i < n; i++) store<i32>(permutation + ((<usize>i) << 2), i);
  for (let t = treeStart; t < treeEnd; t++) {
    seedStream(seedLow, seedHigh, u32(t));
    // Subsample psi rows without replacement: a partial Fisher-Yates shuffle, undone afterwards
    // so the permutation is the identity again for the next tree (O(psi), not O(n), per tree).
    for (let j = 0; j < psi; j++) {
      const r = j + nextBelow(n - j);
      const a = load<i32>(permutation + ((<usize>j) << 2));
      const b = load<i32>(permutation + ((<usize>r) << 2));
      store<i32>(permutation + ((<usize>j) << 2), b);
      store<i32>(permutation + ((<usize>r) << 2), a);
      store<i32>(rowIndex + ((<usize>j) << 2), r); // remember the swap partner
      memory.copy(dataRows + <usize>j * rowBytes, x + <usize>b * rowBytes, rowBytes);
    }
    for (let j = psi - 1; j >= 0; j--) {
      const r = load<i32>(rowIndex + ((<usize>j) << 2));
      const a = load<i32>(permutation + ((<usize>j) << 2));
      const b = load<i32>(permutation + ((<usize>r) << 2));
      store<i32>(permutation + ((<usize>j) << 2), b);
      store<i32>(permutation + ((<usize>r) << 2), a);
    }
    for (let j = 0; j < psi; j++) store<i32>(rowIndex + ((<usize>j) << 2), j);
    treeThresholds = thresholds + ((<usize>t * <usize>internal) << 3);
    treeLeaves = leaves + ((<usize>t * <usize>leafCount) << 3);
    memory.fill(treeThresholds, 0, (<usize>internal) << 3);
    memory.fill(treeLeaves, 0, (<usize>leafCount) << 3);
    if (extensionTerms === 0) {
      treeFeatures = features + ((<usize>t * <usize>internal) << 2);
      memory.fill(treeFeatures, 0, (<usize>internal) << 2);
      buildNode(0, 0, 0, psi);
    } else {
      treeIndices = indices + ((<usize>t * <usize>internal * <usize>extensionTerms) << 2);
      treeWeights = weights + ((<usize>t * <usize>internal * <usize>extensionTerms) << 3);
      memory.fill(treeIndices, 0, (<usize>internal * <usize>extensionTerms) << 2);
      memory.fill(treeWeights, 0, (<usize>internal * <usize>extensionTerms) << 3);
      buildNodeExtended(0, 0, 0, psi);
    }
  }
}

const BLOCK: i32 = 64;

/**
 * Packs standard trees for scoreRowsPacked: node i of tree t becomes 16 bytes at
 * nodes + (t * internal + i) * 16: the threshold (f64), then the feature's byte offset in a row (i32).
 */
export function packTrees(features: usize, thresholds: usize, trees: i32, depth: i32, nodes: usize): void {
  const total = <usize>trees * <usize>((1 << depth) - 1);
  for (let i: usize = 0; i < total; i++) {
    store<f64>(nodes + (i << 4), load<f64>(thresholds + (i << 3)));
    store<i32>(nodes + (i << 4), load<i32>(features + (i << 2)) << 3, 8);
  }
}

/**
 * Adds, for rows [rowStart, rowEnd) of the n x d matrix at `x`, the path length h(x) of trees
 * [0, trees) into out[row] (out must start at zero), over packed trees. Blocks of 64 rows walk
 * each tree level by level, four points at a time in registers: four independent chains of
 * (load node, load value, compare, step: child = 2i + 1 + (value > threshold)) keep the
 * pipeline busy, with no branch on the data. Per point, trees are added in the same order as everywhere else, so sums are identical.
 */
export function scoreRowsPacked(
  x: usize,
  d: i32,
  rowStart: i32,
  rowEnd: i32,
  trees: i32,
  depth: i32,
  nodes: usize,
  leaves: usize,
  out: usize,
): void {
  const internal = (1 << depth) - 1;
  const leafCount = 1 << depth;
  const rowBytes = (<usize>d) << 3;
  for (let start = rowStart; start < rowEnd; start += BLOCK) {
    const count = rowEnd - start < BLOCK ? rowEnd - start : BLOCK;
    const block = x + <usize>start * rowBytes;
    const outBlock = out + ((<usize>start) << 3);
    for (let t = 0; t < trees; t++) {
      const tree = nodes + ((<usize>t * <usize>internal) << 4);
      const lv = leaves + ((<usize>t * <usize>leafCount) << 3) - ((<usize>internal) << 3);
      let p = 0;
      for (; p + 4 <= count; p += 4) {
        const r0 = block + <usize>p * rowBytes;
        const r1 = r0 + rowBytes;
        const r2 = r1 + rowBytes;
        const r3 = r2 + rowBytes;
        let n0: usize = 0;
        let n1: usize = 0;
        let n2: usize = 0;
        let n3: usize = 0;
        for (let level = 0; level < depth; level++) {
          const a0 = tree + (n0 << 4);
          const a1 = tree + (n1 << 4);
          const a2 = tree + (n2 << 4);
          const a3 = tree + (n3 << 4);
          n0 = 2 * n0 + 1 + <usize>(load<f64>(r0 + <usize>load<i32>(a0, 8)) > load<f64>(a0));
          n1 = 2 * n1 + 1 + <usize>(load<f64>(r1 + <usize>load<i32>(a1, 8)) > load<f64>(a1));
          n2 = 2 * n2 + 1 + <usize>(load<f64>(r2 + <usize>load<i32>(a2, 8)) > load<f64>(a2));
          n3 = 2 * n3 + 1 + <usize>(load<f64>(r3 + <usize>load<i32>(a3, 8)) > load<f64>(a3));
        }
        const o = outBlock + ((<usize>p) << 3);
        store<f64>(o, load<f64>(o) + load<f64>(lv + (n0 << 3)));
        store<f64>(o, load<f64>(o, 8) + load<f64>(lv + (n1 << 3)), 8);
        store<f64>(o, load<f64>(o, 16) + load<f64>(lv + (n2 << 3)), 16);
        store<f64>(o, load<f64>(o, 24) + load<f64>(lv + (n3 << 3)), 24);
      }
      for (; p < count; p++) {
        const r0 = block + <usize>p * rowBytes;
        let n0: usize = 0;
        for (let level = 0; level < depth; level++) {
          const a0 = tree + (n0 << 4);
          n0 = 2 * n0 + 1 + <usize>(load<f64>(r0 + <usize>load<i32>(a0, 8)) > load<f64>(a0));
        }
        const o = outBlock + ((<usize>p) << 3);
        store<f64>(o, load<f64>(o) + load<f64>(lv + (n0 << 3)));
      }
    }
  }
}

/** w . x over the `terms` (feature, weight) pairs of one node (j ascending, as the twin). */
function nodeDot(ix: usize, w: usize, base: usize, terms: i32, row: usize): f64 {
  let dot: f64 = 0;
  for (let j = 0; j < terms; j++) {
    dot +=
      load<f64>(w + ((base + j) << 3)) * load<f64>(row + ((<usize>load<i32>(ix + ((base + j) << 2))) << 3));
  }
  return dot;
}

/**
 * As scoreRowsPacked, for extended trees (`terms` weighted features per node): blocks of 64 rows, four
 * walks interleaved so their dependent load chains overlap. Per row, trees are added in order.
 */
export function scoreRowsExtended(
  x: usize,
  d: i32,
  rowStart: i32,
  rowEnd: i32,
  trees: i32,
  depth: i32,
  terms: i32,
  indices: usize,
  weights: usize,
  thresholds: usize,
  leaves: usize,
  out: usize,
): void {
  const internal = (1 << depth) - 1;
  const leafCount = 1 << depth;
  const rowBytes = (<usize>d) << 3;
  const t32 = <usize>terms;
  for (let start = rowStart; start < rowEnd; start += BLOCK) {
    const count = rowEnd - start < BLOCK ? rowEnd - start : BLOCK;
    const block = x + <usize>start * rowBytes;
    const outBlock = out + ((<usize>start) << 3);
    for (let t = 0; t < trees; t++) {
      const ix = indices + ((<usize>t * <usize>internal * t32) << 2);
      const w = weights + ((<usize>t * <usize>internal * t32) << 3);
      const th = thresholds + ((<usize>t * <usize>internal) << 3);
      const lv = leaves + ((<usize>t * <usize>leafCount) << 3) - ((<usize>internal) << 3);
      let p = 0;
      for (; p + 4 <= count; p += 4) {
        const r0 = block + <usize>p * rowBytes;
        const r1 = r0 + rowBytes;
        const r2 = r1 + rowBytes;
        const r3 = r2 + rowBytes;
        let n0: usize = 0;
        let n1: usize = 0;
        let n2: usize = 0;
        let n3: usize = 0;
        for (let level = 0; level < depth; level++) {
          const b0 = n0 * t32;
          const b1 = n1 * t32;
          const b2 = n2 * t32;
          const b3 = n3 * t32;
          let d0: f64 = 0;
          let d1: f64 = 0;
          let d2: f64 = 0;
          let d3: f64 = 0;
          for (let j: usize = 0; j < t32; j++) {
            d0 +=
              load<f64>(w + ((b0 + j) << 3)) *
              load<f64>(r0 + ((<usize>load<i32>(ix + ((b0 + j) << 2))) << 3));
            d1 +=
              load<f64>(w + ((b1 + j) << 3)) *
              load<f64>(r1 + ((<usize>load<i32>(ix + ((b1 + j) << 2))) << 3));
            d2 +=
              load<f64>(w + ((b2 + j) << 3)) *
              load<f64>(r2 + ((<usize>load<i32>(ix + ((b2 + j) << 2))) << 3));
            d3 +=
              load<f64>(w + ((b3 + j) << 3)) *
              load<f64>(r3 + ((<usize>load<i32>(ix + ((b3 + j) << 2))) << 3));
          }
          n0 = 2 * n0 + 1 + <usize>(d0 > load<f64>(th + (n0 << 3)));
          n1 = 2 * n1 + 1 + <usize>(d1 > load<f64>(th + (n1 << 3)));
          n2 = 2 * n2 + 1 + <usize>(d2 > load<f64>(th + (n2 << 3)));
          n3 = 2 * n3 + 1 + <usize>(d3 > load<f64>(th + (n3 << 3)));
        }
        const o = outBlock + ((<usize>p) << 3);
        store<f64>(o, load<f64>(o) + load<f64>(lv + (n0 << 3)));
        store<f64>(o, load<f64>(o, 8) + load<f64>(lv + (n1 << 3)), 8);
        store<f64>(o, load<f64>(o, 16) + load<f64>(lv + (n2 << 3)), 16);
        store<f64>(o, load<f64>(o, 24) + load<f64>(lv + (n3 << 3)), 24);
      }
      for (; p < count; p++) {
        const r0 = block + <usize>p * rowBytes;
        let n0: usize = 0;
        for (let level = 0; level < depth; level++) {
          const dot = nodeDot(ix, w, n0 * t32, terms, r0);
          n0 = 2 * n0 + 1 + <usize>(dot > load<f64>(th + (n0 << 3)));
        }
        const o = outBlock + ((<usize>p) << 3);
        store<f64>(o, load<f64>(o) + load<f64>(lv + (n0 << 3)));
      }
    }
  }
}

/** The `skip`-th draw of stream (seed, stream): lets tests hold the TypeScript PRNG twin equal. */
export function randomU32(seedLow: u32, seedHigh: u32, stream: u32, skip: i32): u32 {
  seedStream(seedLow, seedHigh, stream);
  for (let i = 0; i < skip; i++) nextU32();
  return nextU32();
}
