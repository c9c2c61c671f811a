/**
 * CPU twin of the Adam kernel.
 *
 * @module
 */
import type { AdamScalars } from "../../gpu/kernels/adam.ts";
import type { Arr } from "../core/backend.ts";

/**
 * One Adam step in place over `n` elements.
 *
 * @param param parameter (updated)
 * @param grad gradient
 * @param m first moment (updated)
 * @param v second moment (updated)
 * @param n number of elements
 * @param s the step's scalars
 * @param gradScale multiplies the gradient
 */
export function adamCpu(
  param: Arr,
  grad: Arr,
  m: Arr,
  v: Arr,
  n: number,
  s: AdamScalars,
  gradScale = 1,
): void {
  const om1 = 1 - s.beta1;
  const om2 = 1 - s.beta2;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * gradScale;
    const mi = s.beta1 * m[i] + om1 * g;
    const vi = s.beta2 * v[i] + om2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= s.stepSize * mi / (Math.sqrt(vi) * s.invBc2Sqrt + s.eps);
  }
}
