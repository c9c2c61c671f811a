/**
 * Annealed Langevin dynamics for inverse problems (Jalal et al. 2021; docs/method.md §5.4): a few
 * Langevin steps at each of L geometric noise levels, following the prior's score plus the
 * gradient of a Gaussian likelihood whose variance is inflated by the current level. It
 * needs no VJP through the network, only one evaluation per step.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { add, scale, sub } from "../ops/elementwise.ts";
import { randomNormal } from "../ops/random.ts";
import type { LinearOperator } from "../operators/linear_operator.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import type { Denoiser } from "./edm_sampler.ts";

/** Options of `ald`. */
export interface AldOptions {
  /** Number of noise levels L (300). */
  levels?: number;
  /** Langevin steps per level T (3). */
  stepsPerLevel?: number;
  /** First (largest) level σ_0 (80). */
  sigmaMax?: number;
  /** Last (smallest) level σ_{L−1} (0.01). */
  sigmaMin?: number;
  /**
   * Step size relative to σ²: α_i = ε·σ_i² (0.2). NCSNv2's ε·σ_i²/σ_L² is this with
   * ε = ε_NCSN/σ_L². Stable while ε·(1 + ‖AᴴA‖·σ²/(σ_y² + σ²)) < 2.
   */
  epsilon?: number;
  /** Measurement noise σ_y of y (0); the likelihood uses variance σ_y² + σ_i². */
  sigmaY?: number;
  /** Return D(x, σ_{L−1}) instead of the last Langevin iterate (false; one more NFE). */
  denoiseLast?: boolean;
  /** Seed: x₀ uses stream 0, Langevin step j (0-based over all levels) stream j + 1. */
  seed: number;
  /** Called after every Langevin step, synchronously; x is valid during the call only. */
  onStep?: (info: { level: number; step: number; sigma: number; x: Tensor; nfe: number }) => void;
}

/** What `ald` returns. */
export interface AldResult {
  /** The reconstructions (caller disposes). */
  x: Tensor;
  /** Denoiser evaluations (L·T, plus one with `denoiseLast`). */
  nfe: number;
}

/**
 * The geometric levels σ_i = σ_max·(σ_min/σ_max)^{i/(L−1)}, i = 0 … L − 1.
 *
 * @param levels L ≥ 1 (one level is σ_max)
 * @param sigmaMax σ_0
 * @param sigmaMin σ_{L−1}
 * @returns the L levels, decreasing (float64)
 * @example
 * ```ts
 * import { geometricSigmas } from "./ald.ts";
 * const sigmas = geometricSigmas(5, 80, 0.002); // 80, 5.66, 0.4, 0.028, 0.002
 * ```
 */
export function geometricSigmas(levels: number, sigmaMax: number, sigmaMin: number): Float64Array {
  if (!Number.isInteger(levels) || levels < 1) {
    throw new Error(`ald: levels must be a positive integer, got ${levels}`);
  }
  if (!(sigmaMin > 0 && sigmaMin <= sigmaMax && Number.isFinite(sigmaMax))) {
    throw new Error(`ald: need 0 < σ_min ≤ σ_max < ∞, got ${sigmaMin}, ${sigmaMax}`);
  }
  const out = new Float64Array(levels);
  for (let i = 0; i < levels; i++) {
    out[i] = levels === 1 ? sigmaMax : sigmaMax * (sigmaMin / sigmaMax) ** (i / (levels - 1));
  }
  return out;
}

