/**
 * Annealed Langevin dynamics checked on Gaussian data x ~ N(μ, diag(s²)) with its exact
 * denoiser: pathwise against a float64 recursion fed the same noise, in distribution against
 * the chain's exact moment recursion (the update is linear in x), and, as an approximation,
 * against the prior (no measurements) and the measurements (noiseless inpainting).
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { add, addScalar, div, mul, sub } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { Identity } from "../src/operators/identity.ts";
import type { LinearOperator } from "../src/operators/linear_operator.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { ald, type AldOptions, geometricSigmas } from "../src/sampling/ald.ts";
import type { Denoiser } from "../src/sampling/edm_sampler.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { assertClose, gpuOrSkip, hasGpu } from "./harness.ts";
import { assertPixelMoments } from "./moments.ts";

/** The exact denoiser of N(μ, diag(s²)). */
function gaussianDenoiser(mu: Tensor, s2: Tensor): Denoiser {
  return (x, sigma) => add(mu, mul(div(s2, addScalar(s2, sigma * sigma)), sub(x, mu)));
}

/** Per-pixel prior on [1, H, W] images. */
function makePrior(p: number, seed: number): { mu: number[]; s: number[] } {
  const rng = new Rng(seed);
  return {
    mu: Array.from({ length: p }, () => 2 * rng.uniform() - 1),
    s: Array.from({ length: p }, () => 0.2 + 1.3 * rng.uniform()),
  };
}

/** Runs `ald` for the Gaussian prior and reads back the samples. */
async function runAld(
  backend: Backend,
  prior: { mu: number[]; s: number[] },
  hw: [number, number],
  n: number,
  op: LinearOperator,
  y: Tensor,
  options: AldOptions,
): Promise<{ x: Float32Array | Float64Array; nfe: number }> {
  using mu = backend.fromArray(prior.mu, [1, 1, ...hw]);
  using s2 = backend.fromArray(prior.s.map((s) => s * s), [1, 1, ...hw]);
  const r = ald(gaussianDenoiser(mu, s2), op, y, backend, [n, 1, ...hw], options);
  using x = r.x;
  return { x: await x.toArray(), nfe: r.nfe };
}

/**
 * The ALD update in plain float64 for one pixel: x ← x + ε(D − x) − ε·σ²/(σ_y² + σ²)·m(m x − y)
 * + σ√(2ε)·z_j, with D the exact Gaussian denoiser and z_j the j-th noise value.
 */
function aldScalar(
  z: (j: number) => number,
  mu: number,
  v: number,
  m: number,
  y: number,
  sigmas: Float64Array,
  o: Required<Pick<AldOptions, "stepsPerLevel" | "epsilon" | "sigmaY" | "denoiseLast">>,
): number {
  const d = (x: number, sigma: number) => mu + v / (v + sigma * sigma) * (x - mu);
  let x = sigmas[0] * z(0);
  let j = 1;
  for (const sigma of sigmas) {
    for (let t = 0; t < o.stepsPerLevel; t++) {
      const lik = o.epsilon * sigma * sigma / (o.sigmaY ** 2 + sigma * sigma);
      x = x + o.epsilon * (d(x, sigma) - x) - lik * m * (m * x - y) +
        sigma * Math.sqrt(2 * o.epsilon) * z(j++);
    }
  }
  return o.denoiseLast ? d(x, sigmas[sigmas.length - 1]) : x;
}

/**
 * Exact mean and variance of the ALD chain for one pixel (the update is affine in x plus
 * independent Gaussian noise): x ← a x + b + σ√(2ε)·z.
 */
function aldMoments(
  mu: number,
  v: number,
  m: number,
  y: number,
  sigmas: Float64Array,
  stepsPerLevel: number,
  epsilon: number,
  sigmaY: number,
): { mean: number; variance: number } {
  let mean = 0;
  let variance = sigmas[0] ** 2;
  for (const sigma of sigmas) {
    const w = epsilon * sigma * sigma / (v + sigma * sigma);
    const lik = epsilon * sigma * sigma / (sigmaY ** 2 + sigma * sigma);
    const a = 1 - w - lik * m;
    const b = w * mu + lik * m * y;
    for (let t = 0; t < stepsPerLevel; t++) {
      mean = a * mean + b;
      variance = a * a * variance + 2 * epsilon * sigma * sigma;
    }
  }
  return { mean, variance };
}

