// e^x in float32 for the network kernels, four at a time: Cephes' expf (range reduction by
// ln 2 in two parts, a degree-5 polynomial, the power of two built in the exponent bits), within
// 2 ulp over [-87, 88]. AssemblyScript's Mathf.exp is exact to the last bit but took 30 ns a call,
// half of an attention training step's time in its softmax.

const LOG2E: f32 = <f32>Math.LOG2E;
const LN2_HIGH: f32 = 0.693359375;
const LN2_LOW: f32 = -2.1219444e-4;
const P0: f32 = 1.98756915e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;
const LOWEST: f32 = -87.3;
const HIGHEST: f32 = 88.3;

/** e^x of each lane. */
function exp4(x: v128): v128 {
  x = f32x4.max(f32x4.min(x, f32x4.splat(HIGHEST)), f32x4.splat(LOWEST));
  const n = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(0.5)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HIGH)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LOW)));
  let p = f32x4.splat(P0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  const power = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, power);
}

/** e^x, the same arithmetic as one lane of `exp4`. */
export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/**
 * row[i] = e^(row[i] − shift) for `count` floats at `row`, in place; returns their sum (a
 * softmax's numerators and denominator).
 */
export function expShifted(row: usize, count: i32, shift: f32): f32 {
  const by = f32x4.splat(shift);
  let sum = f32x4.splat(0);
  let i: i32 = 0;
  for (; i + 4 <= count; i += 4) {
    const at = row + ((<usize>i) << 2);
    const e = exp4(f32x4.sub(v128.load(at), by));
    v128.store(at, e);
    sum = f32x4.add(sum, e);
  }
  let total: f32 =
    f32x4.extract_lane(sum, 0) +
    f32x4.extract_lane(sum, 1) +
    (f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3));
  for (; i < count; i++) {
    const at = row + ((<usize>i) << 2);
    const e = exp1(load<f32>(at) - shift);
    store<f32>(at, e);
    total += e;
  }
  return total;
}
