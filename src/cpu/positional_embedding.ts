/**
 * CPU twin of the positional-embedding kernels. In f32 the phase x·f is rounded to f32
 * as the GPU (and PyTorch's float32 `x.ger(freqs)`) computes it.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";

function rounder(a: Arr): (v: number) => number {
  return a instanceof Float32Array ? Math.fround : (v) => v;
}

/**
 * out[n] = [cos(x[n]·freqs), sin(x[n]·freqs)].
 *
 * @param x positions [N]
 * @param N number of positions
 * @param freqs frequencies [half], in the working precision
 * @param out output [N, 2·half]
 */
export function positionalEmbeddingCpu(x: Arr, N: number, freqs: Arr, out: Arr): void {
  const half = freqs.length;
  const round = rounder(out);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < half; j++) {
      const phi = round(x[n] * freqs[j]);
      out[2 * n * half + j] = Math.cos(phi);
      out[(2 * n + 1) * half + j] = Math.sin(phi);
    }
  }
}

/**
 * dx[n] = Σ_j freqs[j]·(cos φ·g[n, half + j] − sin φ·g[n, j]) with φ = x[n]·freqs[j].
 *
 * @param x positions [N]
 * @param N number of positions
 * @param freqs frequencies [half], in the working precision
 * @param g gradient of the output [N, 2·half]
 * @param dx output [N]
 */
export function positionalEmbeddingBackwardCpu(
  x: Arr,
  N: number,
  freqs: Arr,
  g: Arr,
  dx: Arr,
): void {
  const half = freqs.length;
  const round = rounder(dx);
  for (let n = 0; n < N; n++) {
    let acc = 0;
    for (let j = 0; j < half; j++) {
      const phi = round(x[n] * freqs[j]);
      acc += freqs[j] *
        (Math.cos(phi) * g[(2 * n + 1) * half + j] - Math.sin(phi) * g[2 * n * half + j]);
    }
    dx[n] = acc;
  }
}
