/**
 * The parts of EDM's sampler that the plain sampler (edm_sampler.ts) and posterior sampling
 * (dps.ts) share: the loop over the noise levels with its memory handling, and the Euler step
 * of the probability-flow ODE dx/dσ = (x − D(x; σ))/σ with Heun's correction.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { add, scale, sub } from "../ops/elementwise.ts";
import { randomNormal } from "../ops/random.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";

/** Where `levelSteps` is after step i. */
export interface Level {
  /** Index of the step just taken. */
  i: number;
  /** x at tNext; valid until the next step frees it. */
  x: Tensor;
  /** The level the step started from. */
  tCur: number;
  /** The level x is now at. */
  tNext: number;
}

/**
 * Walks x from σ_0·z (z ~ N(0, I) drawn with `seed`) down the levels `tSteps`, one step per
 * `next()`: step i maps x at tSteps[i] to x at tSteps[i + 1], frees its temporaries and the
 * previous x, and yields the new x, so a caller may pause between steps (a web page redraws).
 * Returns x at the last level; closing the walk early frees the current x.
 *
 * @param backend where x lives
 * @param shape sample shape
 * @param seed seed of z (a u32)
 * @param tSteps the noise levels, N + 1 of them
 * @param step x at tCur → x at tNext (its temporaries are freed)
 * @returns a generator of the levels, returning x at the last one (caller disposes)
 */
export function* levelSteps(
  backend: Backend,
  shape: readonly number[],
  seed: number,
  tSteps: ArrayLike<number>,
  step: (xCur: Tensor, tCur: number, tNext: number) => Tensor,
): Generator<Level, Tensor, void> {
  let xNext = tidy(() => scale(randomNormal(backend, shape, seed), tSteps[0]));
  let finished = false;
  try {
    for (let i = 0; i < tSteps.length - 1; i++) {
      const xCur = xNext;
      const tCur = tSteps[i];
      const tNext = tSteps[i + 1];
      xNext = tidy(() => step(xCur, tCur, tNext));
      xCur.dispose();
      yield { i, x: xNext, tCur, tNext };
    }
    finished = true;
    return xNext;
  } finally {
    if (!finished) xNext.dispose();
  }
}

/**
 * `levelSteps` run to the end, `after` called after each step. Call inside a `tidy` that
 * returns the result.
 *
 * @param backend where x lives
 * @param shape sample shape
 * @param seed seed of z (a u32)
 * @param tSteps the noise levels, N + 1 of them
 * @param step x at tCur → x at tNext (its temporaries are freed)
 * @param after called after step i with the new x (valid during the call only)
 * @returns x at the last level
 */
export function walkLevels(
  backend: Backend,
  shape: readonly number[],
  seed: number,
  tSteps: ArrayLike<number>,
  step: (xCur: Tensor, tCur: number, tNext: number) => Tensor,
  after: (i: number, x: Tensor, tCur: number, tNext: number) => void,
): Tensor {
  const levels = levelSteps(backend, shape, seed, tSteps, step);
  for (;;) {
    const r = levels.next();
    if (r.done) return r.value;
    after(r.value.i, r.value.x, r.value.tCur, r.value.tNext);
  }
}

/**
 * One step of the probability-flow ODE from σ = tCur to tNext ≥ 0 given the denoised
 * D(xCur; tCur): Euler, then Heun's 2nd-order correction (one more evaluation of `net`) when
 * `heun` and tNext > 0.
 *
 * @param xCur x at tCur
 * @param denoised D(xCur; tCur)
 * @param tCur current noise level
 * @param tNext next noise level
 * @param heun whether to apply Heun's correction
 * @param net D(x; σ), evaluated at (Euler x, tNext) for the correction
 * @returns x at tNext
 */
export function eulerHeunStep(
  xCur: Tensor,
  denoised: Tensor,
  tCur: number,
  tNext: number,
  heun: boolean,
  net: (x: Tensor, sigma: number) => Tensor,
): Tensor {
  const dCur = scale(sub(xCur, denoised), 1 / tCur);
  const xEuler = add(xCur, scale(dCur, tNext - tCur));
  if (!heun || tNext === 0) return xEuler;
  const dPrime = scale(sub(xEuler, net(xEuler, tNext)), 1 / tNext);
  return add(xCur, scale(add(dCur, dPrime), 0.5 * (tNext - tCur)));
}
