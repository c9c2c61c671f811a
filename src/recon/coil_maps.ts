/**
 * Coil sensitivities from the data itself, for k-space without maps: the low-resolution
 * coil images of the fully sampled centre (ACS), Hann-windowed, divided by their
 * root-sum-of-squares (Σ_c |S_c|² = 1), phase referred to coil 0 as ESPIRiT does. A
 * simpler stand-in for ESPIRiT (`bart ecalib -m 1`); docs/mri-physics/ states the agreement.
 *
 * @module
 */
import { acsStart } from "../mri/masks.ts";
import { coilImages } from "../mri/normalise.ts";

/**
 * Estimates coil maps of one slice from its central `acs`×`acs` k-space block.
 *
 * @param kspace planar complex [C, 2, H, W] (dropped columns zero)
 * @param dims [C, H, W]
 * @param acs width of the fully sampled central block (the ACS columns; default 20)
 * @returns maps, planar complex [C, 2, H, W]
 * @example
 * ```ts ignore
 * import { estimateCoilMaps } from "./coil_maps.ts";
 * const maps = estimateCoilMaps(kspace, [4, 128, 112], 20);
 * ```
 */
export function estimateCoilMaps(
  kspace: Float32Array,
  dims: readonly number[],
  acs = 20,
): Float32Array {
  const [c, h, w] = dims;
  const hw = h * w;
  if (kspace.length !== c * 2 * hw) {
    throw new Error(
      `estimateCoilMaps: ${kspace.length} values do not match [C, 2, H, W] = [${c}, 2, ${h}, ${w}]`,
    );
  }
  if (!(acs >= 2 && acs <= Math.min(h, w))) {
    throw new Error(`estimateCoilMaps: ACS ${acs} must be in 2..${Math.min(h, w)}`);
  }
  const [r0, q0] = [acsStart(h, acs), acsStart(w, acs)];
  // A separable Hann window over the calibration block keeps the maps free of ringing.
  const hann = (i: number) => Math.sin((Math.PI * (i + 0.5)) / acs) ** 2;
  const low = new Float32Array(kspace.length);
  for (let k = 0; k < 2 * c; k++) {
    for (let r = 0; r < acs; r++) {
      for (let q = 0; q < acs; q++) {
        const o = k * hw + (r0 + r) * w + q0 + q;
        low[o] = kspace[o] * hann(r) * hann(q);
      }
    }
  }
  const img = coilImages(low, dims);
  const out = new Float32Array(img.length);
  for (let p = 0; p < hw; p++) {
    let e = 0;
    for (let k = 0; k < 2 * c; k++) e += img[k * hw + p] ** 2;
    const [ar, ai] = [img[p], img[hw + p]];
    const m0 = Math.hypot(ar, ai);
    // Unit phase factor conj(S_0)/|S_0| and the RSS normalisation in one scale.
    const [ur, ui] = m0 > 0 ? [ar / m0, -ai / m0] : [1, 0];
    const inv = e > 0 ? 1 / Math.sqrt(e) : 0;
    for (let j = 0; j < c; j++) {
      const [sr, si] = [img[2 * j * hw + p], img[(2 * j + 1) * hw + p]];
      out[2 * j * hw + p] = (sr * ur - si * ui) * inv;
      out[(2 * j + 1) * hw + p] = (sr * ui + si * ur) * inv;
    }
  }
  return out;
}

/**
 * Agreement of two sets of maps, blind to a per-pixel phase: Σ_p w_p |⟨a_p, b_p⟩| /
 * Σ_p w_p ‖a_p‖‖b_p‖, with a_p, b_p the coil vectors at pixel p and weights w (e.g. the
 * image magnitude, so background pixels do not count). 1 means the same maps.
 *
 * @param a maps, planar complex [C, 2, H, W]
 * @param b maps, same layout
 * @param coils C
 * @param weight per-pixel weights [H, W]
 * @returns the weighted correlation in [0, 1]
 */
export function mapCorrelation(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  coils: number,
  weight: ArrayLike<number>,
): number {
  const hw = weight.length;
  if (a.length !== coils * 2 * hw || b.length !== a.length) {
    throw new Error(
      `mapCorrelation: maps of ${a.length}, ${b.length} values for ${coils} coils of ${hw} pixels`,
    );
  }
  let num = 0;
  let den = 0;
  for (let p = 0; p < hw; p++) {
    let [dr, di, na, nb] = [0, 0, 0, 0];
    for (let j = 0; j < coils; j++) {
      const [ar, ai] = [a[2 * j * hw + p], a[(2 * j + 1) * hw + p]];
      const [br, bi] = [b[2 * j * hw + p], b[(2 * j + 1) * hw + p]];
      dr += ar * br + ai * bi;
      di += ai * br - ar * bi;
      na += ar * ar + ai * ai;
      nb += br * br + bi * bi;
    }
    num += weight[p] * Math.hypot(dr, di);
    den += weight[p] * Math.sqrt(na * nb);
  }
  return den > 0 ? num / den : 0;
}
