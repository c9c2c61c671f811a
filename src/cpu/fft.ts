/**
 * CPU twin of the FFT kernels: the orthonormal 2-D DFT over the last two dims of planar
 * complex tensors [batch, 2 (re, im), H, W], optionally centred (fftshift ∘ fft ∘ ifftshift,
 * the fastMRI convention). Each line is a recursive mixed-radix Cooley–Tukey in float64,
 * written apart from the WGSL Stockham passes so the two check each other.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";
import { fftRadices, fftTwiddles } from "../layout/fft_plan.ts";

/** One line length's radices, roots of unity (sign applied) and scratch. */
interface LinePlan {
  n: number;
  radices: number[];
  /** exp(∓2πi t/n), interleaved. */
  w: Float64Array;
  /** The gathered line and its transform, interleaved complex. */
  a: Float64Array;
  b: Float64Array;
}

function linePlan(n: number, inverse: boolean): LinePlan {
  const w = fftTwiddles(n);
  if (inverse) { for (let t = 1; t < 2 * n; t += 2) w[t] = -w[t]; }
  return { n, radices: fftRadices(n), w, a: new Float64Array(2 * n), b: new Float64Array(2 * n) };
}

/**
 * dst[dOff + k] = Σ_j src[sOff + j·stride] W_m^{jk} for the m = n / (radices before
 * `level`) points of one decimated sub-sequence (decimation in time).
 */
function transform(
  p: LinePlan,
  src: Float64Array,
  sOff: number,
  stride: number,
  m: number,
  dst: Float64Array,
  dOff: number,
  level: number,
): void {
  if (m === 1) {
    dst[2 * dOff] = src[2 * sOff];
    dst[2 * dOff + 1] = src[2 * sOff + 1];
    return;
  }
  const r = p.radices[level];
  const q = m / r;
  // The r interleaved sub-sequences, each transformed into its own block of q outputs.
  for (let s = 0; s < r; s++) {
    transform(p, src, sOff + s * stride, stride * r, q, dst, dOff + s * q, level + 1);
  }
  const step = p.n / m; // W_m^e = W_n^{e·step}
  const t = new Float64Array(2 * r);
  for (let k = 0; k < q; k++) {
    for (let s = 0; s < r; s++) {
      const at = 2 * (dOff + s * q + k);
      const e = 2 * ((s * k * step) % p.n);
      const re = dst[at], im = dst[at + 1];
      t[2 * s] = re * p.w[e] - im * p.w[e + 1];
      t[2 * s + 1] = re * p.w[e + 1] + im * p.w[e];
    }
    // X[k + u·q] = Σ_s t_s W_r^{su}: reads and writes the same r outputs.
    for (let u = 0; u < r; u++) {
      let re = 0, im = 0;
      for (let s = 0; s < r; s++) {
        const e = 2 * (((s * u) % r) * q * step);
        re += t[2 * s] * p.w[e] - t[2 * s + 1] * p.w[e + 1];
        im += t[2 * s] * p.w[e + 1] + t[2 * s + 1] * p.w[e];
      }
      dst[2 * (dOff + u * q + k)] = re;
      dst[2 * (dOff + u * q + k) + 1] = im;
    }
  }
}

/**
 * Transforms the n-point lines of `work` (interleaved complex) that start at `first + l·gap`
 * with elements `stride` apart, in place, shifting by ⌊n/2⌋ on the way in and out if
 * `centred`.
 */
function transformLines(
  p: LinePlan,
  work: Float64Array,
  lines: number,
  gap: number,
  stride: number,
  centred: boolean,
): void {
  const { n, a, b } = p;
  const h = centred ? Math.floor(n / 2) : 0;
  for (let l = 0; l < lines; l++) {
    const base = l * gap;
    for (let j = 0; j < n; j++) {
      const at = 2 * (base + ((j + h) % n) * stride);
      a[2 * j] = work[at];
      a[2 * j + 1] = work[at + 1];
    }
    transform(p, a, 0, 1, n, b, 0, 0);
    for (let k = 0; k < n; k++) {
      const at = 2 * (base + ((k + h) % n) * stride);
      work[at] = b[2 * k];
      work[at + 1] = b[2 * k + 1];
    }
  }
}

/**
 * y = F x over the last two dims, F the orthonormal 2-D DFT (its inverse if `inverse`),
 * centred or not; x and y are `batch` planar complex images [2, H, W].
 *
 * @param x input, batch × 2 × H × W
 * @param batch product of the leading dims
 * @param H rows
 * @param W columns
 * @param inverse the inverse transform (exp(+2πi…))
 * @param centred fftshift ∘ F ∘ ifftshift
 * @param y output, same layout
 */
export function fft2Cpu(
  x: Arr,
  batch: number,
  H: number,
  W: number,
  inverse: boolean,
  centred: boolean,
  y: Arr,
): void {
  const rows = linePlan(W, inverse);
  const cols = linePlan(H, inverse);
  const hw = H * W;
  const work = new Float64Array(2 * hw);
  const norm = 1 / Math.sqrt(hw);
  for (let i = 0; i < batch; i++) {
    const re = 2 * i * hw, im = re + hw;
    for (let e = 0; e < hw; e++) {
      work[2 * e] = x[re + e];
      work[2 * e + 1] = x[im + e];
    }
    transformLines(rows, work, H, W, 1, centred);
    transformLines(cols, work, W, 1, W, centred);
    for (let e = 0; e < hw; e++) {
      y[re + e] = work[2 * e] * norm;
      y[im + e] = work[2 * e + 1] * norm;
    }
  }
}
