/**
 * How a DFT length splits into radices, shared by the CPU twin and the WGSL passes so both
 * accept exactly the same lengths (every n ≥ 1).
 *
 * @module
 */

/**
 * The radices of a mixed-radix FFT of length n: 16s, then 8s, 4s and 2s (each pass reads and
 * writes every point, so fewer, larger radices move less data), then the odd primes in
 * increasing order; their product is n.
 *
 * @param n transform length (a positive integer)
 * @returns the radices; [] for n = 1
 * @example
 * ```ts
 * import { fftRadices } from "./fft_plan.ts";
 * fftRadices(320); // [16, 4, 5]
 * fftRadices(384); // [16, 8, 3]
 * ```
 */
export function fftRadices(n: number): number[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`fft: length must be a positive integer, got ${n}`);
  }
  const radices: number[] = [];
  let m = n;
  while (m % 16 === 0) {
    radices.push(16);
    m /= 16;
  }
  while (m % 8 === 0) {
    radices.push(8);
    m /= 8;
  }
  while (m % 4 === 0) {
    radices.push(4);
    m /= 4;
  }
  for (let p = 2; m > 1; p++) {
    while (m % p === 0) {
      radices.push(p);
      m /= p;
    }
    if (p * p > m && m > 1) {
      radices.push(m);
      m = 1;
    }
  }
  return radices;
}

/**
 * exp(−2πi·t/n) for t = 0 … n−1, in float64, interleaved (re, im): the forward transform's
 * roots of unity; the inverse uses their conjugates.
 *
 * @param n transform length
 * @returns 2n numbers
 */
export function fftTwiddles(n: number): Float64Array {
  const w = new Float64Array(2 * n);
  for (let t = 0; t < n; t++) {
    const a = (-2 * Math.PI * t) / n;
    w[2 * t] = Math.cos(a);
    w[2 * t + 1] = Math.sin(a);
  }
  return w;
}
