/**
 * The identity operator (denoising, and unconditional checks of a sampler).
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { checkImages, LinearOperator } from "./linear_operator.ts";
import { reshape } from "../ops/reshape.ts";

/**
 * A = Aᴴ = I. Returns views of its input (no copy; disposing one leaves the input alive).
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { Identity } from "./identity.ts";
 * const x = cpuBackend().full([1, 3, 4, 4], 0.5);
 * const y = new Identity().noisy(new Identity().forward(x), 0.1, 42);
 * ```
 */
export class Identity extends LinearOperator {
  /** "identity". */
  readonly name = "identity";

  /**
   * y = x.
   *
   * @param x images [N, C, H, W]
   * @returns a view of x
   */
  forward(x: Tensor): Tensor {
    checkImages(this.name, x);
    return reshape(x, x.shape);
  }

  /**
   * Aᴴ y = y.
   *
   * @param y measurements [N, C, H, W]
   * @returns a view of y
   */
  adjoint(y: Tensor): Tensor {
    checkImages(this.name, y);
    return reshape(y, y.shape);
  }
}
