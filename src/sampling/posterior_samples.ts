/**
 * Posterior spread: K draws of A-DPS (an ambient prior) or FS-DPS (a clean one) for the same
 * measurements, differing only in the sampler's seed, reduced to their per-pixel mean and
 * standard deviation. DPS samples the posterior p(x | y) (Aali et al. 2024, §4), so the spread
 * of the draws is the method's own estimate of where the reconstruction is uncertain.
 *
 * ```ts ignore
 * using model = await loadModel("fixtures/models/fmnist-inpaint");
 * const { mean, std } = posteriorSamples(model, op, y, { k: 8, steps: 100, seed: 0 });
 * ```
 *
 * @module
 */
import { adps, fsDps, type Model, type PosteriorOptions } from "../api.ts";
import type { DpsResult } from "./dps.ts";
import { add, clip, mul, scale, sqrt, sub } from "../ops/elementwise.ts";
import type { LinearOperator } from "../operators/linear_operator.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";

/** Options of `posteriorSamples`: those of `adps` / `fsDps`, plus K. */
export interface PosteriorSamplesOptions extends PosteriorOptions {
  /** Number of posterior draws K (≥ 1). */
  k: number;
  /** Clip each draw to [lo, hi] before the statistics (as the studies clip reconstructions). */
  clip?: readonly [number, number];
  /** Called after each draw (progress): j of K done. */
  onSample?: (done: number, k: number) => void;
}

/** The statistics of K posterior draws. */
export interface PosteriorSpread {
  /** Per-pixel mean of the draws [N, C, H, W] (caller disposes). */
  mean: Tensor;
  /** Per-pixel sample standard deviation (divides by K − 1; zero for K = 1) (caller disposes). */
  std: Tensor;
  /** The sampler seed of each draw. */
  seeds: number[];
  /** Network evaluations per image, all draws together. */
  nfe: number;
  /** VJPs per image, all draws together. */
  vjps: number;
}

/**
 * The sampler seed of draw j: the given seed for j = 0 (so K = 1 is the plain call), then
 * hashed, so draws of seed s never reuse the seeds of s + 1's draws.
 *
 * @param seed the run's seed
 * @param j the draw
 * @returns a 32-bit seed
 * @example
 * ```ts
 * import { drawSeed } from "./posterior_samples.ts";
 * console.log(drawSeed(7, 0)); // 7
 * ```
 */
export function drawSeed(seed: number, j: number): number {
  if (j === 0) return seed;
  // murmur3's 32-bit finaliser over (seed, j): a well-mixed, deterministic stream of seeds.
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(j, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * K posterior samples per measurement and their per-pixel mean and standard deviation:
 * A-DPS for an ambient model, FS-DPS for a clean one, draw j with sampler seed
 * `drawSeed(seed, j)`. The M̃ masks stay those of `maskSeed` (default: `seed`) for every
 * draw, so the spread is the sampler's alone and K = 1 equals `adps` / `fsDps`. The draws
 * are reduced as they come (Welford's update), so memory does not grow with K.
 *
 * @param model the prior (`loadModel`)
 * @param op the forward operator A
 * @param y the measurements [N, …]
 * @param options K, the sampler's options (steps, ζ, seed, σ_min, M̃, …), clipping
 * @returns mean and std [N, C, H, W] (caller disposes), the seeds and the NFE / VJP counts
 * @example
 * ```ts ignore
 * using model = await loadModel("fixtures/models/fmnist-inpaint");
 * const r = posteriorSamples(model, op, y, { k: 8, steps: 50, zeta: 2, seed: 0 });
 * using mean = r.mean, std = r.std;
 * ```
 */
export function posteriorSamples(
  model: Model,
  op: LinearOperator,
  y: Tensor,
  options: PosteriorSamplesOptions,
): PosteriorSpread {
  const { k, clip, onSample, ...sampler } = options;
  const maskSeed = sampler.maskSeed ?? sampler.seed;
  const draw = (seed: number) => {
    const opts = { ...sampler, seed, maskSeed };
    return model.config.ambient ? adps(model, op, y, opts) : fsDps(model, op, y, opts);
  };
  return spreadOfDraws(draw, { k, seed: sampler.seed, clip, onSample });
}

/** Options of `spreadOfDraws`. */
export interface SpreadOptions {
  /** Number of draws K (≥ 1). */
  k: number;
  /** The run's seed: draw j gets `drawSeed(seed, j)`. */
  seed: number;
  /** Clip each draw to [lo, hi] before the statistics. */
  clip?: readonly [number, number];
  /** Called after each draw (progress): j of K done. */
  onSample?: (done: number, k: number) => void;
}

/**
 * The per-pixel mean and standard deviation of K draws of any posterior sampler (e.g. the
 * MRI samplers, whose settings differ from `adps`'s), draw j with seed `drawSeed(seed, j)`,
 * reduced as they come (Welford's update), so memory does not grow with K.
 *
 * @param draw one posterior draw for a sampler seed (its x is disposed here)
 * @param options K, the run's seed, clipping, progress
 * @returns mean and std (caller disposes), the seeds and the NFE / VJP counts
 * @example
 * ```ts ignore
 * const r = spreadOfDraws((seed) => mriAdps(model, op, y, { seed, rTrain: 4 }), { k: 4, seed: 0 });
 * using mean = r.mean, std = r.std;
 * ```
 */
export function spreadOfDraws(
  draw: (seed: number) => DpsResult,
  options: SpreadOptions,
): PosteriorSpread {
  const { k, clip: range, onSample } = options;
  if (!(Number.isInteger(k) && k >= 1)) {
    throw new Error(`posteriorSamples: k must be an integer ≥ 1, got ${k}`);
  }
  const seeds = Array.from({ length: k }, (_, j) => drawSeed(options.seed, j));
  let mean: Tensor | null = null;
  let m2: Tensor | null = null;
  let nfe = 0, vjps = 0;
  try {
    for (let j = 0; j < k; j++) {
      const next: [Tensor, Tensor] = tidy(() => {
        const r = draw(seeds[j]);
        nfe += r.nfe;
        vjps += r.vjps;
        const x = range ? clip(r.x, range[0], range[1]) : r.x;
        if (!mean || !m2) return [x, scale(x, 0)];
        // Welford: mean_j = mean + (x − mean)/j, M2_j = M2 + (x − mean)(x − mean_j).
        const d = sub(x, mean);
        const m = add(mean, scale(d, 1 / (j + 1)));
        return [m, add(m2, mul(d, sub(x, m)))];
      });
      mean?.dispose();
      m2?.dispose();
      [mean, m2] = next;
      onSample?.(j + 1, k);
    }
    const std = tidy(() => sqrt(scale(m2!, k > 1 ? 1 / (k - 1) : 0)));
    const result = { mean: mean!, std, seeds, nfe, vjps };
    mean = null;
    return result;
  } finally {
    mean?.dispose();
    m2?.dispose();
  }
}
