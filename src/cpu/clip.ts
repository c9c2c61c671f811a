/**
 * CPU twin of the clip-scale kernel.
 *
 * @module
 */

/**
 * min(1, maxNorm / (√Σ sums + eps)).
 *
 * @param sums per-tensor sums of squares
 * @param maxNorm the clipping threshold
 * @param eps added to the norm
 * @returns the scale
 */
export function clipScaleCpu(sums: readonly number[], maxNorm: number, eps: number): number {
  let total = 0;
  for (const s of sums) total += s;
  return Math.min(1, maxNorm / (Math.sqrt(total) + eps));
}
