/**
 * The interface every inverse-problem operator A implements (docs/method.md §5.6): y = A x, the
 * adjoint Aᴴ y, and measurement noise. Operators are built from differentiable ops, so they run on
 * WebGPU and on the CPU twin and DPS can back-propagate ‖A(D) − y‖ through them.
 *
 * @module
 */
import { add, scale } from "../ops/elementwise.ts";
import { randomNormal } from "../ops/random.ts";
import type { Tensor } from "../core/tensor.ts";

/**
 * A linear operator on image batches x of shape [N, C, H, W]. Tensors it holds (masks,
 * matrices) belong to it: free them with `dispose()`. Intermediate tensors of `forward` and
 * `adjoint` are left to the caller's `tidy`, as for any op (autograd may still need them).
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { scale } from "../ops/elementwise.ts";
 * import type { Tensor } from "../core/tensor.ts";
 * import { LinearOperator } from "./linear_operator.ts";
 * // A = 2·I: forward and adjoint alike; noisy() and dispose() come with the base class.
 * class Double extends LinearOperator {
 *   readonly name = "2·I";
 *   forward(x: Tensor): Tensor {
 *     return scale(x, 2);
 *   }
 *   adjoint(y: Tensor): Tensor {
 *     return scale(y, 2);
 *   }
 * }
 * const b = cpuBackend();
 * const y = new Double().noisy(new Double().forward(b.full([1, 1, 4, 4], 1)), 0.1, 3);
 * ```
 */
export abstract class LinearOperator implements Disposable {
  /** A short description for logs, e.g. "random inpainting p=0.9". */
  abstract readonly name: string;

  /**
   * Applies the operator.
   *
   * @param x images [N, C, H, W]
   * @returns the measurements y = A x
   */
  abstract forward(x: Tensor): Tensor;

  /**
   * Applies the adjoint, so that ⟨A x, y⟩ = ⟨x, Aᴴ y⟩.
   *
   * @param y measurements, shaped as `forward`'s result
   * @returns Aᴴ y, shaped as the images
   */
  abstract adjoint(y: Tensor): Tensor;

  /**
   * Adds measurement noise σ_y·n, n ~ N(0, I) drawn from (seed, stream) on y's backend.
   * Not meant to be differentiated.
   *
   * @param y clean measurements
   * @param sigmaY noise standard deviation (0 gives a copy of y)
   * @param seed a u32
   * @param stream independent stream under the same seed
   * @returns y + σ_y·n
   */
  noisy(y: Tensor, sigmaY: number, seed: number, stream = 0): Tensor {
    const n = this.noise(y, sigmaY, seed, stream);
    const out = add(y, n);
    n.dispose();
    return out;
  }

  /** Frees the tensors the operator holds (idempotent). */
  dispose(): void {}

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** σ_y·n with n ~ N(0, I) of y's shape; subclasses restrict it to what is measured. */
  protected noise(y: Tensor, sigmaY: number, seed: number, stream: number): Tensor {
    if (!(sigmaY >= 0)) throw new Error(`${this.name}: sigmaY must be ≥ 0, got ${sigmaY}`);
    const n = randomNormal(y.backend, y.shape, seed, stream);
    const s = scale(n, sigmaY);
    n.dispose();
    return s;
  }
}

/**
 * Throws unless `x` is an [N, C, H, W] batch whose trailing dims match `want` (null: any).
 *
 * @param op operator name, for the error
 * @param x the tensor
 * @param want expected [N, C, H, W], nulls for free dims
 * @returns x's shape
 */
export function checkImages(
  op: string,
  x: Tensor,
  want: readonly (number | null)[] = [null, null, null, null],
): number[] {
  const s = x.shape;
  if (s.length !== 4 || want.some((d, k) => d !== null && d !== s[k])) {
    const w = want.map((d, k) => d ?? "NCHW"[k]).join(", ");
    throw new Error(`${op}: expected [${w}], got [${s}]`);
  }
  return [...s];
}
