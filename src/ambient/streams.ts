/**
 * The random streams of training (docs/method.md, "Reference settings and package flags"). Every draw comes from the
 * counter-based generator as (seed, stream, element), so two consumers that share a seed must
 * use different streams or they read the same bits. A training step's seed drives σ, the noise
 * n and every dropout layer; the data set's corruption seed drives the masks. Each consumer
 * owns a range of streams:
 *
 * | consumer                      | seed              | streams                         |
 * | ----------------------------- | ----------------- | ------------------------------- |
 * | M and M̃ of image i (masks.ts) | corruption seed   | 2i and 2i + 1 (below 2³¹)       |
 * | σ per image (loss.ts)         | the step's seed   | SIGMA_STREAM                    |
 * | n per pixel (loss.ts)         | the step's seed   | NOISE_STREAM                    |
 * | dropout layer k (unet_block)  | the step's seed   | DROPOUT_STREAM + k              |
 *
 * @module
 */
import type { ForwardContext } from "../nn/unet_block.ts";

/** σ's normals: ln σ = P_mean + P_std·z. */
export const SIGMA_STREAM = 0x8000_0000;
/** The noise n added to the images. */
export const NOISE_STREAM = 0x8000_0001;
/** The first dropout layer's stream; each later dropout call of the forward pass counts up. */
export const DROPOUT_STREAM = 0x9000_0000;

/**
 * The forward context of a training step: dropout on, seeded by the step, on its own streams.
 *
 * @param seed the step's seed (the one σ and n are drawn with)
 * @returns a fresh context (its stream counts up as dropout layers run)
 * @example
 * ```ts
 * import { trainingContext } from "./streams.ts";
 * const ctx = trainingContext(1234); // { training: true, seed: 1234, stream: DROPOUT_STREAM }
 * ```
 */
export function trainingContext(seed: number): ForwardContext {
  return { training: true, seed, stream: DROPOUT_STREAM };
}
