/**
 * Posterior sampling machinery checked on a linear-Gaussian inverse problem: per-pixel prior
 * x ~ N(μ, s²), random inpainting y = M ⊙ x + σ_y·n. The posterior is per-pixel Gaussian
 * (observed: m = μ + s²/(s² + σ_y²)·(y − μ), v = s²σ_y²/(s² + σ_y²); erased: the prior), and
 * the exact posterior denoiser E[x₀ | x_t, y], x_t = x₀ + σ·ε, combines three Gaussian
 * factors of x₀ — the prior, the measurement (through Aᴴy and AᴴA, diagonal for
 * inpainting) and x_t — by adding precisions. EDM sampling with it must then draw from the
 * posterior.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { add, addScalar, div, scale } from "../src/ops/elementwise.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { type Denoiser, edmSample } from "../src/sampling/edm_sampler.ts";
import { edmSchedule } from "../src/sampling/schedule.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";
import { assertPixelMoments } from "./moments.ts";

// 2 channels of 2×3 pixels (the mask is shared by the channels), narrow to wide priors.
const C = 2;
const H = 2;
const W = 3;
const MU = [2, -1, 0.5, -2, 1, 0, -0.5, 1.5, 0.3, -1.2, 0.8, -0.2];
const S = [0.3, 0.3, 1, 2, 0.5, 1.5, 0.1, 0.8, 1.2, 0.6, 2, 0.4];
const P = MU.length;
const SIGMA_Y = 0.2;
const SIGMA_MAX = 80;
const N = 4000;
const STEPS = 128;

/** The problem on a backend: prior, operator, measurements y of one ground truth. */
function problem(backend: Backend) {
  const op = new RandomInpainting(backend, { height: H, width: W, p: 0.5, seed: 3 });
  const rng = new Rng(99);
  const xTrue = MU.map((m, p) => m + S[p] * rng.normal());
  const y = tidy(() => op.noisy(op.forward(backend.fromArray(xTrue, [1, C, H, W])), SIGMA_Y, 5));
  return {
    op,
    y,
    [Symbol.dispose]() {
      y.dispose();
      op.dispose();
    },
  };
}

/**
 * E[x₀ | x_t = x, y] at noise σ: precision-weighted mean of the prior N(μ, s²), the
 * measurement (precision AᴴA/σ_y², information Aᴴy/σ_y²) and x_t (precision 1/σ²).
 */
function posteriorDenoiser(
  backend: Backend,
  mu: Tensor,
  s2: Tensor,
  p: ReturnType<typeof problem>,
) {
  // Both are [1, C, H, W] and broadcast over the batch.
  const info = tidy(() => add(div(mu, s2), scale(p.op.adjoint(p.y), 1 / SIGMA_Y ** 2)));
  const precision = tidy(() => {
    const ata = p.op.adjoint(p.op.forward(backend.full([1, C, H, W], 1)));
    return add(div(backend.full([1, C, H, W], 1), s2), scale(ata, 1 / SIGMA_Y ** 2));
  });
  const denoise: Denoiser = (x, sigma) =>
    div(add(info, scale(x, 1 / sigma ** 2)), addScalar(precision, 1 / sigma ** 2));
  return {
    denoise,
    [Symbol.dispose]() {
      info.dispose();
      precision.dispose();
    },
  };
}

/** The closed-form posterior mean and variance per pixel, from the mask and y. */
function posteriorMoments(m: ArrayLike<number>, y: ArrayLike<number>) {
  const mean: number[] = [];
  const variance: number[] = [];
  for (let p = 0; p < P; p++) {
    const s2 = S[p] ** 2;
    const observed = m[p % (H * W)] === 1;
    const gain = observed ? s2 / (s2 + SIGMA_Y ** 2) : 0;
    mean.push(MU[p] + gain * (y[p] - MU[p]));
    variance.push(observed ? s2 * SIGMA_Y ** 2 / (s2 + SIGMA_Y ** 2) : s2);
  }
  return { mean, variance };
}

/** EDM Heun for a Gaussian target N(m, v), one scalar in float64 (for the scheme's bias). */
function heunScalar(z: number, m: number, v: number, t: Float64Array): number {
  const d = (x: number, sigma: number) => (x - (m + v / (v + sigma * sigma) * (x - m))) / sigma;
  let x = t[0] * z;
  for (let i = 0; i + 1 < t.length; i++) {
    const dCur = d(x, t[i]);
    const xEuler = x + (t[i + 1] - t[i]) * dCur;
    x = t[i + 1] > 0 ? x + (t[i + 1] - t[i]) * 0.5 * (dCur + d(xEuler, t[i + 1])) : xEuler;
  }
  return x;
}

