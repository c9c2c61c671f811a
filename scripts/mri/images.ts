/**
 * Complex MRI images as grid images: magnitudes scaled to [−1, 1] (the PNG grids' range) and
 * magnitude error maps, for the physics page, the reconstructions and the study's grids.
 *
 * @module
 */
import { magnitude } from "../../src/metrics/mri.ts";

/**
 * Magnitudes of n planar complex images, scaled so that `max` is white (0 black).
 *
 * @param planar n images [2, H, W] (Re plane, Im plane)
 * @param n number of images
 * @param hw pixels per image H·W
 * @param max the magnitude shown white
 * @returns n·H·W values in [−1, 1]
 * @example
 * ```ts
 * import { showMagnitudes } from "./images.ts";
 * showMagnitudes(Float32Array.of(3, 0, 4, 0), 1, 2, 5); // |3 + 4i| = 5 → 1, 0 → −1
 * ```
 */
export function showMagnitudes(
  planar: Float32Array,
  n: number,
  hw: number,
  max: number,
): Float32Array {
  const out = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    const m = magnitude(planar.subarray(2 * i * hw, 2 * (i + 1) * hw));
    for (let p = 0; p < hw; p++) out[i * hw + p] = Math.min(1, (2 * m[p]) / max - 1);
  }
  return out;
}

/**
 * ||x̂| − |gt|| of n planar complex images, scaled so that `max` is white.
 *
 * @param gt the references, n images [2, H, W]
 * @param x the estimates, same layout
 * @param n number of images
 * @param hw pixels per image
 * @param max the error shown white
 * @returns n·H·W values in [−1, 1]
 */
export function showErrors(
  gt: ArrayLike<number>,
  x: ArrayLike<number>,
  n: number,
  hw: number,
  max: number,
): Float32Array {
  const out = new Float32Array(n * hw);
  const m = magnitudeErrors(gt, x, n, hw);
  for (let i = 0; i < n * hw; i++) out[i] = Math.min(1, (2 * m[i]) / max - 1);
  return out;
}

/**
 * ||x̂| − |gt|| per pixel of n planar complex images (the metrics' error, docs/method.md §6).
 *
 * @param gt the references, n images [2, H, W]
 * @param x the estimates
 * @param n number of images
 * @param hw pixels per image
 * @returns n·H·W errors
 */
export function magnitudeErrors(
  gt: ArrayLike<number>,
  x: ArrayLike<number>,
  n: number,
  hw: number,
): Float64Array {
  const out = new Float64Array(n * hw);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < hw; p++) {
      const [r, q] = [2 * i * hw + p, (2 * i + 1) * hw + p];
      out[i * hw + p] = Math.abs(Math.hypot(x[r], x[q]) - Math.hypot(gt[r], gt[q]));
    }
  }
  return out;
}

/**
 * Pads a row of images with blanks (NaN shows black) to `n` images.
 *
 * @param images some [H, W] images
 * @param n images wanted
 * @param hw pixels per image
 * @returns n·H·W values
 */
export function padImages(images: Float32Array, n: number, hw: number): Float32Array {
  const out = new Float32Array(n * hw).fill(NaN);
  out.set(images);
  return out;
}
