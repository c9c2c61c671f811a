import assert from "node:assert/strict";
import { grad } from "../src/ops/autograd.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { dropout } from "../src/ops/dropout.ts";
import { sum } from "../src/ops/reduce.ts";
import { bernoulliThreshold, philox4x32_10, philoxKey, unitSteps } from "../src/cpu/philox.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

// Sizes off and on a multiple of 4 (the vec4 kernel).
const SHAPES = [[1], [7], [3, 65], [2, 3, 17, 5], [4, 8], [2, 4, 6, 6]];

Deno.test("dropout: WebGPU vs CPU twin, gradients vs finite differences", async (t) => {
  const gpu = await gpuOrSkip();
  for (const shape of SHAPES) {
    for (const [p, seed, stream] of [[0.3, 77, 2], [0.8, 2 ** 33 + 5, 0]]) {
      await t.step(`[${shape}] p=${p} seed=${seed} stream=${stream}`, () =>
        checkOp({
          name: "dropout",
          inputs: [{ shape }],
          f: (x) => dropout(x, p, seed, stream),
          fdSamples: 20,
        }, gpu));
    }
  }
});

Deno.test("dropout mask: word i mod 4 of Philox at (⌊i/4⌋, stream), Bernoulli(1 − p)", async (t) => {
  const gpu = await gpuOrSkip();
  const backends = gpu ? [cpuBackend(), cpuBackend("f64"), gpu] : [cpuBackend(), cpuBackend("f64")];
  const shape = [4, 3, 33];
  const n = 4 * 3 * 33; // not a multiple of 8 invocations' 32 elements
  const p = 0.25;
  const [k0, k1] = philoxKey(9);
  const keep = Array.from({ length: n }, (_, i) => {
    const w = philox4x32_10(Math.floor(i / 4), 6, 0, 0, k0, k1);
    return unitSteps(w[i % 4]) <= bernoulliThreshold(1 - p) ? 1 : 0;
  });
  for (const b of backends) {
    await t.step(b.name, async () => {
      const y = await dropout(b.full(shape, 3), p, 9, 6).toArray();
      for (let i = 0; i < n; i++) {
        const want = keep[i] * 3 / (1 - p);
        assert.ok(Math.abs(y[i] - want) <= 1e-6 * want, `element ${i}: ${y[i]} vs ${want}`);
      }
      // The backward regenerates the forward's mask: d(Σ dropout(x))/dx = mask/(1 − p).
      const x = b.full(shape, 3);
      const { grads } = grad(() => sum(dropout(x, p, 9, 6)), [x]);
      assertClose(await grads[0].toArray(), keep.map((k) => k / (1 - p)), {
        atol: 0,
        rtol: 1e-6,
      }, "gradient mask");
    });
  }
  await t.step("drop frequency, and streams give different masks", async () => {
    const b = cpuBackend();
    const N = 100000;
    const y = await dropout(b.full([N], 1), 0.1, 3, 0).toArray();
    const dropped = y.filter((v) => v === 0).length / N;
    assert.ok(Math.abs(dropped - 0.1) < 5 * Math.sqrt(0.09 / N), `dropped ${dropped}`);
    const z = await dropout(b.full([N], 1), 0.1, 3, 1).toArray();
    const agree = y.filter((v, i) => (v === 0) === (z[i] === 0)).length / N;
    assert.ok(Math.abs(agree - 0.82) < 0.01, `masks agree on ${agree} (independent: 0.82)`);
  });
  await t.step("p = 0 returns x; p outside [0, 1) throws", () => {
    const x = cpuBackend().full([3], 2);
    assert.equal(dropout(x, 0, 1, 0), x);
    assert.throws(() => dropout(x, 1, 1, 0), /\[0, 1\)/);
    assert.throws(() => dropout(x, -0.1, 1, 0), /\[0, 1\)/);
  });
});

Deno.test("dropout at an offset continues the larger tensor's masks (rounds of a batch)", async (t) => {
  const gpu = await gpuOrSkip();
  for (const b of gpu ? [cpuBackend(), gpu] : [cpuBackend()]) {
    await t.step(b.name, async () => {
      // Per image 20 (vec4 kernel) and 6 · 2 = 12 elements, slices of 1 and 2 images.
      for (const [images, per, first, count] of [[4, 20, 1, 2], [3, 12, 2, 1], [5, 12, 1, 3]]) {
        const whole = await dropout(b.full([images * per], 2), 0.4, 31, 3).toArray();
        const slice = dropout(b.full([count * per], 2), 0.4, 31, 3, first * per);
        const got = await slice.toArray();
        const want = whole.subarray(first * per, (first + count) * per);
        assert.deepEqual(got, want, `images ${first}..${first + count - 1} of ${images}`);
        const x = b.full([count * per], 2);
        const { grads } = grad(() => sum(dropout(x, 0.4, 31, 3, first * per)), [x]);
        assert.deepEqual(
          Array.from(await grads[0].toArray(), (g) => g !== 0),
          Array.from(want, (v) => v !== 0),
          "the backward regenerates the offset mask",
        );
      }
    });
  }
  await t.step("an offset that is not a multiple of 4 throws", () => {
    assert.throws(() => dropout(cpuBackend().full([8], 1), 0.5, 1, 0, 6), /multiple of 4/);
  });
});
