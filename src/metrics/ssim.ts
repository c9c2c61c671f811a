/**
 * Structural similarity with scikit-image's `structural_similarity` defaults: a 7×7 uniform
 * window, K1 = 0.01, K2 = 0.03, sample (co)variances (use_sample_covariance=True: ×N/(N−1)),
 * the SSIM map averaged over the pixels whose window lies inside the image (a border of
 * (win−1)/2 cropped on each side), and several channels averaged.
 *
 * @module
 */
import { sameLength } from "./psnr.ts";

/** Options of `ssim`; images are planar [C, H, W] (row-major, channel outermost). */
export interface SsimOptions {
  /** max − min of the values images can take (2 for [−1, 1] images). */
  dataRange: number;
  /** Image height H. */
  height: number;
  /** Image width W. */
  width: number;
  /** Number of channels C, averaged (default 1). */
  channels?: number;
  /** Odd window side (default 7). */
  winSize?: number;
}

const K1 = 0.01;
const K2 = 0.03;

/**
 * Mean SSIM of `x` against `gt`, averaged over channels; 1 for identical images.
 *
 * @param gt reference image, C·H·W values in [C, H, W] order
 * @param x estimate, same layout
 * @param opts data range and shape
 * @returns the mean SSIM
 * @example
 * ```ts
 * import { ssim } from "./ssim.ts";
 * const gt = Float64Array.from({ length: 64 }, (_, i) => (i % 8) / 8);
 * const x = gt.map((v) => v + 0.01);
 * const s = ssim(gt, x, { dataRange: 1, height: 8, width: 8 }); // ≈ 1
 * ```
 */
export function ssim(gt: ArrayLike<number>, x: ArrayLike<number>, opts: SsimOptions): number {
  sameLength("ssim", gt, x);
  const { height: H, width: W, dataRange } = opts;
  const C = opts.channels ?? 1;
  const win = opts.winSize ?? 7;
  if (gt.length !== C * H * W) {
    throw new Error(`ssim: ${gt.length} values do not fill [${C}, ${H}, ${W}]`);
  }
  if (win < 1 || win % 2 !== 1) throw new Error(`ssim: winSize must be odd, got ${win}`);
  if (H < win || W < win) throw new Error(`ssim: ${H}×${W} image is smaller than ${win}×${win}`);
  if (!(dataRange > 0)) throw new Error(`ssim: dataRange must be > 0, got ${dataRange}`);
  let total = 0;
  for (let c = 0; c < C; c++) total += ssimPlane(gt, x, c * H * W, H, W, win, dataRange);
  return total / C;
}

/** Mean SSIM of one H×W plane starting at `off`, over the valid window centres. */
function ssimPlane(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  off: number,
  H: number,
  W: number,
  win: number,
  range: number,
): number {
  const np = win * win;
  const covNorm = np / (np - 1);
  const c1 = (K1 * range) ** 2;
  const c2 = (K2 * range) ** 2;
  const stats = windowMeans(a, b, off, H, W, win);
  const n = stats[0].length;
  let total = 0;
  for (let k = 0; k < n; k++) {
    const ux = stats[0][k];
    const uy = stats[1][k];
    const vx = covNorm * (stats[2][k] - ux * ux);
    const vy = covNorm * (stats[3][k] - uy * uy);
    const vxy = covNorm * (stats[4][k] - ux * uy);
    total += ((2 * ux * uy + c1) * (2 * vxy + c2)) /
      ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return total / n;
}

/**
 * Window means of a, b, a², b², ab at every window lying inside the plane, by a horizontal
 * then a vertical box sum (each window summed afresh: no running-sum drift).
 */
function windowMeans(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  off: number,
  H: number,
  W: number,
  win: number,
): Float64Array[] {
  const Wo = W - win + 1;
  const Ho = H - win + 1;
  const rows = Array.from({ length: 5 }, () => new Float64Array(H * Wo));
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < Wo; c++) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let t = 0; t < win; t++) {
        const va = a[off + r * W + c + t];
        const vb = b[off + r * W + c + t];
        sa += va;
        sb += vb;
        saa += va * va;
        sbb += vb * vb;
        sab += va * vb;
      }
      const k = r * Wo + c;
      rows[0][k] = sa;
      rows[1][k] = sb;
      rows[2][k] = saa;
      rows[3][k] = sbb;
      rows[4][k] = sab;
    }
  }
  const inv = 1 / (win * win);
  return rows.map((row) => {
    const out = new Float64Array(Ho * Wo);
    for (let r = 0; r < Ho; r++) {
      for (let c = 0; c < Wo; c++) {
        let s = 0;
        for (let t = 0; t < win; t++) s += row[(r + t) * Wo + c];
        out[r * Wo + c] = s * inv;
      }
    }
    return out;
  });
}
