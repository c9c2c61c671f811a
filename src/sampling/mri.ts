/**
 * Multi-coil MRI reconstruction with a diffusion prior (Aali et al. 2024, §4–5;
 * docs/method.md §4, §5.1, §5.3): A-DPS (an ambient prior seeing ÃᴴÃ x through one fixed M̃),
 * FS-DPS (a prior trained on fully sampled images) and A-OS (one evaluation on M_infᴴ y), all
 * with the reference's MRI sampler settings.
 *
 * @module
 */
import { mriAmbientInput, mriImage } from "../ambient/input.ts";
import { scale } from "../ops/elementwise.ts";
import { MultiCoilFourier } from "../operators/multi_coil_fourier.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { dps, type DpsOptions, type DpsResult } from "./dps.ts";
import type { Denoiser } from "./edm_sampler.ts";
import { type AmbientDenoiser, ONE_STEP_SIGMA } from "./one_step.ts";

/**
 * The reference's MRI posterior sampler: Euler, 500 steps, ρ = 7, σ from 10 to 0.004, no
 * clipping. Its update subtracts l·∇ₓ‖r‖²/‖r‖ = 2l·∇ₓ‖r‖ with l = 1 and r over all coils of
 * one slice, so in `dps`'s per-sample units ζ = 2 (docs/method.md §5.1).
 */
export const MRI_DPS: Readonly<Omit<DpsOptions, "seed" | "onStep">> = Object.freeze({
  steps: 500,
  heun: false,
  zeta: 2,
  norm: "sample",
  clipDenoised: false,
  sigmaMin: 0.004,
  sigmaMax: 10,
  rho: 7,
});

/**
 * An ambient MRI network as the denoiser a sampler calls: x ↦ h([ÃᴴÃ x, M̃ over rows, ones], σ)
 * with Ã = M̃ F S held fixed (the training's input layout, docs/method.md §4).
 *
 * @param network h(u, σ), u [N, 4, H, W] → [N, 2, H, W] (or 4 channels: the first two are used)
 * @param further Ã: the inference maps with the fixed M̃ (caller keeps and disposes it)
 * @returns D(x, σ) for complex images [N, 2, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { slice } from "../ops/concat.ts";
 * import { MultiCoilFourier } from "../operators/multi_coil_fourier.ts";
 * import { mriAmbientDenoiser } from "./mri.ts";
 * const b = cpuBackend();
 * using tilde = new MultiCoilFourier(b.full([1, 2, 2, 8, 6], 0.5), b.fromArray([0, 0, 1, 1, 0, 0], [1, 6]));
 * const denoise = mriAmbientDenoiser((u) => slice(u, 1, 0, 2), tilde); // returns ÃᴴÃ x
 * using d = denoise(b.full([1, 2, 8, 6], 1), 0.5);
 * ```
 */
export function mriAmbientDenoiser(network: AmbientDenoiser, further: MultiCoilFourier): Denoiser {
  return (x, sigma) =>
    mriImage(network(mriAmbientInput(further.mask, further.adjoint(further.forward(x))), sigma));
}

/**
 * A copy of an operator's coil maps under another column mask (Ã for A-DPS): the maps are
 * copied because each operator owns what it holds.
 *
 * @param op the inference operator (its maps are used)
 * @param mask 0/1 columns [1 or N, W]; ownership passes to the result
 * @returns the operator M̃ F S (caller disposes)
 */
export function withColumns(op: MultiCoilFourier, mask: Tensor): MultiCoilFourier {
  return new MultiCoilFourier(tidy(() => scale(op.maps, 1)), mask);
}

/**
 * Posterior sampling for multi-coil MRI with the reference's settings (`MRI_DPS`, each
 * overridable): A-DPS with `mriAmbientDenoiser`, FS-DPS with a clean 2-channel network.
 *
 * @param denoise D(x, σ) on complex images [N, 2, H, W]
 * @param op A_inf = M_inf F S of the slices
 * @param y their k-space [N, C, 2, H, W]
 * @param options at least the seed of the initial noise
 * @returns the reconstructions [N, 2, H, W] and the NFE / VJP counts (500 each by default)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { scale } from "../ops/elementwise.ts";
 * import { MultiCoilFourier } from "../operators/multi_coil_fourier.ts";
 * import { mriDps } from "./mri.ts";
 * const b = cpuBackend();
 * using op = new MultiCoilFourier(b.full([1, 2, 2, 8, 6], 0.5), b.fromArray([0, 1, 1, 1, 1, 0], [1, 6]));
 * using y = op.forward(b.full([1, 2, 8, 6], 0.3));
 * // The exact denoiser of N(0, I) data stands in for a trained prior.
 * const { x } = mriDps((x, s) => scale(x, 1 / (1 + s * s)), op, y, { steps: 20, seed: 0 });
 * x.dispose();
 * ```
 */
export function mriDps(
  denoise: Denoiser,
  op: MultiCoilFourier,
  y: Tensor,
  options: Partial<DpsOptions> & { seed: number },
): DpsResult {
  return dps(denoise, op, y, y.backend, imageShape(op, y, "mriDps"), { ...MRI_DPS, ...options });
}

/**
 * A-OS for MRI: x̂ = h([M_infᴴ y, M_inf over rows, ones], σ = 0.003), one evaluation of an
 * ambient network (docs/method.md §5.3).
 *
 * @param network h(u, σ), u [N, 4, H, W] → [N, 2, H, W] (or 4 channels: the first two are used)
 * @param op A_inf = M_inf F S
 * @param y k-space [N, C, 2, H, W]
 * @param sigma the σ given to h (the reference's 0.003)
 * @returns the reconstructions [N, 2, H, W] (caller disposes)
 */
export function mriOneStep(
  network: AmbientDenoiser,
  op: MultiCoilFourier,
  y: Tensor,
  sigma: number = ONE_STEP_SIGMA,
): Tensor {
  if (!(sigma > 0)) throw new Error(`mriOneStep: σ must be > 0, got ${sigma}`);
  const shape = imageShape(op, y, "mriOneStep");
  return tidy(() => {
    const out = mriImage(network(mriAmbientInput(op.mask, op.adjoint(y)), sigma));
    if (out.shape.join() !== shape.join()) {
      throw new Error(`mriOneStep: network returned [${out.shape}], want [${shape}]`);
    }
    return out;
  });
}

/** [N, 2, H, W] of the images behind k-space y, checked against the operator's maps. */
function imageShape(op: MultiCoilFourier, y: Tensor, who: string): number[] {
  const [, c, , h, w] = op.maps.shape;
  const s = y.shape;
  if (s.length !== 5 || s[1] !== c || s[2] !== 2 || s[3] !== h || s[4] !== w) {
    throw new Error(`${who}: k-space must be [N, ${c}, 2, ${h}, ${w}] for ${op.name}, got [${s}]`);
  }
  return [s[0], 2, h, w];
}
