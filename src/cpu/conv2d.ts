/**
 * CPU twin of the conv2d kernels (stride 1, zero padding k//2, NCHW, weights
 * [Cout, Cin, k, k]): plain loops, written as the direct sum and its adjoints (scatter),
 * independently of the WGSL's gather formulation.
 *
 * @module
 */
import type { Arr } from "../backend.ts";

/** Sizes of one convolution: x [n, cin, h, w], weight [cout, cin, k, k], y [n, cout, h, w]. */
export interface Conv2dDims {
  /** Batch size N. */
  n: number;
  /** Input channels. */
  cin: number;
  /** Output channels. */
  cout: number;
  /** Image height. */
  h: number;
  /** Image width. */
  w: number;
  /** Kernel size (odd). */
  k: number;
}

/**
 * y[n, co, oy, ox] = b[co] + Σ_{ci, ky, kx} x[n, ci, oy + ky − p, ox + kx − p] · w[co, ci, ky, kx],
 * p = k//2, x read as zero outside the image.
 *
 * @param x input [n, cin, h, w]
 * @param wt weight [cout, cin, k, k]
 * @param b bias [cout] or null
 * @param y output [n, cout, h, w] (overwritten)
 * @param d sizes
 */
export function conv2dCpu(x: Arr, wt: Arr, b: Arr | null, y: Arr, d: Conv2dDims): void {
  const { n, cin, cout, h, w, k } = d;
  const pad = (k - 1) >> 1;
  for (let ni = 0; ni < n; ni++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < h; oy++) {
        for (let ox = 0; ox < w; ox++) {
          let acc = b ? b[co] : 0;
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < k; ky++) {
              const iy = oy + ky - pad;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox + kx - pad;
                if (ix < 0 || ix >= w) continue;
                acc += x[((ni * cin + ci) * h + iy) * w + ix] *
                  wt[((co * cin + ci) * k + ky) * k + kx];
              }
            }
          }
          y[((ni * cout + co) * h + oy) * w + ox] = acc;
        }
      }
    }
  }
}

/**
 * dx = ∂L/∂x given dy = ∂L/∂y: each dy element scatters dy · w[co, ci, ky, kx] back to the
 * input pixel it read (the adjoint of `conv2dCpu`).
 *
 * @param dy output gradient [n, cout, h, w]
 * @param wt weight [cout, cin, k, k]
 * @param dx input gradient [n, cin, h, w] (overwritten)
 * @param d sizes
 */
export function conv2dInputGradCpu(dy: Arr, wt: Arr, dx: Arr, d: Conv2dDims): void {
  scatterGrad(dy, wt, dx, d, true);
}

/**
 * dw = ∂L/∂w given dy: dw[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, oy + ky − p, ox + kx − p].
 *
 * @param x input [n, cin, h, w]
 * @param dy output gradient [n, cout, h, w]
 * @param dw weight gradient [cout, cin, k, k] (overwritten)
 * @param d sizes
 */
export function conv2dWeightGradCpu(x: Arr, dy: Arr, dw: Arr, d: Conv2dDims): void {
  scatterGrad(dy, x, dw, d, false);
}

/**
 * Both adjoints walk the same (output, input, weight) index triples and scatter dy times the
 * other factor: into dx (other = weight) when `toInput`, else into dw (other = x).
 *
 * @param dy output gradient [n, cout, h, w]
 * @param other weight when `toInput`, else input x
 * @param out dx [n, cin, h, w] when `toInput`, else dw [cout, cin, k, k] (overwritten)
 * @param d sizes
 * @param toInput whether `out` is the input gradient
 */
function scatterGrad(dy: Arr, other: Arr, out: Arr, d: Conv2dDims, toInput: boolean): void {
  const { n, cin, cout, h, w, k } = d;
  const pad = (k - 1) >> 1;
  out.fill(0, 0, toInput ? n * cin * h * w : cout * cin * k * k);
  for (let ni = 0; ni < n; ni++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < h; oy++) {
        for (let ox = 0; ox < w; ox++) {
          const g = dy[((ni * cout + co) * h + oy) * w + ox];
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < k; ky++) {
              const iy = oy + ky - pad;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox + kx - pad;
                if (ix < 0 || ix >= w) continue;
                const xi = ((ni * cin + ci) * h + iy) * w + ix;
                const wi = ((co * cin + ci) * k + ky) * k + kx;
                if (toInput) out[xi] += g * other[wi];
                else out[wi] += g * other[xi];
              }
            }
          }
        }
      }
    }
  }
}
