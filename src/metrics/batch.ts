/**
 * PSNR, SSIM and NRMSE of each image of a batch [N, C, H, W], and their means.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { nrmse } from "./nrmse.ts";
import { psnr } from "./psnr.ts";
import { ssim } from "./ssim.ts";

/** The three metrics of one image. */
export interface ImageMetrics {
  /** dB; +∞ for a perfect estimate. */
  psnr: number;
  /** Mean SSIM (channels averaged). */
  ssim: number;
  /** ‖gt − x‖ / ‖gt‖. */
  nrmse: number;
}

/** Per-image metrics and their averages over the batch. */
export interface BatchMetrics {
  /** One entry per image, in batch order. */
  perImage: ImageMetrics[];
  /** Arithmetic means of each metric over the batch. */
  mean: ImageMetrics;
}

/** Options shared by the batch helpers. */
export interface MetricOptions {
  /** max − min of the values images can take (2 for the package's [−1, 1] images). */
  dataRange: number;
}

/**
 * All three metrics of one [C, H, W] image.
 *
 * @param gt reference, C·H·W values in [C, H, W] order
 * @param x estimate, same layout
 * @param shape [C, H, W]
 * @param opts the data range
 * @returns PSNR, SSIM, NRMSE
 * @example
 * ```ts
 * import { imageMetrics } from "./batch.ts";
 * const gt = Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i));
 * const x = gt.map((v) => v + 0.01);
 * const { psnr, ssim, nrmse } = imageMetrics(gt, x, [3, 8, 8], { dataRange: 2 });
 * ```
 */
export function imageMetrics(
  gt: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  opts: MetricOptions,
): ImageMetrics {
  const [channels, height, width] = shape;
  return {
    psnr: psnr(gt, x, opts),
    ssim: ssim(gt, x, { dataRange: opts.dataRange, height, width, channels }),
    nrmse: nrmse(gt, x),
  };
}

/**
 * Metrics of every image of host batches.
 *
 * @param gt reference batch, N·C·H·W values in [N, C, H, W] order
 * @param x estimates, same layout
 * @param shape [N, C, H, W]
 * @param opts the data range
 * @returns per-image metrics and their means
 * @example
 * ```ts
 * import { batchMetricsFromArrays } from "./batch.ts";
 * const gt = Array.from({ length: 2 * 1 * 8 * 8 }, (_, i) => Math.cos(i));
 * const { perImage, mean } = batchMetricsFromArrays(gt, gt, [2, 1, 8, 8], { dataRange: 2 });
 * ```
 */
export function batchMetricsFromArrays(
  gt: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  opts: MetricOptions,
): BatchMetrics {
  return perImage("batchMetrics", gt, x, shape, (g, e) => imageMetrics(g, e, shape.slice(1), opts));
}

/**
 * Metrics of every image of two [N, C, H, W] tensors (read back in one round-trip).
 *
 * @param gt reference batch
 * @param x estimates, same shape
 * @param opts the data range
 * @returns per-image metrics and their means
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { batchMetrics } from "./batch.ts";
 * const b = cpuBackend();
 * const gt = b.fromArray(Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.sin(i)), [2, 3, 8, 8]);
 * const { mean } = await batchMetrics(gt, gt, { dataRange: 2 }); // ssim 1, psnr ∞, nrmse 0
 * ```
 */
export async function batchMetrics(
  gt: Tensor,
  x: Tensor,
  opts: MetricOptions,
): Promise<BatchMetrics> {
  const [g, e] = await readPair("batchMetrics", gt, x);
  return batchMetricsFromArrays(g, e, gt.shape, opts);
}

/**
 * Reads two tensors of one shape [N, C, H, W] back to the host.
 *
 * @param op caller's name, for errors
 * @param a first tensor
 * @param b second tensor
 * @returns both value arrays
 */
export function readPair(op: string, a: Tensor, b: Tensor): Promise<ArrayLike<number>[]> {
  if (a.shape.length !== 4 || a.shape.some((d, k) => d !== b.shape[k]) || b.shape.length !== 4) {
    throw new Error(
      `${op}: need two [N, C, H, W] tensors of one shape, got [${a.shape}], [${b.shape}]`,
    );
  }
  return a.backend === b.backend
    ? a.backend.readMany([a, b])
    : Promise.all([a.toArray(), b.toArray()]);
}

/**
 * Applies `f` to each image pair of two [N, …] batches and averages the results.
 *
 * @param op caller's name, for errors
 * @param gt reference batch
 * @param x estimates
 * @param shape [N, …]
 * @param f metrics of one image pair
 * @returns per-image metrics and their means
 */
export function perImage(
  op: string,
  gt: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  f: (gt: ArrayLike<number>, x: ArrayLike<number>) => ImageMetrics,
): BatchMetrics {
  const n = shape[0];
  const size = shape.slice(1).reduce((a, b) => a * b, 1);
  if (gt.length !== n * size || x.length !== n * size) {
    throw new Error(`${op}: ${gt.length} and ${x.length} values for shape [${shape}]`);
  }
  const results: ImageMetrics[] = [];
  for (let i = 0; i < n; i++) {
    results.push(f(slice(gt, i * size, size), slice(x, i * size, size)));
  }
  const avg = (k: keyof ImageMetrics) => results.reduce((s, r) => s + r[k], 0) / n;
  return { perImage: results, mean: { psnr: avg("psnr"), ssim: avg("ssim"), nrmse: avg("nrmse") } };
}

function slice(a: ArrayLike<number>, start: number, n: number): ArrayLike<number> {
  if (a instanceof Float32Array || a instanceof Float64Array) return a.subarray(start, start + n);
  return Array.prototype.slice.call(a, start, start + n) as number[];
}
