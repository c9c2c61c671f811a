/**
 * Diffusion posterior sampling (Aali et al. 2024, §4; docs/method.md): the EDM sampler plus,
 * at every stage, a step down the gradient of the measurement residual ‖A(D(x)) − y‖ taken
 * through the network (a VJP).
 * With an ambient model and its fixed M̃ this is A-DPS; with a clean model, FS-DPS.
 *
 * @module
 */
import { grad } from "../ops/autograd.ts";
import type { Backend } from "../core/backend.ts";
import { add, addScalar, clip, scale, sqrt, sub } from "../ops/elementwise.ts";
import { sum, sumSquares } from "../ops/reduce.ts";
import type { LinearOperator } from "../operators/linear_operator.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import type { Denoiser } from "./edm_sampler.ts";
import { eulerHeunStep, levelSteps } from "./ode_steps.ts";
import { edmSchedule, type EdmScheduleOptions } from "./schedule.ts";

/** Options of `dps`. */
export interface DpsOptions extends EdmScheduleOptions {
  /** Sampler steps (images: 300; MRI: 500 Euler). */
  steps?: number;
  /** Heun's 2nd-order correction (images: true; MRI: false). */
  heun?: boolean;
  /** Likelihood step size ζ: x ← x − ζ ∇ₓ‖A(D) − y‖ (images: 4–5). */
  zeta?: number;
  /**
   * With Heun: also take the likelihood step at the second stage (the reference's form, the
   * default): stage 2 evaluates D and its VJP at the point the first likelihood step moved to,
   * and the two gradients are averaged like the two slopes (2 NFE and 2 VJPs per step).
   * false: one VJP per step, at the first stage only.
   */
  secondStageLikelihood?: boolean;
  /**
   * "sample" (default): ‖A(Dₙ) − yₙ‖ per sample, summed. "batch": one norm over the whole
   * batch, as the reference's natural-image code takes it; each sample then steps about
   * ζ/√N as far as with "sample" (docs/method.md).
   */
  norm?: "sample" | "batch";
  /** Clip D to [−1, 1] at both Heun stages (natural images: true). */
  clipDenoised?: boolean;
  /** Seed of the initial noise. */
  seed: number;
  /** Called after each step with the step index, the running counts and the current x. */
  onStep?: (info: DpsStep) => void;
}

/** Where a posterior sampler is after step i (what `dpsSteps` yields and `onStep` sees). */
export interface DpsStep {
  /** Index of the step just taken, 0 … steps − 1. */
  i: number;
  /** Number of steps. */
  steps: number;
  /** Network evaluations so far. */
  nfe: number;
  /** VJPs so far. */
  vjps: number;
  /** The current iterate x; valid until the next step frees it. */
  x: Tensor;
}

/** What `dps` returns. */
export interface DpsResult {
  /** The reconstructions (caller disposes). */
  x: Tensor;
  /** Network evaluations. */
  nfe: number;
  /** Vector-Jacobian products through the network. */
  vjps: number;
}

/**
 * Posterior sampling for y = A x + noise with a diffusion prior given by `denoise`. One step
 * from σ_i to σ_{i+1} (Aali et al. 2024, §4; docs/method.md):
 * x' = x + (σ_{i+1} − σ_i)·(x − D)/σ_i − ζ∇ₓ‖A D − y‖, then with Heun (σ_{i+1} > 0) D' and
 * its gradient at x', and x ← x + (σ_{i+1} − σ_i)·(slope + slope')/2 − ζ(∇ + ∇')/2.
 *
 * @param denoise D(x, σ), differentiable w.r.t. x (e.g. `priorDenoiser` of an ambient model)
 * @param op the forward operator A of the inverse problem
 * @param y the measurements, batched like the samples
 * @param backend where to compute
 * @param shape sample shape [N, C, H, W]
 * @param options steps, heun, ζ, second-stage likelihood, norm, clipping, seed, schedule
 * @returns the reconstructions and the NFE / VJP counts
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { scale } from "../ops/elementwise.ts";
 * import { RandomInpainting } from "../operators/random_inpainting.ts";
 * import { dps } from "./dps.ts";
 * const b = cpuBackend();
 * using op = new RandomInpainting(b, { height: 8, width: 8, p: 0.5, seed: 1 });
 * using y = op.forward(b.full([2, 1, 8, 8], 0.5));
 * // The exact denoiser of N(0, 0.25 I) data stands in for a trained prior.
 * const prior = (x: Parameters<typeof scale>[0], s: number) => scale(x, 0.25 / (0.25 + s * s));
 * const { x, nfe, vjps } = dps(prior, op, y, b, [2, 1, 8, 8], { steps: 10, zeta: 0.5, seed: 0 });
 * x.dispose(); // nfe = vjps = 19
 * ```
 */
export function dps(
  denoise: Denoiser,
  op: LinearOperator,
  y: Tensor,
  backend: Backend,
  shape: readonly number[],
  options: DpsOptions,
): DpsResult {
  return runSteps(dpsSteps(denoise, op, y, backend, shape, options), options.onStep);
}

