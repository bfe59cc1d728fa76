// Seeded 32-bit PRNG (splitmix32 seeding, xoshiro128** stream). The TypeScript twin in
// src/reference/random.ts performs the same integer and float operations, so the same seed gives
// bit-identical draws in WebAssembly and in JavaScript.

let s0: u32 = 1;
let s1: u32 = 0;
let s2: u32 = 0;
let s3: u32 = 0;
let splitState: u32 = 0;

function fmix32(value: u32): u32 {
  let z = value;
  z ^= z >>> 16;
  z *= 0x85ebca6b;
  z ^= z >>> 13;
  z *= 0xc2b2ae35;
  z ^= z >>> 16;
  return z;
}

function splitmix32(): u32 {
  splitState += 0x9e3779b9;
  let z = splitState;
  z ^= z >>> 16;
  z *= 0x21f0aaad;
  z ^= z >>> 15;
  z *= 0x735a2d97;
  z ^= z >>> 15;
  return z;
}

/** Seeds the stream for one tree: the draws depend only on (seed, stream), never on threads. */
export function seedStream(seedLow: u32, seedHigh: u32, stream: u32): void {
  splitState =
    fmix32(seedLow ^ 0xa511e9b3) ^ fmix32(seedHigh + 0x63d83595) ^ fmix32(stream * 0x9e3779b9 + 0x7f4a7c15);
  s0 = splitmix32();
  s1 = splitmix32();
  s2 = splitmix32();
  s3 = splitmix32();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
}

export function nextU32(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

/** Uniform in [0, 1) with 53 random bits. */
export function nextUniform(): f64 {
  const a = nextU32() >>> 5;
  const b = nextU32() >>> 6;
  return (f64(a) * 67108864.0 + f64(b)) / 9007199254740992.0;
}

/** Uniform integer in [0, bound). */
export function nextBelow(bound: i32): i32 {
  let r = i32(Math.floor(nextUniform() * f64(bound)));
  if (r >= bound) r = bound - 1;
  return r;
}