/** Samples the posterior with `edmSample`; returns the samples, the mask and y. */
async function samplePosterior(backend: Backend, seed: number) {
  using p = problem(backend);
  using mu = backend.fromArray(MU, [1, C, H, W]);
  using s2 = backend.fromArray(S.map((s) => s * s), [1, C, H, W]);
  using post = posteriorDenoiser(backend, mu, s2, p);
  const r = edmSample(post.denoise, backend, [N, C, H, W], { steps: STEPS, seed });
  using x = r.x;
  const [xs, m, y] = await Promise.all([x, p.op.mask, p.y].map((t) => t.toArray()));
  assert.equal(r.nfe, 2 * STEPS - 1);
  return { x: xs, m, y };
}

/**
 * Per-pixel sample mean and variance within 5 standard errors of the posterior as the exact
 * ODE delivers it from σ_max·z (see tests/edm_sampler_test.ts): mean m(1 − k) and variance
 * v·σ_max²/(v + σ_max²), k = √v/√(v + σ_max²); the mean's shift, up to |m|·√v/σ_max ≈ 0.05,
 * exceeds a standard error, so it is part of the target.
 */
function checkPosterior(
  r: { x: ArrayLike<number>; m: ArrayLike<number>; y: ArrayLike<number> },
  what: string,
) {
  const observed = Array.from(r.m).filter((v) => v === 1).length;
  assert.ok(observed >= 2 && observed <= H * W - 2, `${what}: ${observed} observed pixels`);
  const { mean: m, variance: v } = posteriorMoments(r.m, r.y);
  for (let p = 0; p < P; p++) {
    const k = Math.sqrt(v[p] / (v[p] + SIGMA_MAX ** 2));
    const wantMean = m[p] * (1 - k);
    const wantVar = v[p] * SIGMA_MAX ** 2 / (v[p] + SIGMA_MAX ** 2);
    assertPixelMoments(r.x, N, P, p, wantMean, wantVar, `${what} pixel ${p}`);
  }
}

Deno.test("the posterior denoiser built from prior, Aᴴy, AᴴA and x_t is the Gaussian denoiser of the closed-form posterior (f64)", async () => {
  const b = cpuBackend("f64");
  using p = problem(b);
  using mu = b.fromArray(MU, [1, C, H, W]);
  using s2 = b.fromArray(S.map((s) => s * s), [1, C, H, W]);
  using post = posteriorDenoiser(b, mu, s2, p);
  const [m, y] = await Promise.all([p.op.mask.toArray(), p.y.toArray()]);
  const { mean, variance } = posteriorMoments(m, y);
  const rng = new Rng(1);
  const x = Array.from({ length: 3 * P }, () => 3 * rng.normal());
  for (const sigma of [1e4, 2, 0.3, 0.01]) {
    using xt = b.fromArray(x, [3, C, H, W]);
    using d = post.denoise(xt, sigma);
    const got = await d.toArray();
    // E[x₀ | x_t] of N(m, v) data is m + v/(v + σ²)·(x_t − m).
    const want = x.map((xv, i) => {
      const q = i % P;
      return mean[q] + variance[q] / (variance[q] + sigma ** 2) * (xv - mean[q]);
    });
    got.forEach((g, i) =>
      assert.ok(
        Math.abs(g - want[i]) <= 1e-12 * (1 + Math.abs(want[i])),
        `σ ${sigma} [${i}]: ${g} vs ${want[i]}`,
      )
    );
  }
});

Deno.test("discretisation bias of the posterior moment tests is under 0.5 standard errors", async () => {
  using p = problem(cpuBackend("f64"));
  const [m, y] = await Promise.all([p.op.mask.toArray(), p.y.toArray()]);
  const { variance } = posteriorMoments(m, y);
  const t = edmSchedule(STEPS);
  const seVarRel = Math.sqrt(2 / (N - 1));
  for (const v of variance) {
    // With m = 0 and z = 1 the scheme's gain against the exact flow's √v/√(v + σ_max²)·σ_max.
    const k = Math.sqrt(v / (v + SIGMA_MAX ** 2));
    const bias = Math.abs(heunScalar(1, 0, v, t) / (SIGMA_MAX * k) - 1);
    assert.ok(2 * bias < 0.5 * seVarRel, `v = ${v}: variance bias ${2 * bias}`);
  }
});

Deno.test(`edmSample with the exact posterior denoiser: ${N} samples have the posterior mean and variance (CPU twin)`, async () => {
  checkPosterior(await samplePosterior(cpuBackend(), 7), "CPU");
});

Deno.test({
  name:
    `edmSample with the exact posterior denoiser: ${N} samples have the posterior mean and variance (WebGPU)`,
  ignore: !hasGpu,
  async fn() {
    const gpu = (await gpuOrSkip())!;
    checkPosterior(await samplePosterior(gpu, 8), "WebGPU");
  },
});
