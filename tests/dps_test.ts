/**
 * DPS checked without training, on Gaussian data x ~ N(μ, diag(s²)) whose exact denoiser
 * D(x; σ) = μ + k(x − μ), k = s²/(s² + σ²), is built from backend ops (so the likelihood
 * gradient goes through autograd), and random inpainting y = M ⊙ x (+ noise). Then
 * ∇ₓ‖M ⊙ D(x) − y‖ = k·M ⊙ (M ⊙ D − y)/‖M ⊙ D − y‖ per sample. The step-by-step check
 * against an independent float64 oracle is tests/dps_oracle_test.ts.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { dps } from "../src/sampling/dps.ts";
import { edmSample } from "../src/sampling/edm_sampler.ts";
import { tidy } from "../src/core/scope.ts";
import { gaussianDenoiser, makePrior, type Prior } from "./gaussian_prior.ts";
import { gpuOrSkip } from "./harness.ts";

/** n draws from the prior, on the host. */
function drawPrior(prior: Prior, n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const out: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < prior.mu.length; p++) out.push(prior.mu[p] + prior.s[p] * rng.normal());
  }
  return out;
}

/** Everything one DPS problem needs on a backend; dispose with `using`. */
function setup(backend: Backend, prior: Prior, n: number, sigmaY: number) {
  const { h, w } = prior;
  const mu = backend.fromArray(prior.mu, [1, 1, h, w]);
  const s2 = backend.fromArray(prior.s.map((s) => s * s), [1, 1, h, w]);
  const op = new RandomInpainting(backend, { height: h, width: w, p: 0.5, seed: 21 });
  const xTrue = drawPrior(prior, n, 77);
  const y = tidy(() => op.noisy(op.forward(backend.fromArray(xTrue, [n, 1, h, w])), sigmaY, 8));
  return {
    denoise: gaussianDenoiser(mu, s2),
    op,
    y,
    xTrue,
    [Symbol.dispose]() {
      for (const t of [mu, s2, y]) t.dispose();
      op.dispose();
    },
  };
}

Deno.test("dps with ζ = 0 and no clipping is edmSample, bit for bit (f64 and f32 twins)", async () => {
  const prior = makePrior(3, 5, 1);
  for (const dtype of ["f64", "f32"] as const) {
    const b = cpuBackend(dtype);
    for (const heun of [true, false]) {
      using p = setup(b, prior, 6, 0.05);
      const shape = [6, 1, 3, 5];
      const opts = { steps: 9, heun, seed: 4 };
      const d = dps(p.denoise, p.op, p.y, b, shape, { ...opts, zeta: 0, clipDenoised: false });
      const e = edmSample(p.denoise, b, shape, opts);
      using dx = d.x;
      using ex = e.x;
      assert.deepEqual(await dx.toArray(), await ex.toArray(), `${dtype} heun ${heun}`);
      assert.equal(d.nfe, e.nfe);
      // The reference's Heun takes the likelihood VJP at both stages, except the last step's.
      assert.equal(d.vjps, heun ? 17 : 9);
    }
  }
});

Deno.test("dps fits noiseless inpainting measurements far better than prior samples do", async () => {
  // DPS is an approximation (the likelihood gradient goes through D(x) rather than the
  // intractable p(y | x_t), and its step has fixed length ζ·k however small the residual),
  // not an exact posterior sampler, so this is a loose property: on the observed pixels
  // the reconstructions are ≥ 5× closer to y than unconditional samples from the same
  // noise; on the erased ones, which this factorised prior and A leave uncoupled, the
  // likelihood gradient is exactly 0 and DPS returns edmSample's pixels unchanged.
  const b = cpuBackend("f64");
  const prior = makePrior(8, 8, 3);
  const n = 16;
  const shape = [n, 1, 8, 8];
  using p = setup(b, prior, n, 0);
  const opts = { steps: 50, seed: 5 };
  using xd = dps(p.denoise, p.op, p.y, b, shape, { ...opts, zeta: 0.5, clipDenoised: false }).x;
  using xp = edmSample(p.denoise, b, shape, opts).x;
  const [d, u, m] = await Promise.all([xd, xp, p.op.mask].map((t) => t.toArray()));
  const px = prior.mu.length;
  let errDps = 0;
  let errPrior = 0;
  let observed = 0;
  for (let i = 0; i < d.length; i++) {
    if (m[i % px] === 0) {
      assert.equal(d[i], u[i], `erased pixel ${i} changed`);
      continue;
    }
    errDps += (d[i] - p.xTrue[i]) ** 2;
    errPrior += (u[i] - p.xTrue[i]) ** 2;
    observed++;
  }
  assert.ok(observed > 0.3 * d.length && observed < 0.7 * d.length, `${observed} observed`);
  const rmseDps = Math.sqrt(errDps / observed);
  const rmsePrior = Math.sqrt(errPrior / observed);
  // Prior samples miss by √2·s ≈ 0.6 on average; DPS here by ≈ 0.05.
  assert.ok(rmsePrior > 0.4, `prior RMSE ${rmsePrior}`);
  assert.ok(rmseDps < 0.2 * rmsePrior, `DPS RMSE ${rmseDps} vs prior ${rmsePrior}`);
});

Deno.test("dps with nothing observed (zero residual) is finite and is edmSample (twins, WebGPU)", async () => {
  // ∇‖r‖ at r = 0 is taken as 0; a plain √Σr² would give 0·∞ = NaN for the whole sample.
  const prior = makePrior(4, 4, 4);
  const shape = [3, 1, 4, 4];
  const gpu = await gpuOrSkip();
  const backends: [string, Backend][] = [["f64", cpuBackend("f64")], ["f32", cpuBackend("f32")]];
  if (gpu) backends.push(["WebGPU", gpu]);
  for (const [label, b] of backends) {
    using mu = b.fromArray(prior.mu, [1, 1, 4, 4]);
    using s2 = b.fromArray(prior.s.map((s) => s * s), [1, 1, 4, 4]);
    using op = new RandomInpainting(b, { height: 4, width: 4, p: 1, seed: 2 });
    using y = b.full(shape, 0);
    const denoise = gaussianDenoiser(mu, s2);
    const opts = { steps: 5, seed: 6 };
    using xd = dps(denoise, op, y, b, shape, { ...opts, zeta: 1, clipDenoised: false }).x;
    using xe = edmSample(denoise, b, shape, opts).x;
    const [d, e] = await Promise.all([xd.toArray(), xe.toArray()]);
    assert.ok(d.every(Number.isFinite), `${label}: non-finite`);
    assert.deepEqual(d, e, label);
  }
});
