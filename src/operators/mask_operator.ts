/**
 * The common part of the inpainting operators: a fixed 0/1 pixel mask M, shared across
 * channels, with A = Aᴴ = M ⊙ · (a diagonal projection).
 *
 * @module
 */
import { mul } from "../ops/elementwise.ts";
import { keep } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkImages, LinearOperator } from "./linear_operator.ts";

/** y = M ⊙ x with a mask M of shape [1 or N, 1, H, W]. * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { MaskOperator } from "./mask_operator.ts";
 * // Observe the left half of every 4×4 image.
 * class LeftHalf extends MaskOperator {
 *   readonly name = "left half";
 * }
 * const b = cpuBackend();
 * using op = new LeftHalf(b.fromArray([...Array(16)].map((_, i) => i % 4 < 2 ? 1 : 0), [1, 1, 4, 4]));
 * const y = op.forward(b.full([2, 3, 4, 4], 1)); // zeros on the right half
 * ```
 */
export abstract class MaskOperator extends LinearOperator {
  /** The 0/1 mask [count, 1, H, W] (1: observed); owned by the operator. */
  readonly mask: Tensor;

  /**
   * Takes ownership of a mask.
   *
   * @param mask 0/1 tensor [count, 1, H, W]; count 1 is shared by every image of a batch
   */
  constructor(mask: Tensor) {
    super();
    this.mask = keep(mask);
  }

  /**
   * y = M ⊙ x (erased pixels are 0).
   *
   * @param x images [N, C, H, W] (N = the mask count unless that is 1)
   * @returns the masked images
   */
  forward(x: Tensor): Tensor {
    this.check(x);
    return mul(x, this.mask);
  }

  /**
   * Aᴴ y = M ⊙ y: a projection is its own adjoint.
   *
   * @param y measurements [N, C, H, W]
   * @returns M ⊙ y
   */
  adjoint(y: Tensor): Tensor {
    this.check(y);
    return mul(y, this.mask);
  }

  /** Frees the mask. */
  override dispose(): void {
    this.mask.dispose();
  }

  /** Noise on the observed pixels only, so erased pixels stay exactly 0 in y. */
  protected override noise(y: Tensor, sigmaY: number, seed: number, stream: number): Tensor {
    const n = super.noise(y, sigmaY, seed, stream);
    const m = mul(n, this.mask);
    n.dispose();
    return m;
  }

  /** Throws unless x matches the mask's batch and image size. */
  private check(x: Tensor): void {
    const [count, , h, w] = this.mask.shape;
    checkImages(this.name, x, [count === 1 ? null : count, null, h, w]);
  }
}
