/**
 * CPU twin of the dropout kernel.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";
import { philox4x32_10, unitSteps } from "./philox.ts";

/**
 * out[i] = x[i] · (kept ? s : 0), kept where k ≤ threshold for word i mod 4 of Philox at
 * counter (offset4 + ⌊i/4⌋, stream).
 *
 * @param x input
 * @param out output
 * @param n number of elements
 * @param key Philox key (seed lo, seed hi)
 * @param stream counter word 1
 * @param threshold keep where k ≤ threshold
 * @param s scale of kept elements
 * @param offset4 counter of elements 0..3
 */
export function dropoutCpu(
  x: Arr,
  out: Arr,
  n: number,
  key: readonly [number, number],
  stream: number,
  threshold: number,
  s: number,
  offset4 = 0,
): void {
  const w = new Uint32Array(4);
  for (let i = 0; i < n; i++) {
    if (i % 4 === 0) philox4x32_10(offset4 + i / 4, stream, 0, 0, key[0], key[1], w);
    out[i] = x[i] * (unitSteps(w[i % 4]) <= threshold ? s : 0);
  }
}
