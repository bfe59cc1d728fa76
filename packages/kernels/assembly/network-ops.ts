// The operations the network kernels are made of, over float32 buffers in memory: pointer
// helpers, a matMul four columns and two rows at a time (f32x4), a transpose, a dense layer and
// its backward pass, layer normalization and its backward pass.

const LAYER_NORM_EPSILON: f32 = 1e-5;

export function at(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}

export function put(p: usize, i: i32, v: f32): void {
  store<f32>(p + ((<usize>i) << 2), v);
}

export function add(p: usize, i: i32, v: f32): void {
  const q = p + ((<usize>i) << 2);
  store<f32>(q, load<f32>(q) + v);
}

export function skip(p: usize, floats: i32): usize {
  return p + ((<usize>floats) << 2);
}

export function zero(p: usize, floats: i32): void {
  memory.fill(p, 0, (<usize>floats) << 2);
}

export const START_ZERO: i32 = 0;
export const START_BIAS: i32 = 1;
export const START_OUT: i32 = 2;

/**
 * out[r, j] = start + Σ_i a[r, i] b[i, j] for r < rows, j < m, i < n, where a[r, i] lies at
 * a + (r·aRow + i·aCol) floats (so a transposed operand needs no copy), b's rows are `bStride`
 * apart and contiguous, out's rows `outStride` apart; start is 0, bias[j] or out's own value
 * (`mode`). When m is a multiple of 4 the columns go four at a time (f32x4), two rows at once,
 * so that the sums are independent chains rather than one waiting on the last.
 */
export function matmul(
  a: usize,
  aRow: i32,
  aCol: i32,
  rows: i32,
  n: i32,
  b: usize,
  bStride: i32,
  m: i32,
  out: usize,
  outStride: i32,
  bias: usize,
  mode: i32,
): void {
  const aStep = (<usize>aCol) << 2;
  const bStep = (<usize>bStride) << 2;
  if ((m & 3) !== 0) {
    for (let r: i32 = 0; r < rows; r++) {
      const o = skip(out, r * outStride);
      for (let j: i32 = 0; j < m; j++) {
        let sum: f32 = mode === START_BIAS ? at(bias, j) : mode === START_OUT ? at(o, j) : 0;
        let ap = skip(a, r * aRow);
        let bp = skip(b, j);
        for (let i: i32 = 0; i < n; i++) {
          sum += load<f32>(ap) * load<f32>(bp);
          ap += aStep;
          bp += bStep;
        }
        put(o, j, sum);
      }
    }
    return;
  }
  let r: i32 = 0;
  for (; r + 1 < rows; r += 2) {
    const o0 = skip(out, r * outStride);
    const o1 = skip(o0, outStride);
    for (let j: i32 = 0; j < m; j += 4) {
      let s0 = f32x4.splat(0);
      let s1 = s0;
      if (mode === START_BIAS) {
        s0 = v128.load(skip(bias, j));
        s1 = s0;
      } else if (mode === START_OUT) {
        s0 = v128.load(skip(o0, j));
        s1 = v128.load(skip(o1, j));
      }
      let a0 = skip(a, r * aRow);
      let a1 = skip(a0, aRow);
      let bp = skip(b, j);
      for (let i: i32 = 0; i < n; i++) {
        const w = v128.load(bp);
        s0 = f32x4.add(s0, f32x4.mul(f32x4.splat(load<f32>(a0)), w));
        s1 = f32x4.add(s1, f32x4.mul(f32x4.splat(load<f32>(a1)), w));
        a0 += aStep;
        a1 += aStep;
        bp += bStep;
      }
      v128.store(skip(o0, j), s0);
      v128.store(skip(o1, j), s1);
    }
  }
  if (r < rows) {
    const o0 = skip(out, r * outStride);
    for (let j: i32 = 0; j < m; j += 4) {
      let s0 = f32x4.splat(0);
      if (mode === START_BIAS) s0 = v128.load(skip(bias, j));
      else if (mode === START_OUT) s0 = v128.load(skip(o0, j));
      let a0 = skip(a, r * aRow);
      let bp = skip(b, j);
      for (let i: i32 = 0; i < n; i++) {
        s0 = f32x4.add(s0, f32x4.mul(f32x4.splat(load<f32>(a0)), v128.load(bp)));
        a0 += aStep;
        bp += bStep;
      }
      v128.store(skip(o0, j), s0);
    }
  }
}

