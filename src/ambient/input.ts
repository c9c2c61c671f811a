/**
 * The ambient network's input (Aali et al. 2024, §3; docs/method.md): the further-corrupted
 * image and its mask stacked along channels, concat[M̃ ⊙ x, M̃, …, M̃], one mask channel per
 * image channel. Training (loss.ts), prior sampling and DPS (prior_denoiser.ts) and A-OS
 * (sampling/one_step.ts) all build it here, so the layout a model was trained on is the one
 * it is sampled with.
 *
 * @module
 */
import { concat } from "../ops/concat.ts";
import { mul } from "../ops/elementwise.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";

/**
 * Builds an ambient network's input concat[M̃ ⊙ x, M̃, …, M̃] along channels.
 *
 * @param mask 0/1 mask [1 or N, 1, H, W] (1: seen); count 1 is shared by the batch
 * @param x images [N, C, H, W]
 * @returns [N, 2C, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { ambientInput } from "./input.ts";
 * const b = cpuBackend();
 * using u = ambientInput(b.full([1, 1, 8, 8], 1), b.full([2, 3, 8, 8], 0.5)); // [2, 6, 8, 8]
 * ```
 */
export function ambientInput(mask: Tensor, x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const [count, one, mh, mw] = mask.shape;
  if (
    x.shape.length !== 4 || mask.shape.length !== 4 || one !== 1 || mh !== h || mw !== w ||
    (count !== 1 && count !== n)
  ) {
    throw new Error(`ambientInput: mask [${mask.shape}] does not fit images [${x.shape}]`);
  }
  return tidy(() => {
    const perImage = count === n ? mask : concat(Array(n).fill(mask), 0);
    const channels = c === 1 ? perImage : concat(Array(c).fill(perImage), 1);
    return concat([mul(x, mask), channels], 1);
  });
}
