/**
 * MRI metrics on magnitude images (docs/method.md §6): complex images are [2, H, W] (Re, Im); with
 * m = |gt| and e = |x̂|: NRMSE = ‖m − e‖ / ‖m‖, SSIM with data_range = max m − min m,
 * PSNR = 20·log10(max m / RMSE(m, e)).
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { type BatchMetrics, type ImageMetrics, perImage, readPair } from "./batch.ts";
import { nrmse } from "./nrmse.ts";
import { psnr } from "./psnr.ts";
import { ssim } from "./ssim.ts";

/**
 * |z| of a complex image stored as two planes.
 *
 * @param z 2·H·W values: the real plane, then the imaginary plane
 * @returns the H·W magnitudes
 * @example
 * ```ts
 * import { magnitude } from "./mri.ts";
 * const m = magnitude([3, 0, 4, 1]); // 1×2 image: Re [3, 0], Im [4, 1] → [5, 1]
 * ```
 */
export function magnitude(z: ArrayLike<number>): Float64Array {
  if (z.length % 2 !== 0) throw new Error(`magnitude: ${z.length} values are not two planes`);
  const n = z.length / 2;
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) m[i] = Math.hypot(z[i], z[n + i]);
  return m;
}

/**
 * NRMSE, SSIM and PSNR of one complex slice, on magnitudes.
 *
 * @param gt reference, [2, H, W] values (Re plane, Im plane)
 * @param x estimate, same layout
 * @param height H
 * @param width W
 * @returns the three metrics
 * @example
 * ```ts
 * import { mriMetrics } from "./mri.ts";
 * const h = 8, w = 8;
 * const gt = Float64Array.from({ length: 2 * h * w }, (_, i) => Math.cos(i));
 * const { ssim, nrmse, psnr } = mriMetrics(gt, gt, h, w); // 1, 0, +∞
 * ```
 */
export function mriMetrics(
  gt: ArrayLike<number>,
  x: ArrayLike<number>,
  height: number,
  width: number,
): ImageMetrics {
  if (gt.length !== 2 * height * width || x.length !== gt.length) {
    throw new Error(
      `mriMetrics: need [2, ${height}, ${width}] images, got ${gt.length}, ${x.length} values`,
    );
  }
  const m = magnitude(gt);
  const e = magnitude(x);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return {
    // 10·log10(max² / MSE) = 20·log10(max / RMSE).
    psnr: psnr(m, e, { dataRange: hi }),
    ssim: ssim(m, e, { dataRange: hi - lo, height, width }),
    nrmse: nrmse(m, e),
  };
}

/**
 * MRI metrics of every slice of host batches [N, 2, H, W].
 *
 * @param gt reference slices, [N, 2, H, W] order
 * @param x estimates, same layout
 * @param shape [N, 2, H, W]
 * @returns per-slice metrics and their means
 */
export function mriBatchMetricsFromArrays(
  gt: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
): BatchMetrics {
  if (shape.length !== 4 || shape[1] !== 2) {
    throw new Error(`mriBatchMetrics: need [N, 2, H, W] (Re, Im), got [${shape}]`);
  }
  return perImage("mriBatchMetrics", gt, x, shape, (g, e) => mriMetrics(g, e, shape[2], shape[3]));
}

/**
 * MRI metrics of every slice of two [N, 2, H, W] tensors (read back in one round-trip).
 *
 * @param gt reference slices
 * @param x estimates, same shape
 * @returns per-slice metrics and their means (the paper averages over 100 slices)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { mriBatchMetrics } from "./mri.ts";
 * const b = cpuBackend();
 * const gt = b.fromArray(Array.from({ length: 2 * 2 * 8 * 8 }, (_, i) => Math.sin(i)), [2, 2, 8, 8]);
 * const { mean } = await mriBatchMetrics(gt, gt); // psnr ∞, ssim 1, nrmse 0 on the magnitudes
 * ```
 */
export async function mriBatchMetrics(gt: Tensor, x: Tensor): Promise<BatchMetrics> {
  const [g, e] = await readPair("mriBatchMetrics", gt, x);
  return mriBatchMetricsFromArrays(g, e, gt.shape);
}
