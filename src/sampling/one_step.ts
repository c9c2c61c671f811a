/**
 * A-OS, the one-step ambient reconstruction (docs/method.md §5.3): an ambient model predicts
 * E[x₀ | M ⊙ x_t, M] for any mask M, so feeding it the measurements themselves with the
 * inference mask at a tiny σ gives a reconstruction in one network evaluation.
 * Applies to mask-type operators (random and box inpainting) on natural images.
 *
 * @module
 */
import { ambientInput } from "../ambient/input.ts";
import { MaskOperator } from "../operators/mask_operator.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";

/**
 * An ambient network h(input, σ): input [N, 2C, H, W] = concat[M ⊙ x, M repeated over the
 * C channels] (the layout `ambientInput` builds), output the clean estimate [N, C, H, W].
 */
export type AmbientDenoiser = (input: Tensor, sigma: number) => Tensor;

/** The σ at which A-OS evaluates the network (the reference's 0.003). */
export const ONE_STEP_SIGMA = 0.003;

/**
 * A-OS: x̂ = h(concat[M ⊙ Aᴴy, M], σ) with the operator's own mask M, one evaluation.
 *
 * @param denoise the ambient network h (e.g. an EDMPrecond with its EMA weights)
 * @param op a mask-type operator (random or box inpainting); others have no mask to feed
 * @param y measurements [N, C, H, W]
 * @param sigma the noise level given to h (0.003)
 * @returns the reconstructions [N, C, H, W] (caller disposes)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { slice } from "../ops/concat.ts";
 * import { RandomInpainting } from "../operators/random_inpainting.ts";
 * import { ambientOneStep } from "./one_step.ts";
 * const b = cpuBackend();
 * using op = new RandomInpainting(b, { height: 8, width: 8, p: 0.5, seed: 1 });
 * using y = op.forward(b.full([2, 3, 8, 8], 0.5));
 * // A stand-in for a trained network: returns its masked-image channels.
 * using x = ambientOneStep((input) => slice(input, 1, 0, 3), op, y);
 * ```
 */
export function ambientOneStep(
  denoise: AmbientDenoiser,
  op: MaskOperator,
  y: Tensor,
  sigma: number = ONE_STEP_SIGMA,
): Tensor {
  if (!(op instanceof MaskOperator)) {
    const name = (op as { name?: string } | null)?.name;
    throw new Error(`ambientOneStep: needs a mask operator (inpainting), got ${name}`);
  }
  if (!(sigma > 0)) throw new Error(`ambientOneStep: σ must be > 0, got ${sigma}`);
  return tidy(() => {
    const out = denoise(ambientInput(op.mask, op.adjoint(y)), sigma);
    if (out.shape.join() !== y.shape.join()) {
      throw new Error(`ambientOneStep: network returned [${out.shape}] for y of [${y.shape}]`);
    }
    return out;
  });
}
