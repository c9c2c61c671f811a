/**
 * Noisy measurements of images for an inverse problem, in either convention (docs/method.md,
 * "Reference settings and package flags"): the reference code of Aali et al. 2024 draws the
 * noise in image space and passes it through the operator, y = A(x + σ_y n); the other common
 * convention adds it to the measurements, y = A x + σ_y n. They differ wherever A is not a
 * 0/1 mask: average pooling ×f shrinks image-space noise by f, and a Gaussian CS matrix with
 * N(0, 1/m) entries scales it by about √(d/m).
 *
 * @module
 */
import { add, scale } from "../ops/elementwise.ts";
import { randomNormal } from "../ops/random.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import type { LinearOperator } from "./linear_operator.ts";

/** Where the measurement noise is drawn: "image", y = A(x + σ_y n); "measurement", A x + σ_y n. */
export type NoiseSpace = "image" | "measurement";

/**
 * y = A(x + σ_y n) (noise "image", the reference's) or A x + σ_y n ("measurement").
 *
 * @param op the operator A
 * @param x images [N, C, H, W]
 * @param sigmaY noise standard deviation in image units (≥ 0)
 * @param seed seed of n (a u32)
 * @param space where n is drawn ("image" by default)
 * @returns the measurements (caller disposes)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { measure } from "./measure.ts";
 * import { SuperResolution } from "./super_resolution.ts";
 * const b = cpuBackend();
 * using op = new SuperResolution(2);
 * using y = measure(op, b.full([1, 1, 8, 8], 0.5), 0.05, 7); // [1, 1, 4, 4], noise σ_y/2
 * ```
 */
export function measure(
  op: LinearOperator,
  x: Tensor,
  sigmaY: number,
  seed: number,
  space: NoiseSpace = "image",
): Tensor {
  if (!(sigmaY >= 0)) throw new Error(`measure: σ_y must be ≥ 0, got ${sigmaY}`);
  if (space === "measurement") return tidy(() => op.noisy(op.forward(x), sigmaY, seed));
  if (space !== "image") {
    throw new Error(`measure: noise space must be "image" or "measurement", got "${space}"`);
  }
  return tidy(() => op.forward(add(x, scale(randomNormal(x.backend, x.shape, seed), sigmaY))));
}
