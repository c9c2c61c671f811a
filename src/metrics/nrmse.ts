/**
 * Normalised root-mean-square error, scikit-image's `normalized_root_mse` with
 * normalization='euclidean'.
 *
 * @module
 */
import { sameLength } from "./psnr.ts";

/**
 * NRMSE = ‖gt − x‖ / ‖gt‖ (the RMSE over the RMS of gt); 0 for identical images.
 *
 * @param gt reference image (any layout)
 * @param x estimate, same length
 * @returns the NRMSE (+∞ or NaN when gt is all zeros)
 * @example
 * ```ts
 * import { nrmse } from "./nrmse.ts";
 * const e = nrmse([3, 4], [3, 3]); // 1 / 5 = 0.2
 * ```
 */
export function nrmse(gt: ArrayLike<number>, x: ArrayLike<number>): number {
  sameLength("nrmse", gt, x);
  let err = 0;
  let ref = 0;
  for (let i = 0; i < gt.length; i++) {
    const d = gt[i] - x[i];
    err += d * d;
    ref += gt[i] * gt[i];
  }
  return Math.sqrt(err / ref);
}
