/**
 * The playground's computation, shared by the page and its tests: a held-out image measured
 * through one of the library's operators, then K posterior draws of A-DPS with the ambient
 * prior and of FS-DPS with the clean prior, side by side (Aali et al. 2024, §4), each draw
 * clipped to [−1, 1]; their per-pixel mean and standard deviation (the uncertainty map, as
 * `posteriorSamples` computes them: draw j has seed `drawSeed(seed, j)`, M̃ of `seed`), and the
 * mean's PSNR / SSIM (data range 2). The samplers run one step per `next()` so the page can
 * redraw the current estimates between steps.
 *
 * @module
 */
import {
  adpsSteps,
  BoxInpainting,
  clip,
  type DpsResult,
  type DpsStep,
  drawSeed,
  fsDpsSteps,
  GaussianCompressedSensing,
  type LinearOperator,
  MaskOperator,
  measure,
  type Model,
  psnr,
  RandomInpainting,
  scale,
  ssim,
  SuperResolution,
  type Tensor,
  tidy,
} from "../src/web.ts";

/** The inverse problems the page offers. */
export type OperatorKind = "random" | "box" | "brush" | "sr2" | "sr4" | "cs";

/** What the page lets one choose. */
export interface Settings {
  /** The forward operator A. */
  operator: OperatorKind;
  /** Random inpainting: the fraction of pixels erased. */
  density: number;
  /** Box inpainting: the box side as a fraction of the image side. */
  box: number;
  /** Gaussian compressed sensing: the number of measurements m. */
  m: number;
  /** Measurement noise σ_y in [−1, 1] units. */
  sigmaY: number;
  /** DPS (Heun) steps per draw. */
  steps: number;
  /** Posterior draws K per prior. */
  k: number;
  /** Likelihood step ζ. */
  zeta: number;
  /** Smallest noise level of the schedule. */
  sigmaMin: number;
  /** Seed of the operator, the noise and the samplers. */
  seed: number;
}

/** The page's defaults: a quick run (seconds on a laptop's GPU). */
export const DEFAULTS: Settings = {
  operator: "box",
  density: 0.7,
  box: 0.375,
  m: 200,
  sigmaY: 0.05,
  steps: 20,
  k: 4,
  zeta: 4,
  sigmaMin: 0.05,
  seed: 0,
};

/** The two priors, run side by side. */
export const PRIORS = ["ambient", "clean"] as const;
/** One of the two priors. */
export type Prior = typeof PRIORS[number];

/** A mask painted by hand (1: observed) as an inpainting operator. */
export class PaintedMask extends MaskOperator {
  /** The operator's name. */
  readonly name = "painted inpainting";
}

/**
 * The library's operator for the settings.
 *
 * @param model the model whose backend and image shape it takes
 * @param s the settings
 * @param painted the "brush" operator's mask [H·W] (1: observed)
 * @returns the operator (caller disposes)
 */
export function makeOperator(model: Model, s: Settings, painted?: ArrayLike<number>) {
  const { backend, shape } = model;
  const [, h, w] = shape;
  const seed = s.seed;
  switch (s.operator) {
    case "random":
      return new RandomInpainting(backend, { height: h, width: w, p: s.density, seed });
    case "box":
      // Inside the image: a box that crosses the border hides less than the slider says.
      return new BoxInpainting(backend, {
        height: h,
        width: w,
        p: s.box,
        seed,
        placement: "inside",
      });
    case "brush": {
      if (painted?.length !== h * w) throw new Error(`paint a ${h}×${w} mask first`);
      return new PaintedMask(backend.fromArray(Float32Array.from(painted), [1, 1, h, w]));
    }
    case "sr2":
      return new SuperResolution(2, [h, w]);
    case "sr4":
      return new SuperResolution(4, [h, w]);
    case "cs":
      return new GaussianCompressedSensing(backend, { shape, m: s.m, seed });
  }
  throw new Error(`unknown operator "${s.operator}": use random, box, brush, sr2, sr4 or cs`);
}

/** The measurement shown as an image: Aᴴy, times f² for super-resolution (nearest up-sampling). */
function measurementView(op: LinearOperator, y: Tensor): Tensor {
  return tidy(() => {
    const back = op.adjoint(y);
    return op instanceof SuperResolution ? scale(back, op.factor ** 2) : back;
  });
}

/** x clipped to [−1, 1], on the host. */
async function clipped(x: Tensor): Promise<Float32Array> {
  using c = tidy(() => clip(x, -1, 1));
  return (await c.toArray()) as Float32Array;
}

/** The current estimate of one prior, reported every few steps. */
export interface Progress {
  /** Which prior. */
  prior: Prior;
  /** The draw, 0 … K − 1. */
  draw: number;
  /** Steps done in this draw. */
  step: number;
  /** The current x of this draw, clipped to [−1, 1], [C·H·W]. */
  x: Float32Array;
  /** Steps done by both priors over all draws, out of `total`. */
  done: number;
  /** All steps of the run: 2 priors × K draws × steps. */
  total: number;
}

