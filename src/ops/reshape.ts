/**
 * Reshape: a view of the same storage with another shape (no copy), differentiable.
 *
 * @module
 */
import { record } from "./autograd.ts";
import { shapeSize, type Tensor } from "../core/tensor.ts";

/**
 * A tensor sharing `x`'s storage with another shape of the same size (one dimension may be
 * -1: it is inferred). The gradient is reshaped back.
 *
 * @param x input
 * @param shape new dimensions, product equal to `x.size`
 * @returns the view
 * @example
 * ```ts
 * import { reshape } from "./reshape.ts";
 * import { cpuBackend } from "../core/select_backend.ts";
 * const x = cpuBackend().fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * const y = reshape(x, [3, -1]); // shape [3, 2]
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const y = x.backend.view(x, resolveShape(shape, x.size));
  record(y, [x], (g) => [reshape(g, x.shape)]);
  return y;
}

/** Replaces one -1 in `shape` so that the product is `size`. */
function resolveShape(shape: readonly number[], size: number): number[] {
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0) {
    const rest = shapeSize(s.filter((_, i) => i !== free));
    s[free] = rest === 0 ? 0 : size / rest;
  }
  if (shapeSize(s) !== size) throw new Error(`cannot reshape ${size} elements to [${shape}]`);
  return s;
}
