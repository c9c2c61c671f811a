/**
 * CPU twin of the GroupNorm kernels: per-(sample, group) mean and reciprocal standard
 * deviation, the normalised output with the optional per-sample scale/shift, and its
 * backward. Accumulates in float64 whatever the array precision.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";

/** The layout of a GroupNorm call: x viewed as [N, C, HW] with C split into G groups. */
export interface GroupNormDims {
  /** Samples. */
  N: number;
  /** Channels. */
  C: number;
  /** Pixels per channel (product of the dims after C; 1 for [N, C]). */
  HW: number;
  /** Groups (divides C). */
  G: number;
}

/**
 * Forward: y = ((x − mean)·rstd·gamma + beta)·(1 + scale) + shift, per (n, group) stats,
 * then y·sigmoid(y) when `silu` is set.
 *
 * @param d layout
 * @param x input [N, C, HW]
 * @param gamma per-channel weight [C]
 * @param beta per-channel bias [C]
 * @param scale per-sample scale [N, C], or null (treated as 0)
 * @param shift per-sample shift [N, C], or null (treated as 0)
 * @param eps variance epsilon
 * @param y output [N, C, HW]
 * @param stats output [N, G, 2]: mean, rstd per (sample, group)
 * @param silu apply SiLU to the output
 */
export function groupNormCpu(
  d: GroupNormDims,
  x: Arr,
  gamma: Arr,
  beta: Arr,
  scale: Arr | null,
  shift: Arr | null,
  eps: number,
  y: Arr,
  stats: Arr,
  silu = false,
): void {
  const { N, C, HW, G } = d;
  const Cg = C / G;
  const L = Cg * HW;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const base = (n * C + g * Cg) * HW;
      let s = 0;
      for (let j = 0; j < L; j++) s += x[base + j];
      const mean = s / L;
      let ss = 0;
      for (let j = 0; j < L; j++) {
        const v = x[base + j] - mean;
        ss += v * v;
      }
      const rstd = 1 / Math.sqrt(ss / L + eps);
      stats[2 * (n * G + g)] = mean;
      stats[2 * (n * G + g) + 1] = rstd;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        const m = 1 + (scale ? scale[n * C + c] : 0);
        const t = shift ? shift[n * C + c] : 0;
        const off = (n * C + c) * HW;
        for (let j = 0; j < HW; j++) {
          const a = (x[off + j] - mean) * rstd * gamma[c] + beta[c];
          const v = a * m + t;
          y[off + j] = silu ? v / (1 + Math.exp(-v)) : v;
        }
      }
    }
  }
}

/** The gradients GroupNorm's backward writes (dscale/dshift null when not wanted). */
export interface GroupNormGrads {
  /** ∂L/∂x [N, C, HW]. */
  dx: Arr;
  /** ∂L/∂gamma [C]. */
  dgamma: Arr;
  /** ∂L/∂beta [C]. */
  dbeta: Arr;
  /** ∂L/∂scale [N, C]. */
  dscale: Arr | null;
  /** ∂L/∂shift [N, C]. */
  dshift: Arr | null;
}

/**
 * Backward from the per-channel sums S1 = Σ gy and S2 = Σ gy·n̂ (n̂ the normalised x):
 * dx = rstd·(dn − mean_g(dn) − n̂·mean_g(dn·n̂)) with dn = gy·gamma·(1 + scale).
 *
 * @param d layout
 * @param x forward input
 * @param gamma per-channel weight
 * @param beta per-channel bias
 * @param scale per-sample scale or null
 * @param stats forward's [N, G, 2] mean, rstd
 * @param gy gradient of the output
 * @param out where the gradients go
 * @param silu set when the forward applied SiLU: its shift (or null), for the pre-activation
 */
export function groupNormBackwardCpu(
  d: GroupNormDims,
  x: Arr,
  gamma: Arr,
  beta: Arr,
  scale: Arr | null,
  stats: Arr,
  gy: Arr,
  out: GroupNormGrads,
  silu: { shift: Arr | null } | null = null,
): void {
  const { N, C, HW, G } = d;
  const Cg = C / G;
  const L = Cg * HW;
  if (silu) gy = siluGrad(d, x, gamma, beta, scale, silu.shift, stats, gy);
  const s1 = new Float64Array(N * C);
  const s2 = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / Cg);
      const mean = stats[2 * (n * G + g)];
      const rstd = stats[2 * (n * G + g) + 1];
      const off = (n * C + c) * HW;
      let a = 0;
      let b = 0;
      for (let j = 0; j < HW; j++) {
        a += gy[off + j];
        b += gy[off + j] * (x[off + j] - mean) * rstd;
      }
      s1[n * C + c] = a;
      s2[n * C + c] = b;
    }
  }
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const mean = stats[2 * (n * G + g)];
      const rstd = stats[2 * (n * G + g) + 1];
      let m1 = 0;
      let m2 = 0;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        const k = gamma[c] * (1 + (scale ? scale[n * C + c] : 0));
        m1 += k * s1[n * C + c];
        m2 += k * s2[n * C + c];
      }
      m1 /= L;
      m2 /= L;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        const p = n * C + c;
        const m = 1 + (scale ? scale[p] : 0);
        const k = gamma[c] * m;
        for (let j = 0; j < HW; j++) {
          const i = p * HW + j;
          const nh = (x[i] - mean) * rstd;
          out.dx[i] = rstd * (gy[i] * k - m1 - nh * m2);
        }
        dgamma[c] += m * s2[p];
        dbeta[c] += m * s1[p];
        if (out.dscale) out.dscale[p] = gamma[c] * s2[p] + beta[c] * s1[p];
        if (out.dshift) out.dshift[p] = s1[p];
      }
    }
  }
  out.dgamma.set(dgamma);
  out.dbeta.set(dbeta);
}

/** gy·SiLU′(y) with y the forward's pre-activation, recomputed from x and the stats. */
function siluGrad(
  d: GroupNormDims,
  x: Arr,
  gamma: Arr,
  beta: Arr,
  scale: Arr | null,
  shift: Arr | null,
  stats: Arr,
  gy: Arr,
): Float64Array {
  const { N, C, HW, G } = d;
  const out = new Float64Array(gy.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / (C / G));
      const mean = stats[2 * (n * G + g)];
      const rstd = stats[2 * (n * G + g) + 1];
      const p = n * C + c;
      const m = 1 + (scale ? scale[p] : 0);
      const t = shift ? shift[p] : 0;
      for (let j = p * HW; j < (p + 1) * HW; j++) {
        const y = ((x[j] - mean) * rstd * gamma[c] + beta[c]) * m + t;
        const sig = 1 / (1 + Math.exp(-y));
        out[j] = gy[j] * sig * (1 + y * (1 - sig));
      }
    }
  }
  return out;
}
