/**
 * Training losses, one small function each, as in EDM's loss.py (docs/method.md §2.1, §3).
 *
 * @module
 */
import { add, exp, mul, scale, sub } from "../ops/elementwise.ts";
import { map } from "../ops/map.ts";
import { randomNormal } from "../ops/random.ts";
import { sum } from "../ops/reduce.ts";
import type { Tensor } from "../core/tensor.ts";
import type { Params } from "../nn/module.ts";
import { type EDMPrecond, SIGMA_DATA } from "../nn/precond.ts";
import type { ForwardContext } from "../nn/unet_block.ts";
import { ambientInput } from "./input.ts";
import type { InpaintingMasks } from "./masks.ts";
import { reshape } from "../ops/reshape.ts";
import { NOISE_STREAM, SIGMA_STREAM } from "./streams.ts";

/** EDM's log-normal noise distribution: ln σ ~ N(P_mean, P_std²). */
export const P_MEAN: number = -1.2;
/** Standard deviation of ln σ. */
export const P_STD: number = 1.2;

/** What a loss returns: the back-propagated value and what is only logged. */
export interface LossTerms {
  /** Σ λ(σ)·‖…‖² / N: what is differentiated. */
  loss: Tensor;
  /** The same on M̃'s pixels (ambient only; logged, never trained on). */
  furtherLoss?: Tensor;
}

/** σ per sample, ln σ ~ N(P_mean, P_std²), drawn from the step's seed (image `first` on). */
function drawSigma(x: Tensor, seed: number, first: number): Tensor {
  const z = randomNormal(x.backend, [x.shape[0]], seed, SIGMA_STREAM, first);
  return exp(add(scale(z, P_STD), x.backend.full([1], P_MEAN)));
}

/** The noise n of images `first`.. of the step's batch, shaped like x. */
function drawNoise(x: Tensor, seed: number, first: number): Tensor {
  return randomNormal(x.backend, x.shape, seed, NOISE_STREAM, first * (x.size / x.shape[0]));
}

/** λ(σ) = (σ² + σ_d²)/(σ σ_d)² per sample, shaped to broadcast over [N, C, H, W]. */
function lossWeight(sigma: Tensor): Tensor {
  const w = map("edm_weight", "(s * s + p0 * p0) / (s * s * p0 * p0)", ["s"], [sigma], [
    SIGMA_DATA,
  ]);
  return reshape(w, [sigma.shape[0], 1, 1, 1]);
}

function weightedSum(weight: Tensor, r: Tensor): Tensor {
  return scale(sum(mul(weight, mul(r, r))), 1 / r.shape[0]);
}

/**
 * EDM loss: λ(σ)‖D(x + σn, σ) − x‖², summed per image and averaged over the batch.
 *
 * @param net the preconditioned denoiser
 * @param p its parameters
 * @param x clean images [N, C, H, W]
 * @param seed randomness of this step (σ and n)
 * @param ctx dropout state; its `first` also places σ and n in the step's batch
 * @returns the loss
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { EDMPrecond } from "../nn/precond.ts";
 * import { SongUNet } from "../nn/song_unet.ts";
 * import { edmLoss } from "./loss.ts";
 * const b = cpuBackend();
 * const net = new EDMPrecond(new SongUNet({
 *   imgResolution: 8, inChannels: 1, outChannels: 1, modelChannels: 8,
 *   channelMult: [1], numBlocks: 1, attnResolutions: [], dropout: 0,
 * }));
 * const params = net.model.registry.materialize(b, 0);
 * const x = b.full([2, 1, 8, 8], 0.5); // clean images in [−1, 1]
 * const { loss } = edmLoss(net, params, x, 1, { training: true, seed: 1, stream: 0 });
 * ```
 */
export function edmLoss(
  net: EDMPrecond,
  p: Params,
  x: Tensor,
  seed: number,
  ctx: ForwardContext,
): LossTerms {
  const sigma = drawSigma(x, seed, ctx.first ?? 0);
  const n = mul(drawNoise(x, seed, ctx.first ?? 0), reshape(sigma, [x.shape[0], 1, 1, 1]));
  const d = net.forward(p, add(x, n), sigma, ctx);
  return { loss: weightedSum(lossWeight(sigma), sub(d, x)) };
}

