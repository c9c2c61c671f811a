/**
 * Unconditional prior samples of a (possibly ambient) model as a PNG grid (docs/method.md §5.5: EDM
 * Heun, 18 steps; an ambient model sees concat[M̃ ⊙ x, M̃] with one fixed M̃ for the run).
 *
 * @module
 */
import type { Backend } from "../backend.ts";
import { writePngGrid } from "../io/png.ts";
import type { Params } from "../nn/module.ts";
import type { EDMPrecond } from "../nn/precond.ts";
import { concat } from "../ops/concat.ts";
import { clip, mul } from "../ops/elementwise.ts";
import { edmSample } from "../sampling/edm_sampler.ts";
import type { Tensor } from "../tensor.ts";
import type { TrainConfig } from "../train_config.ts";
import { samplingMask } from "./masks.ts";

/** Seed of the fixed M̃ used for prior samples. */
export const PRIOR_MASK_SEED = 12_345;

/**
 * The denoiser x ↦ D(x, σ) that a sampler calls, wrapping the ambient input if needed.
 *
 * @param net the preconditioned network
 * @param params its (EMA) weights
 * @param ambient true for models trained with mask channels
 * @param further the fixed M̃ [N, 1, H, W] (ambient only)
 * @returns the denoiser
 */
export function priorDenoiser(
  net: EDMPrecond,
  params: Params,
  ambient: boolean,
  further: Tensor | null,
): (x: Tensor, sigma: number) => Tensor {
  const ctx = { training: false, seed: 0, stream: 0 };
  return (x, sigma) => {
    const s = x.backend.full([x.shape[0]], sigma);
    if (!ambient || !further) return net.forward(params, x, s, ctx);
    const c = x.shape[1];
    const m = c === 1 ? further : concat(Array(c).fill(further), 1);
    return net.forward(params, concat([mul(further, x), m], 1), s, ctx);
  };
}

/**
 * Samples `config.sampleCount` images with the EMA weights and writes them as a PNG grid.
 *
 * @param path output PNG
 * @param net the network
 * @param ema EMA weights
 * @param config the run (sample count, steps, corruption)
 * @param shape [C, H, W]
 * @param backend where to compute
 * @param onProgress called after each Heun step with the steps done and in all (progress bars)
 */
export async function writePriorGrid(
  path: string,
  net: EDMPrecond,
  ema: Params,
  config: TrainConfig,
  shape: readonly number[],
  backend: Backend,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const [c, h, w] = shape;
  const n = config.sampleCount;
  using further = config.ambient
    ? samplingMask(backend, n, h, w, config.corruption, PRIOR_MASK_SEED)
    : null;
  const denoise = priorDenoiser(net, ema, config.ambient, further);
  const { x } = edmSample(denoise, backend, [n, c, h, w], {
    sigmaMin: config.sampleSigmaMin,
    steps: config.sampleSteps,
    seed: config.seed,
    onStep: onProgress && ((s) => onProgress(s.i + 1, s.steps)),
  });
  using clipped = clip(x, -1, 1);
  x.dispose();
  const data = Float32Array.from(await clipped.toArray());
  await writePngGrid(path, data, [n, c, h, w], { cols: Math.ceil(Math.sqrt(n)) });
}
