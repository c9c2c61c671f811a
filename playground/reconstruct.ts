/**
 * The playground's one computation, shared by the page and its test: a held-out image,
 * box-inpainted and noised, reconstructed by A-DPS with an ambient prior (Aali et al. 2024,
 * §4), clipped to [−1, 1], scored by PSNR and SSIM (data range 2).
 *
 * @module
 */
import { adps, BoxInpainting, clip, measure, type Model, psnr, ssim, tidy } from "../src/web.ts";

/** What the page lets one choose. */
export interface Settings {
  /** Box side as a fraction of the image side. */
  box: number;
  /** Measurement noise σ_y in [−1, 1] units. */
  sigmaY: number;
  /** DPS (Heun) steps. */
  steps: number;
  /** Likelihood step ζ. */
  zeta: number;
  /** Smallest noise level of the schedule. */
  sigmaMin: number;
  /** Seed of the box, the noise and the sampler. */
  seed: number;
}

/** The page's defaults: a quick run (seconds on a laptop's GPU). */
export const DEFAULTS: Settings = {
  box: 0.375,
  sigmaY: 0.05,
  steps: 10,
  zeta: 1,
  sigmaMin: 0.05,
  seed: 0,
};

/** A reconstruction and its scores. */
export interface Reconstruction {
  /** The measurement M ⊙ (x + σ_y n), [H·W]. */
  measured: Float32Array;
  /** The A-DPS reconstruction, [H·W]. */
  x: Float32Array;
  /** PSNR against the truth (dB). */
  psnr: number;
  /** SSIM against the truth. */
  ssim: number;
}

/**
 * Reconstructs one image.
 *
 * @param model the ambient prior (its backend is where everything runs)
 * @param truth the image, [1·H·W] in [−1, 1]
 * @param s the settings
 * @returns the measurement, the reconstruction and its PSNR / SSIM
 */
export async function reconstruct(
  model: Model,
  truth: Float32Array,
  s: Settings,
): Promise<Reconstruction> {
  const { backend } = model;
  const [c, h, w] = model.shape;
  using x = backend.fromArray(truth, [1, c, h, w]);
  using op = new BoxInpainting(backend, { height: h, width: w, p: s.box, seed: s.seed });
  using y = measure(op, x, s.sigmaY, s.seed + 1);
  using out = tidy(() =>
    clip(
      adps(model, op, y, { steps: s.steps, zeta: s.zeta, sigmaMin: s.sigmaMin, seed: s.seed + 2 })
        .x,
      -1,
      1,
    )
  );
  const [measured, got] = (await backend.readMany([y, out])) as Float32Array[];
  return {
    measured,
    x: got,
    psnr: psnr(truth, got, { dataRange: 2 }),
    ssim: ssim(truth, got, { height: h, width: w, channels: c, dataRange: 2 }),
  };
}
