// TypeScript twin of assembly/random.ts: the same 32-bit operations (Math.imul, >>> 0), so the
// same (seed, stream) gives bit-identical draws.

function fmix32(value: number): number {
  let z = value >>> 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x85ebca6b) >>> 0;
  z ^= z >>> 13;
  z = Math.imul(z, 0xc2b2ae35) >>> 0;
  z ^= z >>> 16;
  return z >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class ReferenceRandom {
  private s0 = 1;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private splitState = 0;

  constructor(seedLow: number, seedHigh: number, stream: number) {
    this.splitState =
      (fmix32((seedLow ^ 0xa511e9b3) >>> 0) ^
        fmix32((seedHigh + 0x63d83595) >>> 0) ^
        fmix32((Math.imul(stream, 0x9e3779b9) + 0x7f4a7c15) >>> 0)) >>>
      0;
    this.s0 = this.splitmix32();
    this.s1 = this.splitmix32();
    this.s2 = this.splitmix32();
    this.s3 = this.splitmix32();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  private splitmix32(): number {
    this.splitState = (this.splitState + 0x9e3779b9) >>> 0;
    let z = this.splitState;
    z ^= z >>> 16;
    z = Math.imul(z, 0x21f0aaad) >>> 0;
    z ^= z >>> 15;
    z = Math.imul(z, 0x735a2d97) >>> 0;
    z ^= z >>> 15;
    return z >>> 0;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  nextUniform(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  nextBelow(bound: number): number {
    let r = Math.floor(this.nextUniform() * bound);
    if (r >= bound) r = bound - 1;
    return r;
  }

  nextGaussian(): number {
    let u = 0;
    let s = 0;
    do {
      u = 2 * this.nextUniform() - 1;
      const v = 2 * this.nextUniform() - 1;
      s = u * u + v * v;
    } while (!(s < 1 && s > 0));
    return u * Math.sqrt((-2 * logExact(s)) / s);
  }
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

/** Natural log by the atanh series, as assembly/isolation-forest.ts (bit-exact with it). */
export function logExact(x: number): number {
  bits[0] = x;
  const high = words[1] as number;
  let exponent = ((high >>> 20) & 0x7ff) - 1023;
  words[1] = (high & 0xfffff) | 0x3ff00000;
  let m = bits[0] as number;
  if (m > Math.SQRT2) {
    m = m * 0.5;
    exponent += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let poly = 1.0 / 21.0;
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
  return exponent * Math.LN2 + 2 * s * poly;
}
