import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { emaUpdate, emaUpdateMany } from "../src/optim/ema.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, F32, gpuOrSkip } from "./harness.ts";

const SHAPES = [[1], [7], [3, 65], [2, 3, 17, 5]];
const BETAS = [0.5, 0.9, 0.999];

function draws(n: number) {
  const rng = new Rng(n);
  return { e0: rng.normals(n), ps: BETAS.map(() => rng.normals(n)) };
}

async function run(b: Backend, shape: number[]): Promise<Float32Array | Float64Array> {
  const n = shape.reduce((a, c) => a * c, 1);
  const { e0, ps } = draws(n);
  const ema = b.fromArray(e0, shape);
  BETAS.forEach((beta, k) => {
    using p = b.fromArray(ps[k], shape);
    emaUpdate(ema, p, beta);
  });
  const out = await ema.toArray();
  ema.dispose();
  return out;
}

Deno.test("emaUpdate: β·ema + (1 − β)·param, float64 reference, WebGPU vs CPU", async (t) => {
  const gpu = await gpuOrSkip();
  for (const shape of SHAPES) {
    await t.step(`[${shape}]`, async () => {
      const n = shape.reduce((a, c) => a * c, 1);
      const { e0, ps } = draws(n);
      const ref = e0.slice();
      BETAS.forEach((beta, k) => {
        for (let i = 0; i < n; i++) ref[i] = beta * ref[i] + (1 - beta) * ps[k][i];
      });
      assertClose(await run(cpuBackend("f64"), shape), ref, { atol: 1e-14, rtol: 1e-12 }, "f64");
      const f32 = await run(cpuBackend(), shape);
      assertClose(f32, ref, { atol: 1e-6, rtol: 1e-5 }, "f32 vs reference");
      if (gpu) assertClose(await run(gpu, shape), f32, F32, "webgpu vs cpu f32");
    });
  }
  await t.step("emaUpdateMany: 37 pairs in one call (several dispatches on WebGPU)", async () => {
    const sizes = Array.from({ length: 37 }, (_, i) => 1 + ((i * 89) % 257));
    const rng = new Rng(3);
    const e0 = sizes.map((n) => rng.normals(n));
    const p0 = sizes.map((n) => rng.normals(n));
    for (const b of [cpuBackend(), ...(gpu ? [gpu] : [])]) {
      const emas = e0.map((e) => b.fromArray(e, [e.length]));
      const params = p0.map((q) => b.fromArray(q, [q.length]));
      emaUpdateMany(emas, params, 0.9);
      for (const [i, e] of emas.entries()) {
        const want = e0[i].map((x, k) => 0.9 * x + 0.1 * p0[i][k]);
        assertClose(await e.toArray(), want, { atol: 1e-6, rtol: 1e-5 }, `${b.name} pair ${i}`);
      }
      for (const x of [...emas, ...params]) x.dispose();
    }
  });
  await t.step("a constant parameter is a fixed point over 1000 steps (no drift)", async () => {
    for (const b of gpu ? [cpuBackend(), gpu] : [cpuBackend()]) {
      const values = [0.3, -1.7e-3, 12345.678, 1 / 3];
      const ema = b.fromArray(values, [4]);
      const p = b.fromArray(values, [4]);
      for (let k = 0; k < 1000; k++) emaUpdate(ema, p, 0.9999);
      assert.deepEqual(await ema.toArray(), await p.toArray(), b.name);
      ema.dispose();
      p.dispose();
    }
  });
  await t.step("converges to the parameter as 1 − βᵗ", async () => {
    const b = cpuBackend("f64");
    const ema = b.full([3], 0);
    const p = b.full([3], 2);
    for (let k = 0; k < 50; k++) emaUpdate(ema, p, 0.95);
    const want = 2 * (1 - 0.95 ** 50);
    assertClose(await ema.toArray(), [want, want, want], { atol: 1e-12, rtol: 1e-12 }, "1 − βᵗ");
  });
  await t.step("argument checks", () => {
    const b = cpuBackend();
    assert.throws(() => emaUpdate(b.full([3], 0), b.full([4], 0), 0.9), /size/);
    assert.throws(() => emaUpdate(b.full([3], 0), b.full([3], 0), 1.5), /beta/);
    assert.throws(() => emaUpdateMany([b.full([3], 0)], [], 0.9), /1 averages for 0/);
  });
});
