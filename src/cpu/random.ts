/**
 * CPU twin of the random kernels: the same Philox words, the same integer uniforms.
 *
 * @module
 */
import type { RandomKind } from "../../gpu/kernels/random.ts";
import type { Arr } from "../core/backend.ts";
import { philox4x32_10, UNIT_STEPS, unitSteps } from "./philox.ts";

/**
 * Fills `out` like randomGpu: element i from counter (offset + i, stream, 0, 0) under `key`.
 *
 * @param kind "uniform", "normal" or "bernoulli" ("bits" is GPU-only: use philox4x32_10)
 * @param out output array (n values)
 * @param n number of elements
 * @param key Philox key (seed lo, seed hi)
 * @param stream counter word 1
 * @param threshold Bernoulli: 1 where k ≤ threshold
 * @param offset counter of element 0
 */
export function randomCpu(
  kind: RandomKind,
  out: Arr,
  n: number,
  key: readonly [number, number],
  stream: number,
  threshold = 0,
  offset = 0,
): void {
  if (kind === "bits") throw new Error("randomCpu: use philox4x32_10 for raw words");
  const w = new Uint32Array(4);
  for (let i = 0; i < n; i++) {
    philox4x32_10(offset + i, stream, 0, 0, key[0], key[1], w);
    if (kind === "uniform") out[i] = unitSteps(w[0]) / UNIT_STEPS;
    else if (kind === "bernoulli") out[i] = unitSteps(w[0]) <= threshold ? 1 : 0;
    else {
      const r = Math.sqrt(-2 * Math.log(unitSteps(w[0]) / UNIT_STEPS));
      out[i] = r * Math.cos(2 * Math.PI * (unitSteps(w[1]) / UNIT_STEPS) - Math.PI);
    }
  }
}
