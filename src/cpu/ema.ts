/**
 * CPU twin of the EMA kernel.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";

/**
 * ema ← ema + w·(param − ema) in place.
 *
 * @param ema average (updated)
 * @param param parameter
 * @param n number of elements
 * @param w 1 − β
 */
export function emaCpu(ema: Arr, param: Arr, n: number, w: number): void {
  for (let i = 0; i < n; i++) ema[i] += w * (param[i] - ema[i]);
}
