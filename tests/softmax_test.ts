import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { softmax } from "../src/ops/softmax.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

/** Direct formula exp(x) / Σ exp(x) per row, in float64 (no max subtraction). */
function reference(x: ArrayLike<number>, len: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / len; r++) {
    let s = 0;
    for (let j = 0; j < len; j++) s += Math.exp(x[r * len + j]);
    for (let j = 0; j < len; j++) y[r * len + j] = Math.exp(x[r * len + j]) / s;
  }
  return y;
}

const SHAPES = [[1], [7], [5, 1], [3, 65], [2, 3, 17], [130, 9], [2, 16, 16]];

Deno.test("softmax over the last axis", async (t) => {
  const gpu = await gpuOrSkip();
  for (const shape of SHAPES) {
    await t.step(`[${shape}]`, async () => {
      await checkOp({
        name: "softmax",
        inputs: [{ shape, scale: 2 }],
        f: softmax,
        fdSamples: 20,
      }, gpu);
      const n = shape.reduce((a, b) => a * b, 1);
      const x = new Rng(n).normals(n, 2);
      const y = await softmax(cpuBackend("f64").fromArray(x, shape)).toArray();
      assertClose(
        y,
        reference(x, shape[shape.length - 1]),
        { atol: 1e-14, rtol: 1e-12 },
        "vs formula",
      );
    });
  }
});

Deno.test("softmax is stable for large logits and invariant to shifts", async () => {
  const gpu = await gpuOrSkip();
  const x = [1000, 1001, 1002, -1000, -1001, -999];
  const want = [...reference([0, 1, 2], 3), ...reference([0, -1, 1], 3)];
  for (const be of gpu ? [cpuBackend(), gpu] : [cpuBackend()]) {
    const y = await softmax(be.fromArray(x, [2, 3])).toArray();
    assert.ok(y.every(Number.isFinite), `${be.name}: finite`);
    assertClose(y, want, { atol: 1e-6, rtol: 1e-5 }, `${be.name} large logits`);
  }
});
