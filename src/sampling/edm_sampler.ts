/**
 * EDM's deterministic sampler (Karras et al. 2022, Algorithm 1 without churn; docs/method.md §2.3,
 * §5.5): the probability-flow ODE dx/dσ = (x − D(x; σ))/σ integrated from σ_0·z down to σ_N = 0, by
 * Euler steps with an optional Heun (2nd order) correction wherever σ_{i+1} > 0.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { eulerHeunStep, walkLevels } from "./ode_steps.ts";
import { edmSchedule, type EdmScheduleOptions } from "./schedule.ts";

/** A denoiser D(x; σ): the estimate of the clean image given x at noise level σ, x's shape. */
export type Denoiser = (x: Tensor, sigma: number) => Tensor;

/** What `onStep` sees after step i. */
export interface EdmStepInfo {
  /** Index of the step just taken, 0 … steps − 1. */
  i: number;
  /** Number of steps. */
  steps: number;
  /** σ_i, where the step started. */
  tCur: number;
  /** σ_{i+1}, where x now is. */
  tNext: number;
  /** x at σ_{i+1}; valid during the callback only (the next step frees it). */
  x: Tensor;
  /** Network evaluations so far. */
  nfe: number;
}

/** Options of `edmSample`. */
export interface EdmSampleOptions extends EdmScheduleOptions {
  /** Number of noise levels N (18). */
  steps?: number;
  /** Heun's 2nd-order correction (true: 2N − 1 evaluations) or plain Euler (N). */
  heun?: boolean;
  /** Seed of the initial noise z (a u32). */
  seed: number;
  /** Called after every step, synchronously (for progress bars; must not await). */
  onStep?: (info: EdmStepInfo) => void;
}

/** What `edmSample` returns. */
export interface EdmSampleResult {
  /** The samples at σ = 0 (the caller owns them). */
  x: Tensor;
  /** Number of denoiser evaluations (NFE). */
  nfe: number;
}

/**
 * Draws samples by integrating the probability-flow ODE with EDM's schedule. Records GPU
 * work only; every step's temporaries are freed, so memory stays flat over any N.
 *
 * @param denoise D(x; σ), e.g. an EDMPrecond network wrapped with its parameters
 * @param backend where the samples live
 * @param shape sample shape, e.g. [N, C, H, W]
 * @param options steps (18), heun (true), seed, σ_min (0.002), σ_max (80), ρ (7), onStep
 * @returns the samples and the NFE (2·steps − 1 with Heun, steps with Euler)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { scale } from "../ops/elementwise.ts";
 * import { type Denoiser, edmSample } from "./edm_sampler.ts";
 * // The exact denoiser of N(0, 0.25 I) data.
 * const denoise: Denoiser = (x, sigma) => scale(x, 0.25 / (0.25 + sigma * sigma));
 * const { x, nfe } = edmSample(denoise, cpuBackend(), [16, 1, 8, 8], { seed: 1 }); // nfe 35
 * ```
 */
export function edmSample(
  denoise: Denoiser,
  backend: Backend,
  shape: readonly number[],
  options: EdmSampleOptions,
): EdmSampleResult {
  const { steps = 18, heun = true, seed, onStep } = options;
  const tSteps = edmSchedule(steps, options);
  let nfe = 0;
  const net = (x: Tensor, t: number): Tensor => {
    nfe++;
    const d = denoise(x, t);
    if (d.shape.join() !== x.shape.join()) {
      throw new Error(`edmSample: denoiser returned [${d.shape}] for x of shape [${x.shape}]`);
    }
    return d;
  };

  return tidy(() => {
    const x = walkLevels(
      backend,
      shape,
      seed,
      tSteps,
      (xCur, tCur, tNext) => eulerHeunStep(xCur, net(xCur, tCur), tCur, tNext, heun, net),
      (i, x, tCur, tNext) => onStep?.({ i, steps, tCur, tNext, x, nfe }),
    );
    return { x, nfe };
  });
}