/** One prior's result. */
export interface PriorResult {
  /** Posterior mean of the K draws, [C·H·W]. */
  mean: Float32Array;
  /** Per-pixel standard deviation (divides by K − 1; zero for K = 1), [C·H·W]. */
  std: Float32Array;
  /** PSNR of the mean against the truth (dB). */
  psnr: number;
  /** SSIM of the mean against the truth. */
  ssim: number;
}

/** A run of the playground. */
export interface Reconstruction {
  /** The measurement as an image (Aᴴy; nearest up-sampling for super-resolution), [C·H·W]. */
  measured: Float32Array;
  /** An inpainting operator's mask [H·W] (1: observed); null for the others. */
  observed: Float32Array | null;
  /** Each prior's mean, std and scores. */
  priors: Record<Prior, PriorResult>;
}

/** How often the page wants the current estimates. */
export interface ViewOptions {
  /** Report every this many steps (and at the end of each draw). */
  every: number;
  /** Called with a prior's current estimate; awaited, so the page can paint. */
  onProgress: (p: Progress) => void | Promise<void>;
}

/**
 * Measures the image and runs both priors' K draws, interleaved step by step.
 *
 * @param models the ambient and the clean prior (on the same backend)
 * @param truth the image [C·H·W] in [−1, 1]
 * @param s the settings
 * @param view when to report the current estimates (none: only the result)
 * @param painted the "brush" operator's mask [H·W] (1: observed)
 * @returns the measurement and each prior's mean, std, PSNR and SSIM
 */
export async function reconstruct(
  models: Record<Prior, Model>,
  truth: Float32Array,
  s: Settings,
  view?: ViewOptions,
  painted?: ArrayLike<number>,
): Promise<Reconstruction> {
  const { backend, shape } = models.ambient;
  const [c, h, w] = shape;
  if (!(Number.isInteger(s.k) && s.k >= 1)) throw new Error(`K must be ≥ 1, got ${s.k}`);
  if (!(Number.isInteger(s.steps) && s.steps >= 1)) {
    throw new Error(`steps must be ≥ 1, got ${s.steps}`);
  }
  using x = backend.fromArray(truth, [1, c, h, w]);
  using op = makeOperator(models.ambient, s, painted);
  using y = measure(op, x, s.sigmaY, s.seed + 1);
  using shown = measurementView(op, y);
  const measured = (await shown.toArray()) as Float32Array;
  const observed = op instanceof MaskOperator ? (await op.mask.toArray()) as Float32Array : null;
  const sampler = { steps: s.steps, zeta: s.zeta, sigmaMin: s.sigmaMin };
  const base = s.seed + 2;
  const sums = Object.fromEntries(
    PRIORS.map((p) => [p, { s1: new Float64Array(c * h * w), s2: new Float64Array(c * h * w) }]),
  ) as Record<Prior, { s1: Float64Array; s2: Float64Array }>;
  const total = PRIORS.length * s.k * s.steps;
  let done = 0;
  for (let j = 0; j < s.k; j++) {
    const opts = { ...sampler, seed: drawSeed(base, j), maskSeed: base };
    const runs: Record<Prior, Generator<DpsStep, DpsResult, void>> = {
      ambient: adpsSteps(models.ambient, op, y, opts),
      clean: fsDpsSteps(models.clean, op, y, opts),
    };
    try {
      const live = new Set<Prior>(PRIORS);
      while (live.size) {
        for (const prior of [...live]) {
          const r = runs[prior].next();
          if (r.done) {
            live.delete(prior);
            using last = r.value.x;
            const v = await clipped(last);
            const { s1, s2 } = sums[prior];
            for (let i = 0; i < v.length; i++) {
              s1[i] += v[i];
              s2[i] += v[i] * v[i];
            }
            await view?.onProgress({ prior, draw: j, step: s.steps, x: v, done, total });
            continue;
          }
          done++;
          const step = r.value.i + 1;
          if (view && step % view.every === 0 && step < s.steps) {
            await view.onProgress({
              prior,
              draw: j,
              step,
              x: await clipped(r.value.x),
              done,
              total,
            });
          }
        }
      }
    } finally {
      for (const r of Object.values(runs)) r.return(undefined as never);
    }
  }
  const priors = Object.fromEntries(PRIORS.map((prior) => {
    const { s1, s2 } = sums[prior];
    const mean = new Float32Array(s1.length);
    const std = new Float32Array(s1.length);
    for (let i = 0; i < s1.length; i++) {
      const m = s1[i] / s.k;
      mean[i] = m;
      // Sample variance (Σx² − K m²)/(K − 1), as posteriorSamples; rounding may dip below 0.
      std[i] = s.k > 1 ? Math.sqrt(Math.max(0, (s2[i] - s.k * m * m) / (s.k - 1))) : 0;
    }
    const scores = {
      psnr: psnr(truth, mean, { dataRange: 2 }),
      ssim: ssim(truth, mean, { height: h, width: w, channels: c, dataRange: 2 }),
    };
    return [prior, { mean, std, ...scores }];
  })) as Record<Prior, PriorResult>;
  return { measured, observed, priors };
}