/** to[j, i] = from[i, j] for `rows` × `cols` floats at `from` whose rows are `stride` apart. */
export function transpose(from: usize, rows: i32, cols: i32, stride: i32, to: usize): void {
  for (let i: i32 = 0; i < rows; i++) {
    for (let j: i32 = 0; j < cols; j++) put(to, j * rows + i, at(from, i * stride + j));
  }
}

/** A scratch area for transposed operands: the largest kernel's floats, set before a call. */
let transposed: usize = 0;

export function setTransposeScratch(pointer: usize): void {
  transposed = pointer;
}

/** out[r, j] = b[j] + Σ_i x[r, i] w[i, j], for `rows` rows. */
export function linear(x: usize, rows: i32, n: i32, m: i32, w: usize, b: usize, out: usize): void {
  matmul(x, n, 1, rows, n, w, m, m, out, m, b, START_BIAS);
}

/**
 * The backward pass of `linear` for the output gradient dy: dw += xᵀ dy, db += Σ_r dy, and, when
 * dx is not 0, dx = dy wᵀ (or dx += dy wᵀ with `accumulate`).
 */
export function linearBackward(
  x: usize,
  dy: usize,
  rows: i32,
  n: i32,
  m: i32,
  w: usize,
  dw: usize,
  db: usize,
  dx: usize,
  accumulate: bool,
): void {
  // xᵀ as the left operand: element (i, r) of xᵀ is x[r·n + i].
  matmul(x, 1, n, n, rows, dy, m, m, dw, m, 0, START_OUT);
  for (let r: i32 = 0; r < rows; r++) {
    const g = skip(dy, r * m);
    for (let j: i32 = 0; j < m; j++) add(db, j, at(g, j));
  }
  if (dx === 0) return;
  transpose(w, n, m, m, transposed);
  matmul(dy, m, 1, rows, m, transposed, n, n, dx, n, 0, accumulate ? START_OUT : START_ZERO);
}

/**
 * Layer normalization of `xhat`'s `rows` rows of width D, in place: xhat becomes the normalized
 * rows, `inv` each row's 1/√(variance + ε), and `out` = gain · xhat + shift.
 */
export function layerNorm(
  rows: i32,
  D: i32,
  xhat: usize,
  inv: usize,
  gain: usize,
  shift: usize,
  out: usize,
): void {
  for (let r: i32 = 0; r < rows; r++) {
    const row = skip(xhat, r * D);
    let mean: f32 = 0;
    for (let j: i32 = 0; j < D; j++) mean += at(row, j);
    mean /= <f32>D;
    let variance: f32 = 0;
    for (let j: i32 = 0; j < D; j++) {
      const c = at(row, j) - mean;
      variance += c * c;
    }
    variance /= <f32>D;
    const scale: f32 = 1 / Mathf.sqrt(variance + LAYER_NORM_EPSILON);
    put(inv, r, scale);
    const o = skip(out, r * D);
    for (let j: i32 = 0; j < D; j++) {
      const normalized = (at(row, j) - mean) * scale;
      put(row, j, normalized);
      put(o, j, at(gain, j) * normalized + at(shift, j));
    }
  }
}

/** The backward pass of `layerNorm`: from dy (rows × D) to dx; accumulates the gain's and shift's gradients. */
export function layerNormBackward(
  rows: i32,
  D: i32,
  dy: usize,
  xhat: usize,
  inv: usize,
  gain: usize,
  dgain: usize,
  dshift: usize,
  dx: usize,
): void {
  for (let r: i32 = 0; r < rows; r++) {
    const g = skip(dy, r * D);
    const h = skip(xhat, r * D);
    let sum: f32 = 0;
    let dot: f32 = 0;
    for (let j: i32 = 0; j < D; j++) {
      const gy = at(g, j);
      add(dgain, j, gy * at(h, j));
      add(dshift, j, gy);
      const gx = gy * at(gain, j);
      sum += gx;
      dot += gx * at(h, j);
    }
    sum /= <f32>D;
    dot /= <f32>D;
    const scale = at(inv, r);
    const out = skip(dx, r * D);
    for (let j: i32 = 0; j < D; j++) put(out, j, scale * (at(g, j) * at(gain, j) - sum - at(h, j) * dot));
  }
}
