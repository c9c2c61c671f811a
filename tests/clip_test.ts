import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { clipScale } from "../src/optim/clip.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";

/** Odd sizes; 5000 elements take the two-pass reduction. */
const SHAPES = [[1], [7], [3, 65], [2, 3, 17, 5], [5000]];

function draws(gradSize: number): Float64Array[] {
  const rng = new Rng(5);
  return SHAPES.map((s) => rng.normals(s.reduce((a, b) => a * b, 1), gradSize));
}

function reference(gs: Float64Array[], maxNorm: number): number {
  let ss = 0;
  for (const g of gs) for (const x of g) ss += x * x;
  return Math.min(1, maxNorm / (Math.sqrt(ss) + 1e-6));
}

async function run(b: Backend, gs: Float64Array[], maxNorm: number): Promise<number> {
  const ts = gs.map((g) => b.fromArray(g, [g.length]));
  const s = clipScale(ts, maxNorm);
  assert.equal(s.size, 1);
  const [v] = await s.toArray();
  for (const t of [...ts, s]) t.dispose();
  return v;
}

Deno.test("clipScale: one factor over all gradients, WebGPU vs CPU vs float64", async (t) => {
  const gpu = await gpuOrSkip();
  const backends: Backend[] = [cpuBackend("f64"), cpuBackend()];
  if (gpu) backends.push(gpu);
  // 5713 elements: ‖g‖ ≈ 76·gradSize, so the first two cases clip and the last two do not.
  for (const [gradSize, maxNorm] of [[1, 1], [1, 50], [1e-3, 1], [1, 1e6]]) {
    const gs = draws(gradSize);
    const want = reference(gs, maxNorm);
    for (const b of backends) {
      await t.step(`${b.name} grad size ${gradSize}, maxNorm ${maxNorm}`, async () => {
        const got = await run(b, gs, maxNorm);
        if (want === 1) assert.equal(got, 1, "below the threshold the factor is exactly 1");
        else assertClose([got], [want], { atol: 0, rtol: 1e-5 }, "scale");
      });
    }
    if (gradSize === 1 && maxNorm === 1) assert.ok(want < 0.05, `test clips: ${want}`);
    if (gradSize === 1e-3) assert.equal(want, 1, "test does not clip");
  }
  await t.step("many tensors: several dispatch groups, chunks split inside tensors", async () => {
    const rng = new Rng(9);
    // 41 tensors, 1 to ~6000 floats: three groups of at most 16, tensors of up to 3 chunks.
    const gs = Array.from({ length: 41 }, (_, i) => rng.normals(1 + ((i * 2729) % 6007), 0.01));
    const want = reference(gs, 1);
    for (const b of backends) {
      assertClose([await run(b, gs, 1)], [want], { atol: 0, rtol: 1e-5 }, `${b.name} scale`);
    }
    assert.ok(want < 1, `clips: ${want}`);
  });
  await t.step("joint, not per tensor: ‖(3, 4)‖ = 5", async () => {
    const b = cpuBackend("f64");
    const a = await run(b, [new Float64Array([3]), new Float64Array([4])], 1);
    assertClose([a], [1 / (5 + 1e-6)], { atol: 0, rtol: 1e-12 }, "‖(3, 4)‖ = 5");
  });
  if (gpu) {
    await t.step("no readback: nothing is submitted", () => {
      const ts = draws(1).map((g, i) => gpu.fromArray(g, SHAPES[i]));
      const before = gpu.engine.submitCount;
      const s = clipScale(ts, 1);
      assert.equal(gpu.engine.submitCount, before);
      for (const x of [...ts, s]) x.dispose();
    });
  }
  await t.step("argument checks", () => {
    assert.throws(() => clipScale([], 1), /no gradients/);
    assert.throws(() => clipScale([cpuBackend().full([2], 1)], 0), /positive/);
  });
});
