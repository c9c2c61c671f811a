/**
 * Per-slice scaling of k-space (Aali et al. 2024, §4 and its public code): divide by the
 * 99th percentile of a root-sum-of-squares image made from the central 24×24 k-space, so
 * every slice has a comparable intensity whatever the scanner's gain.
 *
 * @module
 */
import { cpuBackend } from "../core/select_backend.ts";
import { cpuData } from "../cpu/backend.ts";
import { fft2 } from "../ops/fft.ts";
import { tidy } from "../core/scope.ts";

/**
 * Root-sum-of-squares coil combination √(Σ_c |z_c|²).
 *
 * @param coilImages planar complex [C, 2, H, W]
 * @param coils C
 * @returns [H, W] magnitudes
 */
export function rootSumOfSquares(coilImages: ArrayLike<number>, coils: number): Float32Array {
  const hw = coilImages.length / (2 * coils);
  const out = new Float32Array(hw);
  for (let p = 0; p < hw; p++) {
    let s = 0;
    for (let k = 0; k < 2 * coils; k++) s += coilImages[k * hw + p] ** 2;
    out[p] = Math.sqrt(s);
  }
  return out;
}

/**
 * Coil images F⁻¹ k of one slice (host arrays, the centred orthonormal inverse FFT).
 *
 * @param kspace planar complex [C, 2, H, W]
 * @param dims [C, H, W]
 * @returns planar complex [C, 2, H, W]
 */
export function coilImages(kspace: Float32Array, dims: readonly number[]): Float32Array {
  const [c, h, w] = dims;
  const b = cpuBackend("f32");
  const y = tidy(() => fft2(b.fromArray(kspace, [c, 2, h, w]), { inverse: true }));
  const out = Float32Array.from(cpuData(y));
  y.dispose();
  return out;
}

/**
 * The scale s of one slice: the 99th percentile of the RSS image of its central
 * `size`×`size` k-space (zero elsewhere). Dividing k-space by s normalises the slice.
 *
 * @param kspace planar complex [C, 2, H, W]
 * @param dims [C, H, W]
 * @param size side of the central block (default 24)
 * @returns s > 0
 * @example
 * ```ts
 * import { acsScale } from "./normalise.ts";
 * const k = new Float32Array(2 * 2 * 32 * 32);
 * k[16 * 32 + 16] = 1; // DC of coil 0
 * const s = acsScale(k, [2, 32, 32]); // 1/32: a flat image
 * ```
 */
export function acsScale(kspace: Float32Array, dims: readonly number[], size = 24): number {
  const [c, h, w] = dims;
  const low = new Float32Array(kspace.length);
  const [r0, q0] = [
    Math.floor(h / 2) - Math.floor(size / 2),
    Math.floor(w / 2) - Math.floor(size / 2),
  ];
  for (let k = 0; k < 2 * c; k++) {
    for (let r = Math.max(0, r0); r < Math.min(h, r0 + size); r++) {
      const o = k * h * w + r * w;
      for (let q = Math.max(0, q0); q < Math.min(w, q0 + size); q++) low[o + q] = kspace[o + q];
    }
  }
  const rss = rootSumOfSquares(coilImages(low, dims), c).sort();
  const s = rss[Math.min(rss.length - 1, Math.floor(0.99 * rss.length))];
  if (!(s > 0)) throw new Error("acsScale: the central k-space is zero or not finite");
  return s;
}
