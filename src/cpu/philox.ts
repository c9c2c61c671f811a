/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) in
 * TypeScript: the CPU twin of the WGSL generator in gpu/kernels/philox.ts, bit for bit.
 * Element i of a draw with (seed, stream) is philox(counter = (i, stream, 0, 0),
 * key = (seed lo, seed hi)).
 *
 * @module
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** Uniforms use the top 24 bits of a word so that k/2²⁴ is exact in f32 on both backends. */
export const UNIT_STEPS = 16777216;

/** High 32 bits of the 64-bit product a·b, from 16-bit halves (exact in doubles). */
function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Ten Philox4x32 rounds of a 128-bit counter under a 64-bit key.
 *
 * @param c0 counter word 0 (the element index in this package)
 * @param c1 counter word 1 (the stream)
 * @param c2 counter word 2
 * @param c3 counter word 3
 * @param k0 key word 0 (seed, low 32 bits)
 * @param k1 key word 1 (seed, high 32 bits)
 * @param out receives the four output words (a new array by default)
 * @returns the four random 32-bit words
 * @example
 * ```ts
 * import { philox4x32_10 } from "./philox.ts";
 * const w = philox4x32_10(0, 0, 0, 0, 0, 0); // 0x6627e8d5, 0xe169c58d, …
 * ```
 */
export function philox4x32_10(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  c0 >>>= 0, c1 >>>= 0, c2 >>>= 0, c3 >>>= 0, k0 >>>= 0, k1 >>>= 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/**
 * The Philox key of a seed: (low 32 bits, high 32 bits).
 *
 * @param seed a non-negative integer; a 32-bit one is the norm (derive it from the step
 *   number, the epoch, …); safe integers up to 2⁵³ also work and use the high word
 * @returns [k0, k1]
 */
export function philoxKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`random seed must be a non-negative integer (a u32), got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/**
 * Checks a stream number (counter word 1).
 *
 * @param stream an integer in [0, 2³²)
 * @returns the stream
 */
export function philoxStream(stream: number): number {
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) {
    throw new Error(`random stream must be a u32, got ${stream}`);
  }
  return stream;
}

/**
 * The integer k in [1, 2²⁴] behind a uniform u = k/2²⁴ in (0, 1].
 *
 * @param word a random 32-bit word
 * @returns k
 */
export function unitSteps(word: number): number {
  return (word >>> 8) + 1;
}

/**
 * The integer threshold T with (u ≤ p) ⇔ (k ≤ T), so Bernoulli draws compare integers and
 * agree exactly on every backend; P(1) = T/2²⁴, within 6e-8 of p.
 *
 * @param p probability in [0, 1]
 * @returns T in [0, 2²⁴]
 */
export function bernoulliThreshold(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`probability must be in [0, 1], got ${p}`);
  return Math.floor(p * UNIT_STEPS);
}
