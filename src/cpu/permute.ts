/**
 * CPU twin of the permute kernel: a gather of a contiguous output from strided input.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";

/**
 * out[i] = x[Σ_k c_k · strides[k]] where (c_0 … c_{D−1}) is i's row-major index in `shape`.
 *
 * @param x input
 * @param shape coalesced output shape
 * @param strides input stride of each output dimension
 * @param out output (contiguous over `shape`)
 */
export function permuteCpu(
  x: Arr,
  shape: readonly number[],
  strides: readonly number[],
  out: Arr,
): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const D = shape.length;
  for (let i = 0; i < n; i++) {
    let r = i;
    let off = 0;
    for (let k = D - 1; k >= 0; k--) {
      const c = r % shape[k];
      r = (r - c) / shape[k];
      off += c * strides[k];
    }
    out[i] = x[off];
  }
}
