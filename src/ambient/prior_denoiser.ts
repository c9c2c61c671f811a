/**
 * A trained model as the denoiser D(x, σ) a sampler calls (Aali et al. 2024, §3–4): a clean
 * model's network as it is; an ambient model's network fed concat[M̃ ⊙ x, M̃] with a fixed M̃.
 *
 * @module
 */
import type { Params } from "../nn/module.ts";
import type { EDMPrecond } from "../nn/precond.ts";
import type { Tensor } from "../core/tensor.ts";
import { ambientInput } from "./input.ts";

/**
 * The denoiser x ↦ D(x, σ) that a sampler calls, wrapping the ambient input if needed.
 *
 * @param net the preconditioned network
 * @param params its (EMA) weights
 * @param ambient true for models trained with mask channels
 * @param further the fixed M̃ [1 or N, 1, H, W] (ambient only)
 * @returns the denoiser (eval mode: no dropout)
 * @example
 * ```ts ignore
 * const denoise = priorDenoiser(net, ema, true, samplingMask(backend, 4, 32, 32, corruption, 0));
 * const { x } = edmSample(denoise, backend, [4, 1, 32, 32], { seed: 0 });
 * ```
 */
export function priorDenoiser(
  net: EDMPrecond,
  params: Params,
  ambient: boolean,
  further: Tensor | null,
): (x: Tensor, sigma: number) => Tensor {
  if (ambient && !further) throw new Error("priorDenoiser: an ambient model needs its M̃ mask");
  const ctx = { training: false, seed: 0, stream: 0 };
  return (x, sigma) => {
    const s = x.backend.full([x.shape[0]], sigma);
    return net.forward(params, ambient ? ambientInput(further!, x) : x, s, ctx);
  };
}