/**
 * Posterior sampling for y = A x + σ_y·n by annealed Langevin dynamics. With the score
 * (D(x, σ) − x)/σ² of the denoiser and α_i = ε·σ_i², each step is
 *
 *   x ← x + α_i·[(D(x, σ_i) − x)/σ_i² − Aᴴ(A x − y)/(σ_y² + σ_i²)] + √(2α_i)·z
 *     = x + ε·(D(x, σ_i) − x) − ε·σ_i²/(σ_y² + σ_i²)·Aᴴ(A x − y) + σ_i·√(2ε)·z,
 *
 * z ~ N(0, I) fresh each step, starting from x₀ = σ_0·z₀. Like all ALD this is approximate:
 * a coordinate whose prior spread s is ≫ σ_i barely moves at level i (its step is ε·σ_i²/s²
 * of the distance), so the excess spread it had when σ_i ≈ s is never fully shed.
 *
 * @param denoise D(x, σ) (e.g. `priorDenoiser` of a model); not differentiated
 * @param op the forward operator A
 * @param y the measurements, batched like the samples (or broadcastable to A x)
 * @param backend where to compute
 * @param shape sample shape [N, C, H, W]
 * @param options levels (300), stepsPerLevel (3), σ_max (80), σ_min (0.01), ε (0.2), σ_y (0),
 *   denoiseLast (false), seed, onStep
 * @returns the reconstructions and the NFE
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { scale } from "../ops/elementwise.ts";
 * import { RandomInpainting } from "../operators/random_inpainting.ts";
 * import { ald } from "./ald.ts";
 * const b = cpuBackend();
 * using op = new RandomInpainting(b, { height: 8, width: 8, p: 0.5, seed: 1 });
 * using y = op.forward(b.full([2, 1, 8, 8], 0.3));
 * // The exact denoiser of N(0, 0.25 I) data as the prior.
 * const denoise = (x: typeof y, sigma: number) => scale(x, 0.25 / (0.25 + sigma * sigma));
 * const { x, nfe } = ald(denoise, op, y, b, [2, 1, 8, 8], { levels: 50, seed: 3 }); // nfe 150
 * x.dispose();
 * ```
 */
export function ald(
  denoise: Denoiser,
  op: LinearOperator,
  y: Tensor,
  backend: Backend,
  shape: readonly number[],
  options: AldOptions,
): AldResult {
  const {
    levels = 300,
    stepsPerLevel = 3,
    sigmaMax = 80,
    sigmaMin = 0.01,
    epsilon = 0.2,
    sigmaY = 0,
    denoiseLast = false,
    seed,
    onStep,
  } = options;
  if (!Number.isInteger(stepsPerLevel) || stepsPerLevel < 1) {
    throw new Error(`ald: stepsPerLevel must be a positive integer, got ${stepsPerLevel}`);
  }
  if (!(epsilon > 0)) throw new Error(`ald: ε must be > 0, got ${epsilon}`);
  if (!(sigmaY >= 0)) throw new Error(`ald: σ_y must be ≥ 0, got ${sigmaY}`);
  const sigmas = geometricSigmas(levels, sigmaMax, sigmaMin);
  let nfe = 0;
  const net = (x: Tensor, sigma: number): Tensor => {
    nfe++;
    const d = denoise(x, sigma);
    if (d.shape.join() !== x.shape.join()) {
      throw new Error(`ald: denoiser returned [${d.shape}] for x of shape [${x.shape}]`);
    }
    return d;
  };

  return tidy(() => {
    let x = tidy(() => scale(randomNormal(backend, shape, seed, 0), sigmas[0]));
    let stream = 1;
    for (let level = 0; level < levels; level++) {
      const sigma = sigmas[level];
      const lik = epsilon * sigma * sigma / (sigmaY * sigmaY + sigma * sigma);
      for (let step = 0; step < stepsPerLevel; step++) {
        const xCur = x;
        const s = stream++;
        x = tidy(() => {
          const prior = scale(sub(net(xCur, sigma), xCur), epsilon);
          const likelihood = scale(op.adjoint(sub(op.forward(xCur), y)), -lik);
          const noise = scale(
            randomNormal(backend, shape, seed, s),
            sigma * Math.sqrt(2 * epsilon),
          );
          return add(add(xCur, prior), add(likelihood, noise));
        });
        xCur.dispose();
        onStep?.({ level, step, sigma, x, nfe });
      }
    }
    if (!denoiseLast) return { x, nfe };
    const last = x;
    x = net(last, sigmas[levels - 1]);
    last.dispose();
    return { x, nfe };
  });
}
