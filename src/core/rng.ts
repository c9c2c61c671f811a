/**
 * Host-side seeded random numbers (PCG32): test data, shuffles, anything drawn on the CPU.
 * Tensor noise on either backend comes from the counter-based generator in ops/random.ts.
 *
 * @module
 */

/**
 * A small seeded generator (PCG-XSH-RR, 64-bit state in two 32-bit halves via BigInt-free math).
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(42);
 * const u = rng.uniform(); // in [0, 1)
 * ```
 */
export class Rng {
  #state: bigint;
  static readonly #mult = 6364136223846793005n;
  static readonly #inc = 1442695040888963407n;
  static readonly #mask = (1n << 64n) - 1n;

  /**
   * Creates a generator whose stream is determined by `seed`.
   *
   * @param seed any integer
   */
  constructor(seed: number) {
    this.#state = 0n;
    this.nextU32();
    this.#state = (this.#state + BigInt.asUintN(64, BigInt(Math.trunc(seed)))) & Rng.#mask;
    this.nextU32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const old = this.#state;
    this.#state = (old * Rng.#mult + Rng.#inc) & Rng.#mask;
    const xorshifted = Number(((old >> 18n) ^ old) >> 27n & 0xffffffffn);
    const rot = Number(old >> 59n);
    return ((xorshifted >>> rot) | (xorshifted << ((-rot) & 31))) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** An array of `n` standard normals times `scale`. */
  normals(n: number, scale = 1): Float64Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal() * scale;
    return a;
  }
}
