/**
 * A per-pixel Gaussian prior x ~ N(μ, diag(s²)) on [1, H, W] images and its exact denoiser
 * D(x; σ) = μ + k ⊙ (x − μ), k = s²/(s² + σ²), for the sampler tests (dps_test, dps_oracle_test).
 *
 * @module
 */
import type { Backend } from "../src/core/backend.ts";
import { add, addScalar, div, mul, sub } from "../src/ops/elementwise.ts";
import { Rng } from "../src/core/rng.ts";
import type { Denoiser } from "../src/sampling/edm_sampler.ts";
import type { Tensor } from "../src/core/tensor.ts";

/** Host copies of μ and s. */
export interface Prior {
  h: number;
  w: number;
  mu: number[];
  s: number[];
}

/** μ uniform on [−0.5, 0.5), s uniform on [0.2, 0.6), seeded. */
export function makePrior(h: number, w: number, seed: number): Prior {
  const rng = new Rng(seed);
  const p = h * w;
  return {
    h,
    w,
    mu: Array.from({ length: p }, () => rng.uniform() - 0.5),
    s: Array.from({ length: p }, () => 0.2 + 0.4 * rng.uniform()),
  };
}

/** The exact denoiser of N(μ, diag(s²)) from backend ops, differentiable w.r.t. x. */
export function gaussianDenoiser(mu: Tensor, s2: Tensor): Denoiser {
  return (x, sigma) => add(mu, mul(div(s2, addScalar(s2, sigma * sigma)), sub(x, mu)));
}

/** The prior's μ and s² on a backend with its denoiser; dispose with `using`. */
export function priorOn(backend: Backend, prior: Prior) {
  const shape = [1, 1, prior.h, prior.w];
  const mu = backend.fromArray(prior.mu, shape);
  const s2 = backend.fromArray(prior.s.map((s) => s * s), shape);
  return {
    denoise: gaussianDenoiser(mu, s2),
    [Symbol.dispose]() {
      mu.dispose();
      s2.dispose();
    },
  };
}
