/**
 * EDM preconditioning (Karras et al. 2022; docs/method.md §2.2): D(u, σ) = c_skip·u +
 * c_out·F(c_in·u, c_noise). For ambient models u carries mask channels too: c_in scales the whole
 * input and the output keeps the image channels.
 *
 * @module
 */
import { add, mul } from "../ops/elementwise.ts";
import { slice } from "../ops/concat.ts";
import { map } from "../ops/map.ts";
import type { Tensor } from "../core/tensor.ts";
import type { Params } from "./module.ts";
import type { SongUNet } from "./song_unet.ts";
import type { ForwardContext } from "./unet_block.ts";
import { reshape } from "../ops/reshape.ts";

/** EDM's σ_data for images in [−1, 1]. */
export const SIGMA_DATA = 0.5;

/** The four preconditioning coefficients as expressions in σ (p0 = σ_data). */
const C_SKIP = "p0 * p0 / (s * s + p0 * p0)";
const C_OUT = "s * p0 / sqrt(s * s + p0 * p0)";
const C_IN = "1.0 / sqrt(s * s + p0 * p0)";
const C_NOISE = "log(s) / 4.0";

function coef(label: string, expr: string, sigma: Tensor, n: number): Tensor {
  return reshape(map(label, expr, ["s"], [sigma], [SIGMA_DATA]), [n, 1, 1, 1]);
}

/**
 * A backend that evaluates a whole network itself rather than op by op (ONNX Runtime,
 * src/onnx/ort_backend.ts): `EDMPrecond.forward` hands it the call, so every sampler runs there
 * unchanged.
 */
export interface NetworkRunner {
  /** D(u, σ) of `net` with weights `p`, differentiable w.r.t. u. */
  runNetwork(net: EDMPrecond, p: Params, u: Tensor, sigma: Tensor, ctx: ForwardContext): Tensor;
}

/**
 * The denoiser D(u, σ) around a SongUNet backbone.
 *
 * @example
 * ```ts
 * import { EDMPrecond } from "./precond.ts";
 * import { SongUNet } from "./song_unet.ts";
 * const net = new EDMPrecond(new SongUNet({
 *   imgResolution: 32, inChannels: 2, outChannels: 1, modelChannels: 32,
 *   channelMult: [1, 2, 2], numBlocks: 2, attnResolutions: [8], dropout: 0,
 * }));
 * ```
 */
export class EDMPrecond {
  /** The backbone F. */
  readonly model: SongUNet;

  /**
   * Wraps a backbone in EDM preconditioning.
   *
   * @param model the backbone F (built with the "model." prefix)
   */
  constructor(model: SongUNet) {
    this.model = model;
  }

  /**
   * D(u, σ).
   *
   * @param p parameters
   * @param u noisy input [N, inChannels, R, R] (image channels first)
   * @param sigma noise level per sample [N]
   * @param ctx dropout state
   * @returns the denoised image [N, outChannels, R, R]
   */
  forward(p: Params, u: Tensor, sigma: Tensor, ctx: ForwardContext): Tensor {
    const n = u.shape[0];
    if (sigma.size !== n) {
      throw new Error(`EDMPrecond: σ has ${sigma.size} values for a batch of ${n}`);
    }
    const runner = u.backend as Partial<NetworkRunner>;
    if (runner.runNetwork) return runner.runNetwork(this, p, u, sigma, ctx);
    const cSkip = coef("c_skip", C_SKIP, sigma, n);
    const cOut = coef("c_out", C_OUT, sigma, n);
    const cIn = coef("c_in", C_IN, sigma, n);
    const cNoise = map("c_noise", C_NOISE, ["s"], [sigma], [SIGMA_DATA]);
    const f = this.model.forward(p, mul(cIn, u), cNoise, ctx);
    const image = u.shape[1] === f.shape[1] ? u : slice(u, 1, 0, f.shape[1]);
    return add(mul(cSkip, image), mul(cOut, f));
  }
}