Deno.test("geometricSigmas: endpoints, constant ratio, one level, bad arguments", () => {
  const s = geometricSigmas(5, 16, 1);
  assertClose(s, [16, 8, 4, 2, 1], { atol: 1e-12, rtol: 1e-12 }, "levels");
  assert.deepEqual([...geometricSigmas(1, 3, 0.1)], [3]);
  assert.throws(() => geometricSigmas(0, 1, 0.1), /levels/);
  assert.throws(() => geometricSigmas(3, 1, 0), /σ_min/);
  assert.throws(() => geometricSigmas(3, 1, 2), /σ_min/);
});

Deno.test("ald follows the float64 Langevin recursion with the same noise; NFE and onStep (f64, f32 twins, WebGPU)", async () => {
  const hw: [number, number] = [3, 4];
  const n = 4;
  const prior = makePrior(12, 1);
  const base = { levels: 6, stepsPerLevel: 2, sigmaMax: 10, sigmaMin: 0.05, epsilon: 0.3 };
  const gpu = await gpuOrSkip();
  const backends: [string, Backend, number][] = [
    ["f64", cpuBackend("f64"), 1e-9],
    ["f32", cpuBackend("f32"), 1e-4],
  ];
  if (gpu) backends.push(["WebGPU", gpu, 1e-4]);
  for (const [label, b, tol] of backends) {
    for (const denoiseLast of [false, true]) {
      const o = { ...base, sigmaY: 0.1, denoiseLast, seed: 17 };
      using op = new RandomInpainting(b, { height: 3, width: 4, p: 0.5, seed: 4 });
      const truth = Array.from({ length: n * 12 }, (_, i) => Math.sin(i));
      using y = tidy(() => op.noisy(op.forward(b.fromArray(truth, [n, 1, ...hw])), 0.1, 3));
      const steps: { level: number; step: number; sigma: number; nfe: number }[] = [];
      const r = await runAld(b, prior, hw, n, op, y, {
        ...o,
        onStep: ({ level, step, sigma, nfe }) => steps.push({ level, step, sigma, nfe }),
      });
      assert.equal(r.nfe, 12 + (denoiseLast ? 1 : 0), `${label}: NFE`);
      const sigmas = geometricSigmas(6, 10, 0.05);
      assert.deepEqual(
        steps,
        [...Array(12).keys()].map((j) => ({
          level: j >> 1,
          step: j & 1,
          sigma: sigmas[j >> 1],
          nfe: j + 1,
        })),
      );
      // The noise the sampler drew: stream 0 for x₀, stream j for the j-th step.
      const noise = await Promise.all(
        [...Array(13).keys()].map((s) =>
          tidy(() => randomNormal(b, [n, 1, ...hw], 17, s)).toArray()
        ),
      );
      const [m, yv] = await Promise.all([op.mask.toArray(), y.toArray()]);
      const want = Array.from({ length: n * 12 }, (_, i) => {
        const p = i % 12;
        return aldScalar((j) => noise[j][i], prior.mu[p], prior.s[p] ** 2, m[p], yv[i], sigmas, o);
      });
      assertClose(r.x, want, { atol: tol, rtol: tol }, `${label} denoiseLast ${denoiseLast}`);
    }
  }
});

