/**
 * `dpsSteps`, DPS one step per `next()` (what the playground redraws from): run to the end it
 * is `dps` bit for bit, each yielded x is freed by the next step and the last one is the
 * caller's, and closing it early frees the current x. Checked on the exact denoiser of a
 * Gaussian prior (tests/gaussian_prior.ts), on the CPU and on WebGPU.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { dps, type DpsStep, dpsSteps } from "../src/sampling/dps.ts";
import { makePrior, priorOn } from "./gaussian_prior.ts";
import { gpuOrSkip } from "./harness.ts";

/** Runs the check on one backend for an awkward image size and batch. */
async function check(b: Backend, h: number, w: number, n: number, steps: number) {
  using prior = priorOn(b, makePrior(h, w, 5));
  using op = new RandomInpainting(b, { height: h, width: w, p: 0.4, seed: 3 });
  using y = tidy(() =>
    op.forward(b.fromArray(
      makePrior(h, w, 9).mu.concat(
        ...Array.from({ length: n - 1 }, (_, k) => makePrior(h, w, 10 + k).mu),
      ),
      [n, 1, h, w],
    ))
  );
  const options = { steps, zeta: 0.7, seed: 11, sigmaMin: 0.01 };
  const seen: number[] = [];
  const want = dps(prior.denoise, op, y, b, [n, 1, h, w], {
    ...options,
    onStep: (s) => seen.push(s.i),
  });
  const xs: Tensor[] = [];
  const infos: Omit<DpsStep, "x">[] = [];
  const it = dpsSteps(prior.denoise, op, y, b, [n, 1, h, w], options);
  let r = it.next();
  for (; !r.done; r = it.next()) {
    const { x, ...info } = r.value;
    if (xs.length) assert.ok(xs.at(-1)!.disposed, `step ${info.i}: the previous x is freed`);
    xs.push(x);
    infos.push(info);
  }
  using got = r.value.x;
  assert.equal(got, xs.at(-1), "the last yielded x is the result");
  assert.equal(got.disposed, false);
  assert.deepEqual(infos.map((s) => s.i), seen);
  assert.deepEqual(seen, Array.from({ length: steps }, (_, i) => i));
  assert.equal(infos.at(-1)!.nfe, want.nfe);
  assert.equal(r.value.vjps, want.vjps);
  const [a, e] = await b.readMany([got, want.x]);
  assert.deepEqual(Array.from(a), Array.from(e), "dpsSteps run to the end is dps bit for bit");
  want.x.dispose();

  const early = dpsSteps(prior.denoise, op, y, b, [n, 1, h, w], options);
  const current = early.next();
  assert.ok(!current.done);
  early.return(undefined as never);
  assert.ok(current.value.x.disposed, "closing early frees the current x");
}

Deno.test("dpsSteps run to the end is dps; each step frees the previous x; closing frees x", async () => {
  const cpu = cpuBackend();
  await check(cpu, 5, 7, 2, 4);
  await check(cpu, 8, 8, 1, 2);
  const gpu = await gpuOrSkip();
  if (gpu) {
    await check(gpu, 5, 7, 2, 4);
    await check(gpu, 3, 16, 3, 2);
  }
});
