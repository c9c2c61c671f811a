/**
 * Random inpainting (docs/method.md §5.6): each pixel is erased with probability p, the same pixels
 * in every channel, under a fixed seeded mask.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { bernoulli } from "../ops/random.ts";
import { MaskOperator } from "./mask_operator.ts";

/** Options of `RandomInpainting`. */
export interface RandomInpaintingOptions {
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /** Probability that a pixel is erased, in [0, 1]. */
  p: number;
  /** Mask seed (a u32). */
  seed: number;
  /** Philox stream under the seed (default 0). */
  stream?: number;
  /** Masks drawn, one per image of the batch; 1 (default) shares one mask by all. */
  count?: number;
}

/**
 * y = M ⊙ x with M ~ Bernoulli(1 − p) per pixel, drawn by Philox at (seed, stream), so the
 * CPU twin and WebGPU build the same mask.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { RandomInpainting } from "./random_inpainting.ts";
 * const b = cpuBackend();
 * using op = new RandomInpainting(b, { height: 8, width: 8, p: 0.9, seed: 1 });
 * const y = op.noisy(op.forward(b.full([2, 3, 8, 8], 1)), 0.05, 7);
 * ```
 */
export class RandomInpainting extends MaskOperator {
  /** e.g. "random inpainting p=0.9". */
  readonly name: string;

  /**
   * Draws the mask.
   *
   * @param backend where the mask lives
   * @param opts size, erasure probability, seed
   */
  constructor(backend: Backend, opts: RandomInpaintingOptions) {
    const { height, width, p, seed } = opts;
    if (!(p >= 0 && p <= 1)) throw new Error(`random inpainting: p must be in [0, 1], got ${p}`);
    super(bernoulli(backend, [opts.count ?? 1, 1, height, width], 1 - p, seed, opts.stream ?? 0));
    this.name = `random inpainting p=${p}`;
  }
}
