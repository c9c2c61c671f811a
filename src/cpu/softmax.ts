/**
 * CPU twin of the softmax kernels: rows of length `len`, stored one after another.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";

/**
 * y = exp(x − max) / Σ exp(x − max) along each row.
 *
 * @param x input rows
 * @param y output rows
 * @param rows number of rows
 * @param len row length
 */
export function softmaxCpu(x: Arr, y: Arr, rows: number, len: number): void {
  for (let r = 0; r < rows; r++) {
    const base = r * len;
    let mx = -Infinity;
    for (let j = 0; j < len; j++) mx = Math.max(mx, x[base + j]);
    let s = 0;
    for (let j = 0; j < len; j++) {
      const e = Math.exp(x[base + j] - mx);
      y[base + j] = e;
      s += e;
    }
    for (let j = 0; j < len; j++) y[base + j] /= s;
  }
}

/**
 * dx = y ⊙ (g − Σ g⊙y) along each row.
 *
 * @param y softmax output rows
 * @param g gradient of the output
 * @param dx gradient of the input
 * @param rows number of rows
 * @param len row length
 */
export function softmaxBackwardCpu(y: Arr, g: Arr, dx: Arr, rows: number, len: number): void {
  for (let r = 0; r < rows; r++) {
    const base = r * len;
    let s = 0;
    for (let j = 0; j < len; j++) s += g[base + j] * y[base + j];
    for (let j = 0; j < len; j++) dx[base + j] = y[base + j] * (g[base + j] - s);
  }
}
