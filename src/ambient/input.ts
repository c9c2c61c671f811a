/**
 * The ambient network's input (Aali et al. 2024, §3; docs/method.md): the further-corrupted
 * image and its mask stacked along channels, concat[M̃ ⊙ x, M̃, …, M̃], one mask channel per
 * image channel. Training (loss.ts), prior sampling and DPS (prior_denoiser.ts) and A-OS
 * (sampling/one_step.ts) all build it here, so the layout a model was trained on is the one
 * it is sampled with.
 *
 * @module
 */
import { concat, slice } from "../ops/concat.ts";
import { mul } from "../ops/elementwise.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { reshape } from "../ops/reshape.ts";

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

/**
 * Builds the MRI ambient network's 4-channel input [Re, Im of the image, the column mask
 * broadcast over rows, ones] (Aali et al. 2024, §4; docs/method.md §4). Training and A-DPS
 * pass image = ÃᴴÃ x_t with the further-corrupted mask M̃; A-OS passes M_infᴴ y with M_inf.
 *
 * @param mask 0/1 column mask with W columns and 1 or N rows ([N, W], or [N, 1, 1, 1, W] as
 *   `MultiCoilFourier.mask` holds it); one row is shared by the batch
 * @param image complex images [N, 2, H, W] (Re, Im planes)
 * @returns [N, 4, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { mriAmbientInput } from "./input.ts";
 * const b = cpuBackend();
 * const mask = b.fromArray([1, 0, 1, 1, 0, 1], [1, 6]);
 * using u = mriAmbientInput(mask, b.full([2, 2, 8, 6], 0.5)); // [2, 4, 8, 6]
 * ```
 */
export function mriAmbientInput(mask: Tensor, image: Tensor): Tensor {
  const [n, two, h, w] = image.shape;
  const count = mask.size / w;
  if (
    image.shape.length !== 4 || two !== 2 || mask.shape[mask.shape.length - 1] !== w ||
    (count !== 1 && count !== n)
  ) {
    throw new Error(
      `mriAmbientInput: need complex images [N, 2, H, W] and a [1 or N, W] column mask, ` +
        `got images [${image.shape}] and mask [${mask.shape}]`,
    );
  }
  return tidy(() => {
    const b = image.backend;
    // Broadcasting over rows (and over the batch for a shared mask) via a product with ones.
    const rows = mul(reshape(mask, [count, 1, 1, w]), b.full([n, 1, h, 1], 1));
    return concat([image, rows, b.full([n, 1, h, w], 1)], 1);
  });
}

/**
 * The denoised complex image of an MRI network's output: its first two channels (Re, Im). The
 * reference's ambient MRI network has as many outputs as inputs (4; 36 768 644 parameters at
 * 384×320) and keeps D[:, :2], so either width is read the same way.
 *
 * @param out network output [N, 2 or more, H, W]
 * @returns [N, 2, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { mriImage } from "./input.ts";
 * using d = mriImage(cpuBackend().full([1, 4, 8, 6], 0)); // [1, 2, 8, 6]
 * ```
 */
export function mriImage(out: Tensor): Tensor {
  if (out.shape.length !== 4 || out.shape[1] < 2) {
    throw new Error(`mriImage: need a network output [N, ≥2, H, W], got [${out.shape}]`);
  }
  return out.shape[1] === 2 ? out : slice(out, 1, 0, 2);
}
