/**
 * Random-inpainting corruption (docs/method.md §3): the training mask M ~ Bernoulli(1 − p) per
 * pixel, shared across colour channels, and the further corruption M̃ = M ⊙ Bernoulli(1 − δ). Both
 * are fixed per image: drawn from the counter-based generator with the image's index as the stream,
 * so every epoch, every backend and every resumed run sees the same masks.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { bernoulliThreshold, philoxKey } from "../cpu/philox.ts";
import { randomCpu } from "../cpu/random.ts";
import type { Tensor } from "../core/tensor.ts";

/** The corruption levels. */
export interface Corruption {
  /** Probability that a pixel is erased in the training data (the paper's p). */
  p: number;
  /** Probability that a surviving pixel is erased again for the network input (δ). */
  delta: number;
}

/** A batch's masks, [N, 1, H, W] of 0/1 (broadcast over channels). */
export interface InpaintingMasks {
  /** M: the pixels the data set observed. */
  mask: Tensor;
  /** M̃ = M ⊙ Bernoulli(1 − δ): the pixels the network sees. */
  further: Tensor;
}

function keepMask(out: Float32Array, n: number, keep: number, seed: number, stream: number) {
  randomCpu("bernoulli", out, n, philoxKey(seed), stream, bernoulliThreshold(keep));
}

/**
 * The fixed masks of the images `indices`.
 *
 * @param backend where the masks live
 * @param indices data-set index of each image in the batch
 * @param h image height
 * @param w image width
 * @param c corruption levels
 * @param seed data-set corruption seed (one per experiment)
 * @returns M and M̃ as [N, 1, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { furtherCorrupt } from "./masks.ts";
 * const { mask, further } = furtherCorrupt(cpuBackend(), [0, 7], 32, 32, { p: 0.6, delta: 0.1 }, 0);
 * ```
 */
export function furtherCorrupt(
  backend: Backend,
  indices: readonly number[],
  h: number,
  w: number,
  c: Corruption,
  seed: number,
): InpaintingMasks {
  if (!(c.p >= 0 && c.p < 1 && c.delta >= 0 && c.delta < 1)) {
    throw new Error(`corruption p = ${c.p}, δ = ${c.delta}: both must lie in [0, 1)`);
  }
  const hw = h * w;
  const m = new Float32Array(indices.length * hw);
  const mt = new Float32Array(indices.length * hw);
  const extra = new Float32Array(hw);
  indices.forEach((idx, i) => {
    if (!(Number.isInteger(idx) && idx >= 0 && idx < 2 ** 30)) {
      throw new Error(`furtherCorrupt: image index ${idx} must be an integer in [0, 2³⁰)`);
    }
    // Streams 2·idx and 2·idx + 1 (below 2³¹, clear of the step's streams: streams.ts): independent draws for M and for the extra erasure.
    const mi = m.subarray(i * hw, (i + 1) * hw);
    keepMask(mi, hw, 1 - c.p, seed, 2 * idx);
    keepMask(extra, hw, 1 - c.delta, seed, 2 * idx + 1);
    for (let k = 0; k < hw; k++) mt[i * hw + k] = mi[k] * extra[k];
  });
  const shape = [indices.length, 1, h, w];
  return { mask: backend.fromArray(m, shape), further: backend.fromArray(mt, shape) };
}

/**
 * M̃-type masks for inference, one per image as in the reference code (its mask is seeded by
 * the image): Bernoulli((1 − p)(1 − δ)) per pixel, image i's drawn on stream `images[i]`.
 *
 * @param backend where the masks live
 * @param images an index per image of the batch (e.g. its place in the test set)
 * @param h height
 * @param w width
 * @param c corruption levels of the model
 * @param seed mask seed (one per experiment)
 * @returns [N, 1, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { inferenceMasks } from "./masks.ts";
 * using m = inferenceMasks(cpuBackend(), [0, 1, 2, 3], 32, 32, { p: 0.6, delta: 0.1 }, 7);
 * ```
 */
export function inferenceMasks(
  backend: Backend,
  images: readonly number[],
  h: number,
  w: number,
  c: Corruption,
  seed: number,
): Tensor {
  const hw = h * w;
  const all = new Float32Array(images.length * hw);
  images.forEach((idx, i) => {
    if (!(Number.isInteger(idx) && idx >= 0 && idx < 0xfffffff0)) {
      throw new Error(`inferenceMasks: image index ${idx} must be an integer in [0, 2³² − 16)`);
    }
    keepMask(all.subarray(i * hw, (i + 1) * hw), hw, (1 - c.p) * (1 - c.delta), seed, idx);
  });
  return backend.fromArray(all, [images.length, 1, h, w]);
}

/**
 * One M̃-type mask for sampling: Bernoulli((1 − p)(1 − δ)) per pixel, fixed by `seed`.
 *
 * @param backend where the mask lives
 * @param n batch size (the same mask is repeated)
 * @param h height
 * @param w width
 * @param c corruption levels of the model
 * @param seed mask seed
 * @returns [n, 1, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { samplingMask } from "./masks.ts";
 * // The fixed M̃ an ambient model trained at p = 0.6, δ = 0.1 samples with.
 * const m = samplingMask(cpuBackend(), 4, 32, 32, { p: 0.6, delta: 0.1 }, 0); // [4, 1, 32, 32]
 * ```
 */
export function samplingMask(
  backend: Backend,
  n: number,
  h: number,
  w: number,
  c: Corruption,
  seed: number,
): Tensor {
  const one = new Float32Array(h * w);
  keepMask(one, h * w, (1 - c.p) * (1 - c.delta), seed, 0xfffffff0);
  const all = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) all.set(one, i * h * w);
  return backend.fromArray(all, [n, 1, h, w]);
}
