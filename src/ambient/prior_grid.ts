/**
 * Unconditional prior samples of a (possibly ambient) model as a PNG grid (docs/method.md §5.5: EDM
 * Heun, 18 steps; an ambient model sees concat[M̃ ⊙ x, M̃] with one fixed M̃ for the run).
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { writePngGrid } from "../io/png.ts";
import type { Params } from "../nn/module.ts";
import type { EDMPrecond } from "../nn/precond.ts";
import { clip } from "../ops/elementwise.ts";
import { edmSample } from "../sampling/edm_sampler.ts";
import type { TrainConfig } from "../train/config.ts";
import { samplingMask } from "./masks.ts";
import { priorDenoiser } from "./prior_denoiser.ts";

/** Seed of the fixed M̃ used for prior samples. */
export const PRIOR_MASK_SEED = 12_345;

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