/**
 * Runs a posterior sampler's steps (`dpsSteps`, `adpsSteps`, `fsDpsSteps`) to the end inside
 * one scope, so its temporaries are freed; `onStep` sees each step.
 *
 * @param steps the sampler's steps
 * @param onStep called after each step
 * @returns what the sampler returns (x: caller disposes)
 */
export function runSteps(
  steps: Generator<DpsStep, DpsResult, void>,
  onStep?: (info: DpsStep) => void,
): DpsResult {
  return tidy(() => {
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      onStep?.(r.value);
    }
  });
}

/**
 * `dps` one step per `next()`: each yields the current x (valid until the next step), so a
 * caller may pause between steps, e.g. a web page that redraws the estimate. Run it to the end
 * (its return value is `dps`'s), or close it (`return()`) to free the current x. Call it
 * outside a `tidy` that would end between steps.
 *
 * @param denoise D(x, σ), differentiable w.r.t. x
 * @param op the forward operator A
 * @param y the measurements, batched like the samples
 * @param backend where to compute
 * @param shape sample shape [N, C, H, W]
 * @param options as `dps`'s (`onStep` is not called: the caller sees each step)
 * @returns a generator of the steps, returning the reconstructions and the NFE / VJP counts
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { scale } from "../ops/elementwise.ts";
 * import { RandomInpainting } from "../operators/random_inpainting.ts";
 * import { dpsSteps } from "./dps.ts";
 * const b = cpuBackend();
 * using op = new RandomInpainting(b, { height: 8, width: 8, p: 0.5, seed: 1 });
 * using y = op.forward(b.full([1, 1, 8, 8], 0.5));
 * const prior = (x: Parameters<typeof scale>[0], s: number) => scale(x, 0.25 / (0.25 + s * s));
 * const steps = dpsSteps(prior, op, y, b, [1, 1, 8, 8], { steps: 4, zeta: 0.5, seed: 0 });
 * let r = steps.next();
 * for (; !r.done; r = steps.next()) console.log(`step ${r.value.i + 1} of ${r.value.steps}`);
 * r.value.x.dispose();
 * ```
 */
export function* dpsSteps(
  denoise: Denoiser,
  op: LinearOperator,
  y: Tensor,
  backend: Backend,
  shape: readonly number[],
  options: DpsOptions,
): Generator<DpsStep, DpsResult, void> {
  const { steps = 300, heun = true, zeta = 4, clipDenoised = true, seed } = options;
  const { secondStageLikelihood = true, norm = "sample" } = options;
  if (norm !== "sample" && norm !== "batch") {
    throw new Error(`dps: norm must be "sample" or "batch", got "${norm}"`);
  }
  const tSteps = edmSchedule(steps, options);
  let nfe = 0;
  let vjps = 0;
  const net = (x: Tensor, t: number): Tensor => {
    nfe++;
    const d = denoise(x, t);
    return clipDenoised ? clip(d, -1, 1) : d;
  };
  // ‖r‖ = √(Σr² + 1e-30): a zero residual (nothing observed) gets gradient 0, not 0·∞ = NaN;
  // 1e-30 is below half an ulp of any Σr² over ~1e-14 (f64) or ~1e-22 (f32).
  const residualNorm = (r: Tensor): Tensor =>
    norm === "batch"
      ? sqrt(addScalar(sumSquares(r), 1e-30))
      : sum(sqrt(addScalar(sumSquares(r, r.shape.map((_, k) => k).slice(1)), 1e-30)));
  // D(x) and ζ∇ₓ‖A(D) − y‖ in one forward and one VJP.
  const denoiseAndPull = (x: Tensor, t: number): { denoised: Tensor; pull: Tensor } => {
    let denoised!: Tensor;
    const { grads: [g] } = grad(() => {
      denoised = net(x, t);
      return residualNorm(sub(op.forward(denoised), y));
    }, [x]);
    vjps++;
    return { denoised, pull: scale(g, zeta) };
  };

  const levels = levelSteps(backend, shape, seed, tSteps, (xCur, tCur, tNext) => {
    const first = denoiseAndPull(xCur, tCur);
    if (!heun || tNext === 0 || !secondStageLikelihood) {
      return sub(eulerHeunStep(xCur, first.denoised, tCur, tNext, heun, net), first.pull);
    }
    const dCur = scale(sub(xCur, first.denoised), 1 / tCur);
    const xPrime = sub(add(xCur, scale(dCur, tNext - tCur)), first.pull);
    const second = denoiseAndPull(xPrime, tNext);
    const dPrime = scale(sub(xPrime, second.denoised), 1 / tNext);
    const xOde = add(xCur, scale(add(dCur, dPrime), 0.5 * (tNext - tCur)));
    return sub(xOde, scale(add(first.pull, second.pull), 0.5));
  });
  try {
    for (;;) {
      const r = levels.next();
      if (r.done) return { x: r.value, nfe, vjps };
      yield { i: r.value.i, steps, nfe, vjps, x: r.value.x };
    }
  } finally {
    // Closed early: the walk frees its current x (a finished walk ignores this).
    levels.return(undefined as never);
  }
}