/**
 * Ambient loss (random inpainting): the network sees concat[M̃ ⊙ (x + σn), M̃] and is
 * penalised on the observed pixels only: λ(σ)‖M ⊙ (D − x)‖². Here x is only ever used
 * through M ⊙ x: the training data is corrupted.
 *
 * @param net the preconditioned denoiser (inChannels = 2·C, outChannels = C)
 * @param p its parameters
 * @param x images [N, C, H, W] (only M ⊙ x matters)
 * @param masks M and M̃ of these images
 * @param seed randomness of this step
 * @param ctx dropout state; its `first` also places σ and n in the step's batch
 * @returns the trained loss and the logged M̃ loss
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { EDMPrecond } from "../nn/precond.ts";
 * import { SongUNet } from "../nn/song_unet.ts";
 * import { ambientLoss } from "./loss.ts";
 * import { furtherCorrupt } from "./masks.ts";
 * const b = cpuBackend();
 * const net = new EDMPrecond(new SongUNet({
 *   imgResolution: 8, inChannels: 2, outChannels: 1, modelChannels: 8,
 *   channelMult: [1], numBlocks: 1, attnResolutions: [], dropout: 0,
 * }));
 * const params = net.model.registry.materialize(b, 0);
 * const masks = furtherCorrupt(b, [0, 1], 8, 8, { p: 0.6, delta: 0.1 }, 0); // M and M̃
 * const x = b.full([2, 1, 8, 8], 0.5); // only M ⊙ x is used
 * const { loss, furtherLoss } = ambientLoss(net, params, x, masks, 1, {
 *   training: true,
 *   seed: 1,
 *   stream: 0,
 * });
 * ```
 */
export function ambientLoss(
  net: EDMPrecond,
  p: Params,
  x: Tensor,
  masks: InpaintingMasks,
  seed: number,
  ctx: ForwardContext,
): LossTerms {
  const first = ctx.first ?? 0;
  const noise = drawNoise(x, seed, first);
  const sigma = drawSigma(x, seed, first);
  return ambientObjective((u, s) => net.forward(p, u, s, ctx), x, masks, sigma, noise);
}

/** A denoiser as the ambient objective calls it: D(u, σ) with u the network input, σ [N]. */
export type LossDenoiser = (u: Tensor, sigma: Tensor) => Tensor;

/**
 * The ambient objective at given noise levels and noise: what `ambientLoss` evaluates, for any
 * denoiser (the exactness tests train a linear one with it).
 *
 * @param denoise D(u, σ), u = concat[M̃ ⊙ (M ⊙ x + σn), M̃] with C + C channels
 * @param x images [N, C, H, W] (only M ⊙ x matters)
 * @param masks M and M̃ [N, 1, H, W]
 * @param sigma σ per image [N]
 * @param noise standard normal n, shaped like x
 * @returns λ(σ)‖M ⊙ (D − x)‖² and the logged M̃ term, each summed per image, batch-averaged
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { slice } from "../ops/concat.ts";
 * import { ambientObjective } from "./loss.ts";
 * import { furtherCorrupt } from "./masks.ts";
 * const b = cpuBackend();
 * const masks = furtherCorrupt(b, [0], 4, 4, { p: 0.5, delta: 0.2 }, 0);
 * const x = b.full([1, 1, 4, 4], 0.3);
 * // A denoiser that returns its input's image channels (M̃ ⊙ (M ⊙ x + σn)).
 * const { loss } = ambientObjective((u) => slice(u, 1, 0, 1), x, masks, b.full([1], 0.5), b.full(x.shape, 0));
 * ```
 */
export function ambientObjective(
  denoise: LossDenoiser,
  x: Tensor,
  masks: InpaintingMasks,
  sigma: Tensor,
  noise: Tensor,
): LossTerms {
  const b = x.shape[0];
  const weight = lossWeight(sigma);
  const y = mul(masks.mask, x);
  const n = mul(noise, reshape(sigma, [b, 1, 1, 1]));
  const residual = sub(denoise(ambientInput(masks.further, add(y, n)), sigma), y);
  return {
    loss: weightedSum(weight, mul(masks.mask, residual)),
    furtherLoss: weightedSum(weight, mul(masks.further, residual)),
  };
}
