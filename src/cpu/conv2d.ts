/**
 * CPU twin of the conv2d kernels (stride 1, zero padding k//2, NCHW, weights
 * [Cout, Cin, k, k]): plain loops over whole rows, the direct sum and its two adjoints,
 * written independently of the WGSL's register-tiled gather.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";

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

/** A 1×1 convolution has no border: each plane is one long row. */
function flat(d: Conv2dDims): Conv2dDims {
  return d.k === 1 ? { ...d, h: 1, w: d.h * d.w } : d;
}

/**
 * The output columns ox whose tap kx reads inside the image: ox + kx − p ∈ [0, w).
 *
 * @returns [first, end) of ox
 */
function validColumns(kx: number, pad: number, w: number): [number, number] {
  return [Math.max(0, pad - kx), Math.min(w, w + pad - kx)];
}

/**
 * y[n, co, oy, ox] = b[co] + Σ_{ci, ky, kx} x[n, ci, oy + ky − p, ox + kx − p] · w[co, ci, ky, kx],
 * p = k//2, x read as zero outside the image. Summed one weight at a time over whole rows
 * (an axpy per (ci, ky, kx, oy)), so the inner loop has no branches.
 *
 * @param x input [n, cin, h, w]
 * @param wt weight [cout, cin, k, k]
 * @param b bias [cout], or [n, cout] with `biasPerImage`, or null
 * @param y output [n, cout, h, w] (overwritten)
 * @param d sizes
 * @param biasPerImage b holds one row of cout values per image
 */
export function conv2dCpu(
  x: Arr,
  wt: Arr,
  b: Arr | null,
  y: Arr,
  d: Conv2dDims,
  biasPerImage = false,
): void {
  const f = flat(d);
  const { n, cin, cout, h, w, k } = f;
  const pad = (k - 1) >> 1;
  for (let pl = 0; pl < n * cout; pl++) {
    const bias = b ? b[biasPerImage ? pl : pl % cout] : 0;
    y.fill(bias, pl * h * w, (pl + 1) * h * w);
  }
  forEachRow(f, (ni, co, ci, ky, kx, oy) => {
    const wv = wt[((co * cin + ci) * k + ky) * k + kx];
    const [x0, x1] = validColumns(kx, pad, w);
    const yr = ((ni * cout + co) * h + oy) * w;
    const xr = ((ni * cin + ci) * h + oy + ky - pad) * w + kx - pad;
    for (let ox = x0; ox < x1; ox++) y[yr + ox] += wv * x[xr + ox];
  });
}

/**
 * dx = ∂L/∂x given dy = ∂L/∂y: each dy element scatters dy · w[co, ci, ky, kx] back to the
 * input pixel it read (the adjoint of `conv2dCpu`), a row at a time.
 *
 * @param dy output gradient [n, cout, h, w]
 * @param wt weight [cout, cin, k, k]
 * @param dx input gradient [n, cin, h, w] (overwritten)
 * @param d sizes
 */
export function conv2dInputGradCpu(dy: Arr, wt: Arr, dx: Arr, d: Conv2dDims): void {
  const f = flat(d);
  const { n, cin, cout, h, w, k } = f;
  const pad = (k - 1) >> 1;
  dx.fill(0, 0, n * cin * h * w);
  forEachRow(f, (ni, co, ci, ky, kx, oy) => {
    const wv = wt[((co * cin + ci) * k + ky) * k + kx];
    const [x0, x1] = validColumns(kx, pad, w);
    const gr = ((ni * cout + co) * h + oy) * w;
    const xr = ((ni * cin + ci) * h + oy + ky - pad) * w + kx - pad;
    for (let ox = x0; ox < x1; ox++) dx[xr + ox] += wv * dy[gr + ox];
  });
}

/**
 * dw = ∂L/∂w given dy: dw[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, oy + ky − p, ox + kx − p],
 * a dot product of rows at a time.
 *
 * @param x input [n, cin, h, w]
 * @param dy output gradient [n, cout, h, w]
 * @param dw weight gradient [cout, cin, k, k] (overwritten)
 * @param d sizes
 */
export function conv2dWeightGradCpu(x: Arr, dy: Arr, dw: Arr, d: Conv2dDims): void {
  const f = flat(d);
  const { cin, cout, h, w, k } = f;
  const pad = (k - 1) >> 1;
  dw.fill(0, 0, cout * cin * k * k);
  forEachRow(f, (ni, co, ci, ky, kx, oy) => {
    const [x0, x1] = validColumns(kx, pad, w);
    const gr = ((ni * cout + co) * h + oy) * w;
    const xr = ((ni * cin + ci) * h + oy + ky - pad) * w + kx - pad;
    let acc = 0;
    for (let ox = x0; ox < x1; ox++) acc += dy[gr + ox] * x[xr + ox];
    dw[((co * cin + ci) * k + ky) * k + kx] += acc;
  });
}

/**
 * Calls `row` for every (image, output channel, input channel, tap, output row) whose input
 * row oy + ky − p lies inside the image: the index space the sum and both adjoints walk.
 */
function forEachRow(
  d: Conv2dDims,
  row: (ni: number, co: number, ci: number, ky: number, kx: number, oy: number) => void,
): void {
  const { n, cin, cout, h, k } = d;
  const pad = (k - 1) >> 1;
  for (let ni = 0; ni < n; ni++) {
    for (let co = 0; co < cout; co++) {
      for (let ci = 0; ci < cin; ci++) {
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            for (let oy = Math.max(0, pad - ky); oy < Math.min(h, h + pad - ky); oy++) {
              row(ni, co, ci, ky, kx, oy);
            }
          }
        }
      }
    }
  }
}
