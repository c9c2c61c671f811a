/**
 * The pieces of simulated multi-coil k-space (docs/mri-physics/): an anatomical slice
 * resized by area averaging, a smooth synthetic phase, and birdcage-style coil maps
 * normalised so that Σ_c |S_c|² = 1 at every pixel (then AᴴA = I when fully sampled).
 *
 * @module
 */
import { Rng } from "../core/rng.ts";

/**
 * Resizes a real image by exact area averaging (each output pixel is the mean of the input
 * area it covers), which does not alias when shrinking.
 *
 * @param img input, row-major [h, w]
 * @param h input rows
 * @param w input columns
 * @param outH output rows
 * @param outW output columns
 * @returns row-major [outH, outW]
 * @example
 * ```ts
 * import { resizeArea } from "./phantom.ts";
 * const small = resizeArea(new Float32Array(16).fill(2), 4, 4, 2, 2); // all 2
 * ```
 */
export function resizeArea(
  img: ArrayLike<number>,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Float32Array {
  const rows = areaWeights(h, outH);
  const cols = areaWeights(w, outW);
  const tmp = new Float64Array(h * outW);
  for (let r = 0; r < h; r++) {
    for (const [o, i, wt] of cols) tmp[r * outW + o] += wt * img[r * w + i];
  }
  const out = new Float32Array(outH * outW);
  for (const [o, i, wt] of rows) {
    for (let c = 0; c < outW; c++) out[o * outW + c] += wt * tmp[i * outW + c];
  }
  return out;
}

/** Triples (output index, input index, weight) of 1-D area resampling n → m. */
function areaWeights(n: number, m: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  const step = n / m;
  for (let o = 0; o < m; o++) {
    const a = o * step;
    const b = a + step;
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 0) out.push([o, i, overlap / step]);
    }
  }
  return out;
}

/**
 * A smooth random phase: a seeded quadratic polynomial in normalised coordinates, spanning
 * about ±π over the image (the slowly varying phase of real MR images).
 *
 * @param h rows
 * @param w columns
 * @param seed phase seed
 * @returns row-major [h, w] phase in radians
 */
export function smoothPhase(h: number, w: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const c = Array.from({ length: 5 }, () => (rng.uniform() - 0.5) * Math.PI);
  const out = new Float32Array(h * w);
  for (let r = 0; r < h; r++) {
    const v = (2 * r) / (h - 1 || 1) - 1;
    for (let q = 0; q < w; q++) {
      const u = (2 * q) / (w - 1 || 1) - 1;
      out[r * w + q] = c[0] + c[1] * u + c[2] * v + c[3] * u * v + c[4] * (u * u - v * v) / 2;
    }
  }
  return out;
}

/** Options of {@link birdcageMaps}. */
export interface BirdcageOptions {
  /** Number of coils C. */
  coils: number;
  /** Rows H. */
  height: number;
  /** Columns W. */
  width: number;
  /** Coil ring radius relative to the half-diagonal of the image (default 1.1). */
  radius?: number;
  /** Rotation of the coil ring in radians (default 0). */
  rotation?: number;
}

/**
 * Birdcage-style sensitivities: coil c sits on a ring at angle 2πc/C + rotation; its map
 * falls off as 1/distance and its phase turns with the angle seen from the coil (as BART's
 * simulated maps do). Normalised to Σ_c |S_c|² = 1 at every pixel.
 *
 * @param opts coils, size, ring radius and rotation
 * @returns planar complex [C, 2, H, W]
 * @example
 * ```ts
 * import { birdcageMaps } from "./phantom.ts";
 * const s = birdcageMaps({ coils: 4, height: 16, width: 12 }); // 4·2·16·12 values
 * ```
 */
export function birdcageMaps(opts: BirdcageOptions): Float32Array {
  const { coils: nc, height: h, width: w } = opts;
  const hw = h * w;
  const ring = (opts.radius ?? 1.1) * Math.hypot(h, w) / 2;
  const out = new Float32Array(nc * 2 * hw);
  for (let c = 0; c < nc; c++) {
    const th = (2 * Math.PI * c) / nc + (opts.rotation ?? 0);
    const [py, px] = [(h - 1) / 2 + ring * Math.sin(th), (w - 1) / 2 + ring * Math.cos(th)];
    for (let r = 0; r < h; r++) {
      for (let q = 0; q < w; q++) {
        const [dy, dx] = [r - py, q - px];
        const mag = ring / Math.hypot(dy, dx);
        const ph = Math.atan2(dy, dx) - th;
        out[(2 * c) * hw + r * w + q] = mag * Math.cos(ph);
        out[(2 * c + 1) * hw + r * w + q] = mag * Math.sin(ph);
      }
    }
  }
  for (let p = 0; p < hw; p++) {
    let s = 0;
    for (let k = 0; k < 2 * nc; k++) s += out[k * hw + p] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < 2 * nc; k++) out[k * hw + p] *= inv;
  }
  return out;
}
