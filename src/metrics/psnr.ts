/**
 * Peak signal-to-noise ratio, scikit-image's `peak_signal_noise_ratio` convention.
 *
 * @module
 */

/** Options of `psnr`. */
export interface PsnrOptions {
  /** The peak: max − min of the values images can take (2 for [−1, 1] images). */
  dataRange: number;
}

/**
 * Mean squared difference, accumulated in float64.
 *
 * @param gt reference values
 * @param x estimate, same length
 * @returns mean of (gt − x)²
 * @example
 * ```ts
 * import { meanSquaredError } from "./psnr.ts";
 * const mse = meanSquaredError([0, 0.5, 1], [0, 0.5, 0.9]); // 0.00333…
 * ```
 */
export function meanSquaredError(gt: ArrayLike<number>, x: ArrayLike<number>): number {
  sameLength("meanSquaredError", gt, x);
  let s = 0;
  for (let i = 0; i < gt.length; i++) {
    const d = gt[i] - x[i];
    s += d * d;
  }
  return s / gt.length;
}

/**
 * PSNR = 10·log10(dataRange² / MSE) in dB; +∞ for identical images.
 *
 * @param gt reference image (any layout; only the values matter)
 * @param x estimate, same length
 * @param opts the data range
 * @returns the PSNR in dB
 * @example
 * ```ts
 * import { psnr } from "./psnr.ts";
 * const db = psnr([0, 0.5, 1], [0, 0.5, 0.9], { dataRange: 1 }); // 24.77 dB
 * ```
 */
export function psnr(gt: ArrayLike<number>, x: ArrayLike<number>, opts: PsnrOptions): number {
  if (!(opts.dataRange > 0)) throw new Error(`psnr: dataRange must be > 0, got ${opts.dataRange}`);
  return 10 * Math.log10((opts.dataRange * opts.dataRange) / meanSquaredError(gt, x));
}

/** Throws unless the two images have the same, non-zero number of values. */
export function sameLength(op: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length || a.length === 0) {
    throw new Error(`${op}: images must have the same non-zero size, got ${a.length}, ${b.length}`);
  }
}
