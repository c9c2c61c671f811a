/**
 * Diffusion posterior sampling (docs/method.md §5.1): the EDM sampler plus, every step, a step down
 * the gradient of the measurement residual ‖A(D(x)) − y‖ taken through the network (a VJP). With an
 * ambient model and its fixed M̃ this is A-DPS; with a clean model, FS-DPS.
 *
 * @module
 */
import { grad } from "../autograd.ts";
import type { Backend } from "../backend.ts";
import { addScalar, clip, scale, sqrt, sub } from "../ops/elementwise.ts";
import { sum, sumSquares } from "../ops/reduce.ts";
import type { LinearOperator } from "../operators/linear_operator.ts";
import { tidy } from "../scope.ts";
import type { Tensor } from "../tensor.ts";
import type { Denoiser } from "./edm_sampler.ts";
import { eulerHeunStep, walkLevels } from "./ode_steps.ts";
import { edmSchedule, type EdmScheduleOptions } from "./schedule.ts";

/** Options of `dps`. */
export interface DpsOptions extends EdmScheduleOptions {
  /** Sampler steps (images: 300; MRI: 500 Euler). */
  steps?: number;
  /** Heun's 2nd-order correction (images: true; MRI: false). */
  heun?: boolean;
  /** Likelihood step size ζ: x ← x − ζ ∇ₓ‖A(D) − y‖ (images: 4–5). */
  zeta?: number;
  /** Clip D to [−1, 1] at both Heun stages (natural images: true). */
  clipDenoised?: boolean;
  /** Seed of the initial noise. */
  seed: number;
  /** Called after each step with the step index and the running counts. */
  onStep?: (info: { i: number; steps: number; nfe: number; vjps: number }) => void;
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
 * Posterior sampling for y = A x + noise with a diffusion prior given by `denoise`.
 *
 * @param denoise D(x, σ), differentiable w.r.t. x (e.g. `priorDenoiser` of an ambient model)
 * @param op the forward operator A of the inverse problem
 * @param y the measurements, batched like the samples
 * @param backend where to compute
 * @param shape sample shape [N, C, H, W]
 * @param options steps, heun, ζ, clipping, seed, schedule
 * @returns the reconstructions and the NFE / VJP counts
 * @example
 * ```ts ignore
 * const { x, nfe } = dps(priorDenoiser(net, ema, true, mTilde), op, y, backend, [4, 1, 32, 32], {
 *   steps: 300, zeta: 4, seed: 0,
 * });
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
  const { steps = 300, heun = true, zeta = 4, clipDenoised = true, seed, onStep } = options;
  const tSteps = edmSchedule(steps, options);
  let nfe = 0;
  let vjps = 0;
  const net = (x: Tensor, t: number): Tensor => {
    nfe++;
    const d = denoise(x, t);
    return clipDenoised ? clip(d, -1, 1) : d;
  };

  return tidy(() => {
    const x = walkLevels(backend, shape, seed, tSteps, (xCur, tCur, tNext) => {
      // D(x) and ∇ₓ Σₙ‖A(Dₙ) − yₙ‖ in one forward and one VJP (per-sample residual norms).
      let denoised!: Tensor;
      const { grads: [likelihood] } = grad(() => {
        denoised = net(xCur, tCur);
        const r = sub(op.forward(denoised), y);
        // ‖r‖ = √(Σr² + 1e-30): a zero residual (nothing observed) gets gradient 0, not
        // 0·∞ = NaN; 1e-30 is below half an ulp of any Σr² over ~1e-14 (f64) or ~1e-22 (f32).
        return sum(sqrt(addScalar(sumSquares(r, r.shape.map((_, k) => k).slice(1)), 1e-30)));
      }, [xCur]);
      vjps++;
      const xOde = eulerHeunStep(xCur, denoised, tCur, tNext, heun, net);
      // Likelihood step.
      return sub(xOde, scale(likelihood, zeta));
    }, (i) => onStep?.({ i, steps, nfe, vjps }));
    return { x, nfe, vjps };
  });
}