Deno.test("ald without measurements (identity, σ_y = 10⁴): 4000 samples have the chain's exact moments, within 5% of the prior's", async () => {
  // 4 pixels × 4000 samples × 900 steps: the CPU twin's cost is per element and step.
  const hw: [number, number] = [2, 2];
  const P = 4;
  const N = 4000;
  const prior = makePrior(P, 2);
  const o = { levels: 300, stepsPerLevel: 3, sigmaMax: 80, sigmaMin: 0.01, epsilon: 0.5 };
  const sigmaY = 1e4;
  const b = cpuBackend();
  using op = new Identity();
  using y = b.full([1, 1, ...hw], 0);
  const r = await runAld(b, prior, hw, N, op, y, { ...o, sigmaY, seed: 5 });
  const sigmas = geometricSigmas(o.levels, o.sigmaMax, o.sigmaMin);
  for (let p = 0; p < P; p++) {
    const v = prior.s[p] ** 2;
    const chain = aldMoments(prior.mu[p], v, 1, 0, sigmas, o.stepsPerLevel, o.epsilon, sigmaY);
    // ALD's own error (deterministic): the mean is exact, the variance a few % high (the
    // spread a pixel has when σ ≈ s is not shed at lower σ, where its steps are tiny).
    assert.ok(Math.abs(chain.mean - prior.mu[p]) < 1e-3, `pixel ${p}: chain mean ${chain.mean}`);
    assert.ok(
      Math.abs(chain.variance / v - 1) < 0.05,
      `pixel ${p}: chain variance ${chain.variance} vs s² = ${v}`,
    );
    assertPixelMoments(r.x, N, P, p, chain.mean, chain.variance, `pixel ${p}`);
  }
});

Deno.test("ald with noiseless inpainting: observed pixels converge to y (within ~σ_min), erased ones keep the prior's spread", async () => {
  const hw: [number, number] = [4, 4];
  const P = 16;
  const N = 250;
  const prior = makePrior(P, 3);
  const sigmaMin = 0.01;
  const b = cpuBackend();
  using op = new RandomInpainting(b, { height: 4, width: 4, p: 0.5, seed: 6 });
  // One ground truth, many posterior samples (y broadcasts over the batch).
  const rng = new Rng(8);
  const truth = prior.mu.map((m, p) => m + prior.s[p] * rng.normal());
  using y = tidy(() => op.forward(b.fromArray(truth, [1, 1, ...hw])));
  const r = await runAld(b, prior, hw, N, op, y, {
    levels: 300,
    stepsPerLevel: 3,
    sigmaMin,
    epsilon: 0.5,
    seed: 9,
  });
  const m = await op.mask.toArray();
  let ss = 0;
  let worst = 0;
  let observed = 0;
  for (let p = 0; p < P; p++) {
    const col = Array.from({ length: N }, (_, j) => r.x[j * P + p]);
    if (m[p] === 1) {
      for (const v of col) {
        ss += (v - truth[p]) ** 2;
        worst = Math.max(worst, Math.abs(v - truth[p]));
      }
      observed++;
      continue;
    }
    const mean = col.reduce((a, v) => a + v, 0) / N;
    const sd = Math.sqrt(col.reduce((a, v) => a + (v - mean) ** 2, 0) / (N - 1));
    assert.ok(sd > 0.7 * prior.s[p] && sd < 1.3 * prior.s[p], `erased ${p}: sd ${sd}`);
  }
  assert.ok(observed >= 4 && observed <= 12, `${observed} observed`);
  // At the last level an observed pixel's target is N(≈y, ≈σ_min²), sampled with a ULA
  // excess of 1/(1 − ε/2); the prior spreads are 0.2 … 1.5.
  const rms = Math.sqrt(ss / (observed * N));
  assert.ok(rms < 1.5 * sigmaMin, `observed RMS error ${rms}`);
  assert.ok(worst < 7 * sigmaMin, `observed worst error ${worst}`);
});

Deno.test({
  name: "ald holds WebGPU memory flat over the steps and frees all but x",
  ignore: !hasGpu,
  async fn() {
    const gpu = (await gpuOrSkip())!;
    const engine = gpu.engine;
    const prior = makePrior(16, 4);
    using mu = gpu.fromArray(prior.mu, [1, 1, 4, 4]);
    using s2 = gpu.fromArray(prior.s.map((s) => s * s), [1, 1, 4, 4]);
    using op = new RandomInpainting(gpu, { height: 4, width: 4, p: 0.5, seed: 1 });
    using y = gpu.full([1, 1, 4, 4], 0.25);
    const before = engine.liveBytes;
    const live: number[] = [];
    const { x } = ald(gaussianDenoiser(mu, s2), op, y, gpu, [32, 1, 4, 4], {
      levels: 10,
      seed: 2,
      onStep: () => live.push(engine.liveBytes),
    });
    assert.equal(live.length, 30);
    assert.ok(live.every((l) => l === live[0]), `live bytes moved: ${live}`);
    x.dispose();
    assert.equal(engine.liveBytes, before);
    await gpu.sync();
  },
});
