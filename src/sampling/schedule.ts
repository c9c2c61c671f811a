/**
 * The EDM noise-level discretisation (Karras et al. 2022, eq. 5; docs/method.md §2.3): N levels
 * spaced uniformly in σ^{1/ρ} from σ_max down to σ_min, then σ_N = 0.
 *
 * @module
 */

/** Range and curvature of the schedule. */
export interface EdmScheduleOptions {
  /** Smallest nonzero level σ_{N−1} (natural images 0.002, MRI 0.004). */
  sigmaMin?: number;
  /** Starting level σ_0 (natural images 80, MRI 10). */
  sigmaMax?: number;
  /** ρ: larger values put more steps at low noise. */
  rho?: number;
}

/**
 * σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for i < N, and σ_N = 0.
 *
 * @param n number of steps N (≥ 1; with N = 1 the single level is σ_max)
 * @param options σ_min (0.002), σ_max (80), ρ (7)
 * @returns N + 1 levels, strictly decreasing, ending in 0 (float64)
 * @example
 * ```ts
 * import { edmSchedule } from "./schedule.ts";
 * const t = edmSchedule(18); // t[0] = 80, t[17] = 0.002, t[18] = 0
 * ```
 */
export function edmSchedule(
  n: number,
  { sigmaMin = 0.002, sigmaMax = 80, rho = 7 }: EdmScheduleOptions = {},
): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`edmSchedule: steps must be ≥ 1, got ${n}`);
  if (!(sigmaMin > 0 && sigmaMin < sigmaMax && Number.isFinite(sigmaMax))) {
    throw new Error(`edmSchedule: need 0 < σ_min < σ_max < ∞, got ${sigmaMin}, ${sigmaMax}`);
  }
  if (!(rho > 0)) throw new Error(`edmSchedule: ρ must be > 0, got ${rho}`);
  const t = new Float64Array(n + 1); // t[n] = 0
  const hi = sigmaMax ** (1 / rho);
  const lo = sigmaMin ** (1 / rho);
  for (let i = 0; i < n; i++) {
    // N = 1 would divide 0 by 0: its single level is σ_max.
    const frac = n === 1 ? 0 : i / (n - 1);
    t[i] = (hi + frac * (lo - hi)) ** rho;
  }
  return t;
}
