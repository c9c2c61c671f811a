/**
 * Complex arithmetic on planar complex tensors [..., 2, H, W] (dim −3 = Re, Im), built from
 * the differentiable elementwise ops so the MRI operator A = M F S runs on both backends and
 * back-propagates (Aali et al. 2024, §4).
 *
 * @module
 */
import { concat, slice } from "../ops/concat.ts";
import { add, mul, sub } from "../ops/elementwise.ts";
import type { Tensor } from "../core/tensor.ts";

/**
 * a·b, or a·conj(b), elementwise with broadcasting, on planar complex tensors.
 *
 * @param a planar complex [..., 2, H, W]
 * @param b planar complex, broadcastable against a
 * @param conjB multiply by the conjugate of b (default false)
 * @returns the product, planar complex of the broadcast shape
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { complexMul } from "./complex.ts";
 * const be = cpuBackend();
 * const i = be.fromArray([0, 1], [2, 1, 1]); // the imaginary unit
 * const minusOne = complexMul(i, i); // [-1, 0]
 * ```
 */
export function complexMul(a: Tensor, b: Tensor, conjB = false): Tensor {
  const [ar, ai] = [slice(a, -3, 0, 1), slice(a, -3, 1, 1)];
  const [br, bi] = [slice(b, -3, 0, 1), slice(b, -3, 1, 1)];
  const re = conjB ? add(mul(ar, br), mul(ai, bi)) : sub(mul(ar, br), mul(ai, bi));
  const im = conjB ? sub(mul(ai, br), mul(ar, bi)) : add(mul(ai, br), mul(ar, bi));
  return concat([re, im], -3);
}
