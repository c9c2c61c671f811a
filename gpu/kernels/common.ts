/**
 * Helpers shared by the 1-D kernels: 64-wide workgroups (a multiple of 8, which llvmpipe
 * maps onto its SIMD lanes) spread over x and y when one axis would exceed 65 535 groups.
 *
 * @module
 */

/** Workgroup width of 1-D kernels. */
export const WG = 64;
const MAX_X = 32768;

/** WGSL statement that defines the flat invocation index `i` (needs `gid` and `nwg`). */
export const INDEX = "let i = gid.x + gid.y * nwg.x * 64u;";

/** Workgroup counts that cover `n` invocations of a 64-wide kernel. */
export function groups1d(n: number): [number, number] {
  const g = Math.ceil(n / WG);
  if (g <= MAX_X) return [g, 1];
  return [MAX_X, Math.ceil(g / MAX_X)];
}

/** WGSL that applies SiLU to `v` (of any float type) in place when `silu` is set. */
export function siluInPlace(silu: boolean): string {
  return silu ? "v = v / (1.0 + exp(-v));" : "";
}

/**
 * WGSL that turns the gradient `v` of SiLU's output into that of its input, given the
 * expression `pre` of the input (same float type), when `silu` is set.
 */
export function siluBackwardInPlace(silu: boolean, pre: string): string {
  return silu
    ? `{ let z = ${pre}; let s = 1.0 / (1.0 + exp(-z)); v = v * s * (1.0 + z * (1.0 - s)); }`
    : "";
}
