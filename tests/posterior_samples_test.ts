/**
 * posteriorSamples (src/sampling/posterior_samples.ts) on the shipped priors: K = 1 is the plain
 * adps / fsDps call, the mean and std equal a float64 computation over the draws made one by
 * one, the draws' seeds are distinct, and bad K fails clearly. CPU, and WebGPU where an
 * adapter exists (the Welford update runs on the device).
 */
import assert from "node:assert/strict";
import { adps, fsDps, loadModel } from "../src/api.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { clip } from "../src/ops/elementwise.ts";
import { GaussianCompressedSensing } from "../src/operators/compressed_sensing.ts";
import { measure } from "../src/operators/measure.ts";
import { drawSeed, posteriorSamples } from "../src/sampling/posterior_samples.ts";
import { tidy } from "../src/core/scope.ts";
import { assertClose, gpuOrSkip, hasGpu } from "./harness.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const AMBIENT = `${ROOT}fixtures/models/fmnist-inpaint`;
const CLEAN = `${ROOT}fixtures/models/fmnist-clean`;
const N = 2;

/** Two smooth test images in [−1, 1]. */
function images(b: Backend) {
  return b.fromArray(
    Float32Array.from({ length: N * 1024 }, (_, i) => Math.sin(i / 37) * 0.8),
    [N, 1, 32, 32],
  );
}

async function checkAgainstDirect(b: Backend, path: string) {
  using model = await loadModel(path, { backend: b });
  using x = images(b);
  using op = new GaussianCompressedSensing(b, { shape: [1, 32, 32], m: 60, seed: 3 });
  using y = measure(op, x, 0.05, 4);
  const opts = { steps: 2, zeta: 2, sigmaMin: 0.05, seed: 11 };
  const run = model.config.ambient ? adps : fsDps;

  // K = 1: the plain call, bit for bit, and a zero std.
  const one = posteriorSamples(model, op, y, { ...opts, k: 1 });
  using m1 = one.mean, s1 = one.std;
  using plain = tidy(() => run(model, op, y, opts).x);
  assert.deepEqual(await m1.toArray(), await plain.toArray());
  assert.ok((await s1.toArray()).every((v) => v === 0), "std of one draw is not 0");
  assert.deepEqual(one.seeds, [11]);

  // K = 3 with clipping: each draw by hand (M̃ of the base seed), reduced in float64.
  const K = 3;
  const done: number[] = [];
  const r = posteriorSamples(model, op, y, {
    ...opts,
    k: K,
    clip: [-1, 1],
    onSample: (j) => done.push(j),
  });
  using mean = r.mean, std = r.std;
  assert.deepEqual(done, [1, 2, 3]);
  assert.deepEqual(r.seeds, [0, 1, 2].map((j) => drawSeed(11, j)));
  assert.deepEqual([r.nfe, r.vjps], [3 * K, 3 * K]);
  const draws: Float32Array[] = [];
  for (const seed of r.seeds) {
    using d = tidy(() => clip(run(model, op, y, { ...opts, seed, maskSeed: 11 }).x, -1, 1));
    draws.push(await d.toArray() as Float32Array);
  }
  const n = draws[0].length;
  const wantMean = new Float64Array(n), wantStd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = draws.map((d) => d[i]);
    const mu = v.reduce((a, b) => a + b, 0) / K;
    wantMean[i] = mu;
    wantStd[i] = Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / (K - 1));
  }
  assertClose(await mean.toArray(), wantMean, { atol: 1e-5, rtol: 1e-5 }, "mean");
  assertClose(await std.toArray(), wantStd, { atol: 2e-5, rtol: 1e-4 }, "std");
  // Different seeds give different draws: the spread is not zero anywhere near everywhere.
  const moving = [...wantStd].filter((s) => s > 1e-3).length;
  assert.ok(moving > n / 2, `only ${moving} of ${n} pixels vary across the draws`);
}

Deno.test("posteriorSamples: K = 1 is adps; mean and std equal a direct computation (cpu)", async () => {
  await checkAgainstDirect(cpuBackend(), AMBIENT);
  await checkAgainstDirect(cpuBackend(), CLEAN);
});

Deno.test({
  name: "posteriorSamples: the same on WebGPU",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = await gpuOrSkip();
    if (!gpu) return;
    gpu.poison = false;
    await checkAgainstDirect(gpu, AMBIENT);
  },
});

Deno.test("drawSeed: draw 0 is the seed; 100 seeds × 100 draws never collide", () => {
  assert.equal(drawSeed(5, 0), 5);
  const all = new Set<number>();
  for (let s = 0; s < 100; s++) for (let j = 0; j < 100; j++) all.add(drawSeed(s, j));
  assert.equal(all.size, 100 * 100);
  for (const v of all) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
});

Deno.test("posteriorSamples: K must be a positive integer", async () => {
  const b = cpuBackend();
  using model = await loadModel(CLEAN, { backend: b });
  using x = images(b);
  using op = new GaussianCompressedSensing(b, { shape: [1, 32, 32], m: 60, seed: 3 });
  using y = measure(op, x, 0.05, 4);
  for (const k of [0, 1.5, NaN]) {
    assert.throws(
      () => posteriorSamples(model, op, y, { steps: 2, seed: 0, k }),
      /k must be an integer ≥ 1/,
    );
  }
});
