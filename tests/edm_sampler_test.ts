/**
 * The EDM sampler checked without training: for Gaussian data x ~ N(μ, diag(s²)) the exact
 * denoiser is D(x; σ) = μ + s²/(s² + σ²)·(x − μ), and the probability-flow ODE is solved in
 * closed form: (x − μ)/√(s² + σ²) is constant along it.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { add, addScalar, div, mul, scale, sub } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { type Denoiser, edmSample } from "../src/sampling/edm_sampler.ts";
import { edmSchedule } from "../src/sampling/schedule.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { assertClose, gpuOrSkip, hasGpu } from "./harness.ts";
import { assertPixelMoments } from "./moments.ts";
import { reshape } from "../src/ops/reshape.ts";

// 4 pixels per "image" with different means and spreads, from very narrow to wide (few
// pixels: the CPU twin's cost is per element, the Monte-Carlo error per sample count).
const PIXEL_SHAPE = [1, 2, 2];
const MU = [2, -1, 0.5, -2];
const S = [0.05, 0.3, 1, 2];
const P = MU.length;
const SIGMA_MAX = 80;

/** The exact denoiser of N(μ, diag(s²)), with backend ops. */
function gaussianDenoiser(mu: Tensor, s2: Tensor): Denoiser {
  return (x, sigma) => add(mu, mul(div(s2, addScalar(s2, sigma * sigma)), sub(x, mu)));
}

/** Runs `edmSample` on Gaussian data and reads back the samples and the initial noise. */
async function sampleGaussian(
  backend: Backend,
  n: number,
  steps: number,
  heun: boolean,
  seed: number,
): Promise<{ x: Float64Array; z: Float64Array; nfe: number }> {
  using mu = backend.fromArray(MU, [1, ...PIXEL_SHAPE]);
  using s2 = backend.fromArray(S.map((s) => s * s), [1, ...PIXEL_SHAPE]);
  const shape = [n, ...PIXEL_SHAPE];
  const r = edmSample(gaussianDenoiser(mu, s2), backend, shape, { steps, heun, seed });
  using x = r.x;
  using z = randomNormal(backend, shape, seed);
  return {
    x: Float64Array.from(await x.toArray()),
    z: Float64Array.from(await z.toArray()),
    nfe: r.nfe,
  };
}

/** EDM's recursion for one Gaussian pixel in plain float64 (independent of the tensor code). */
function edmScalar(z: number, m: number, v: number, t: Float64Array, heun: boolean): number {
  const d = (x: number, sigma: number) => (x - (m + v / (v + sigma * sigma) * (x - m))) / sigma;
  let x = t[0] * z;
  for (let i = 0; i + 1 < t.length; i++) {
    const dCur = d(x, t[i]);
    const xEuler = x + (t[i + 1] - t[i]) * dCur;
    x = heun && t[i + 1] > 0 ? x + (t[i + 1] - t[i]) * 0.5 * (dCur + d(xEuler, t[i + 1])) : xEuler;
  }
  return x;
}

/**
 * Per-pixel mean and variance within 5 standard errors of the exact ODE's output.
 * The exact flow maps σ_max·z to μ + k(σ_max z − μ), k = s/√(s² + σ_max²): mean μ(1 − k) and
 * variance s²σ_max²/(s² + σ_max²). These differ from μ and s² only by starting at σ_max·z
 * rather than at N(μ, s² + σ_max²): up to |μ|·s/σ_max = 0.05 in the mean (more than a
 * standard error, so it is part of the target) and a relative 1e-3 in the variance.
 */
function checkMoments(x: Float64Array, n: number, what: string): void {
  for (let p = 0; p < P; p++) {
    const s2 = S[p] ** 2;
    const k = S[p] / Math.sqrt(s2 + SIGMA_MAX ** 2);
    const wantMean = MU[p] * (1 - k);
    const wantVar = s2 * SIGMA_MAX ** 2 / (s2 + SIGMA_MAX ** 2);
    assertPixelMoments(
      x,
      n,
      P,
      p,
      wantMean,
      wantVar,
      `${what} pixel ${p} (μ = ${MU[p]}, s² = ${s2})`,
    );
  }
}

/** The scheme's own bias in the spread, |gain/k − 1|, worst pixel (z = 1, μ = 0). */
function discretisationBias(steps: number, heun: boolean): number {
  const t = edmSchedule(steps);
  let worst = 0;
  for (const s of S) {
    const k = s / Math.sqrt(s * s + SIGMA_MAX ** 2);
    worst = Math.max(worst, Math.abs(edmScalar(1, 0, s * s, t, heun) / (SIGMA_MAX * k) - 1));
  }
  return worst;
}

Deno.test("edmSchedule: endpoints, strictly decreasing, a value against the formula", () => {
  const t = edmSchedule(18);
  assert.equal(t.length, 19);
  assert.ok(Math.abs(t[0] - 80) <= 1e-12 * 80, `σ_0 = ${t[0]}`);
  assert.ok(Math.abs(t[17] - 0.002) <= 1e-12, `σ_17 = ${t[17]}`);
  assert.equal(t[18], 0);
  for (let i = 0; i < 18; i++) assert.ok(t[i] > t[i + 1], `σ_${i} = ${t[i]} ≤ σ_${i + 1}`);
  // σ_5 by hand: (80^{1/7} + 5/17·(0.002^{1/7} − 80^{1/7}))^7 ≈ 12.9101.
  const want = (80 ** (1 / 7) + (5 / 17) * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7;
  assert.ok(Math.abs(t[5] - want) <= 1e-12 * want, `σ_5 = ${t[5]}, want ${want}`);
  assert.ok(Math.abs(t[5] - 12.9101) < 1e-4);
  // The MRI setting: σ ∈ [0.004, 10], 500 levels.
  const m = edmSchedule(500, { sigmaMin: 0.004, sigmaMax: 10 });
  assert.ok(Math.abs(m[0] - 10) <= 1e-12 && Math.abs(m[499] - 0.004) <= 1e-14 && m[500] === 0);
  for (let i = 0; i < 500; i++) assert.ok(m[i] > m[i + 1]);
  // ρ = 1 spaces the levels linearly.
  const lin = edmSchedule(5, { sigmaMin: 1, sigmaMax: 5, rho: 1 });
  assertClose(lin, [5, 4, 3, 2, 1, 0], { atol: 1e-12, rtol: 0 }, "ρ = 1");
});

Deno.test("edmSchedule: one step is [σ_max, 0]; bad arguments throw", () => {
  assert.deepEqual([...edmSchedule(1)], [80, 0]);
  assert.throws(() => edmSchedule(0), /steps/);
  assert.throws(() => edmSchedule(2.5), /steps/);
  assert.throws(() => edmSchedule(4, { sigmaMin: 0 }), /σ_min/);
  assert.throws(() => edmSchedule(4, { sigmaMin: 90 }), /σ_min/);
  assert.throws(() => edmSchedule(4, { rho: 0 }), /ρ/);
});

Deno.test("edmSample: NFE is 2·steps − 1 with Heun and steps with Euler; onStep sees each step", () => {
  const b = cpuBackend();
  for (const [steps, heun, want] of [[18, true, 35], [1, true, 1], [7, false, 7]] as const) {
    const t = edmSchedule(steps);
    const calls: number[] = [];
    const denoise: Denoiser = (x, sigma) => {
      calls.push(sigma);
      return scale(x, 0.5);
    };
    const infos: { i: number; tCur: number; tNext: number; nfe: number }[] = [];
    tidy(() => {
      const r = edmSample(denoise, b, [3, 1, 2, 2], {
        steps,
        heun,
        seed: 5,
        onStep: ({ i, tCur, tNext, nfe }) => infos.push({ i, tCur, tNext, nfe }),
      });
      assert.equal(r.nfe, want, `steps ${steps} heun ${heun}`);
      assert.deepEqual(r.x.shape, [3, 1, 2, 2]);
    });
    // Heun evaluates at σ_i then σ_{i+1}, skipping σ_N = 0; Euler at σ_i only.
    const order = [...t.slice(0, -1)].flatMap((s, i) =>
      heun && i + 1 < steps ? [s, t[i + 1]] : [s]
    );
    assert.deepEqual(calls, order);
    assert.deepEqual(infos.map((e) => e.i), [...Array(steps).keys()]);
    assert.ok(infos.every((e) => e.tCur === t[e.i] && e.tNext === t[e.i + 1]));
    assert.deepEqual(
      infos.map((e) => e.nfe),
      infos.map((e) => heun ? Math.min(2 * e.i + 2, want) : e.i + 1),
    );
  }
});

Deno.test("edmSample: a denoiser of the wrong shape is an error", () => {
  const b = cpuBackend();
  const bad: Denoiser = (x) => reshape(x, [-1]);
  assert.throws(
    () => tidy(() => edmSample(bad, b, [2, 1, 2, 2], { seed: 1 })),
    /denoiser returned/,
  );
});

Deno.test("edmSample: Heun 18 steps follows EDM's recursion per sample (f64, f32 twins, WebGPU)", async () => {
  const n = 512;
  const t = edmSchedule(18);
  const oracle = (z: Float64Array) =>
    z.map((zk, k) => edmScalar(zk, MU[k % P], S[k % P] ** 2, t, true));
  const f64 = await sampleGaussian(cpuBackend("f64"), n, 18, true, 11);
  assert.equal(f64.nfe, 35);
  assertClose(f64.x, oracle(f64.z), { atol: 1e-10, rtol: 1e-10 }, "f64 twin vs recursion");
  // f32: x_0 = 80·z is ~300, so early rounding is ~2e-5 before the ODE contracts it.
  const f32 = await sampleGaussian(cpuBackend("f32"), n, 18, true, 11);
  assertClose(f32.x, oracle(f32.z), { atol: 1e-4, rtol: 1e-4 }, "f32 twin vs recursion");
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  const g = await sampleGaussian(gpu, n, 18, true, 11);
  assertClose(g.z, f32.z, { atol: 1e-6, rtol: 1e-6 }, "WebGPU noise vs twin");
  assertClose(g.x, oracle(g.z), { atol: 1e-4, rtol: 1e-4 }, "WebGPU vs recursion");
});

const N = 4000;
const HEUN_STEPS = 128;
const EULER_STEPS = 1000;

Deno.test("discretisation bias of the moment tests is under 0.5 standard errors", () => {
  // 18 Heun steps are ~11% off in the spread of the s = 0.05 pixel (the ODE turns around
  // σ ≈ s, where the ρ = 7 levels are coarse), so the moment tests take more steps.
  assert.ok(discretisationBias(18, true) > 0.05);
  // The variance's relative SE is √(2/(n − 1)) ≈ 2.2%; its bias is twice the spread's.
  const seVarRel = Math.sqrt(2 / (N - 1));
  for (const [steps, heun] of [[HEUN_STEPS, true], [EULER_STEPS, false]] as const) {
    const bias = 2 * discretisationBias(steps, heun);
    assert.ok(bias < 0.5 * seVarRel, `${steps} steps, heun ${heun}: variance bias ${bias}`);
  }
});

for (
  const [label, steps, heun] of [["Heun", HEUN_STEPS, true], ["Euler", EULER_STEPS, false]] as const
) {
  Deno.test(`edmSample ${label} ${steps} steps: 4000 samples have the data's mean and variance (CPU twin)`, async () => {
    const r = await sampleGaussian(cpuBackend(), N, steps, heun, 3);
    assert.equal(r.nfe, heun ? 2 * steps - 1 : steps);
    checkMoments(r.x, N, `CPU ${label}`);
  });

  Deno.test({
    name:
      `edmSample ${label} ${steps} steps: 4000 samples have the data's mean and variance (WebGPU)`,
    ignore: !hasGpu,
    async fn() {
      const gpu = (await gpuOrSkip())!;
      const r = await sampleGaussian(gpu, N, steps, heun, 4);
      assert.equal(r.nfe, heun ? 2 * steps - 1 : steps);
      checkMoments(r.x, N, `WebGPU ${label}`);
    },
  });
}

Deno.test({
  name: "edmSample holds WebGPU memory flat over the steps and frees all but x",
  ignore: !hasGpu,
  async fn() {
    const gpu = (await gpuOrSkip())!;
    const engine = gpu.engine;
    using mu = gpu.fromArray(MU, [1, ...PIXEL_SHAPE]);
    using s2 = gpu.fromArray(S.map((s) => s * s), [1, ...PIXEL_SHAPE]);
    const before = engine.liveBytes;
    const live: number[] = [];
    const { x } = edmSample(gaussianDenoiser(mu, s2), gpu, [64, ...PIXEL_SHAPE], {
      steps: 30,
      seed: 9,
      onStep: () => live.push(engine.liveBytes),
    });
    assert.ok(live.every((l) => l === live[0]), `live bytes moved: ${live}`);
    // Only x is live between steps (one pool bucket of at least its bytes).
    assert.ok(
      live[0] - before >= 64 * P * 4 && live[0] - before < 2 * 64 * P * 4,
      `${live[0] - before}`,
    );
    x.dispose();
    assert.equal(engine.liveBytes, before);
    await gpu.sync();
  },
});
