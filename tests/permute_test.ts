import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { permute } from "../src/ops/permute.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

/** out[c_0…c_{D−1}] = x[index with x's coordinate axes[k] equal to c_k], by coordinates. */
function reference(x: ArrayLike<number>, shape: number[], axes: number[]): Float64Array {
  const outShape = axes.map((a) => shape[a]);
  const n = x.length;
  const y = new Float64Array(n);
  const coord = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let r = i;
    for (let k = outShape.length - 1; k >= 0; k--) {
      coord[axes[k]] = r % outShape[k];
      r = Math.floor(r / outShape[k]);
    }
    let src = 0;
    for (let k = 0; k < shape.length; k++) src = src * shape[k] + coord[k];
    y[i] = x[src];
  }
  return y;
}

const CASES: [number[], number[]][] = [
  [[2, 3], [1, 0]],
  [[5], [0]],
  [[2, 3, 4], [0, 1, 2]],
  [[2, 3, 4], [2, 0, 1]],
  [[3, 1, 7], [2, 1, 0]],
  [[2, 3, 4, 5], [0, 2, 1, 3]],
  [[2, 3, 4, 5], [3, 2, 1, 0]],
  [[4, 5, 3, 3], [0, 2, 3, 1]],
  [[2, 2, 3, 2, 3], [4, 1, 3, 0, 2]],
  [[2, 1, 3, 2, 2, 3], [5, 3, 1, 0, 4, 2]],
  [[3, 2, 2, 3, 2, 2], [1, 0, 3, 2, 5, 4]],
  [[9, 65], [1, 0]],
];

Deno.test("permute up to 6 dimensions", async (t) => {
  const gpu = await gpuOrSkip();
  for (const [shape, axes] of CASES) {
    await t.step(`[${shape}] by [${axes}]`, async () => {
      await checkOp({ name: "permute", inputs: [{ shape }], f: (x) => permute(x, axes) }, gpu);
      const x = Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i);
      const y = permute(cpuBackend("f64").fromArray(x, shape), axes);
      assert.deepEqual(y.shape, axes.map((a) => shape[a]));
      assertClose(
        await y.toArray(),
        reference(x, shape, axes),
        { atol: 0, rtol: 0 },
        "vs coordinates",
      );
    });
  }
  await t.step("negative axes and errors", async () => {
    const be = cpuBackend();
    const x = be.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    assertClose(
      await permute(x, [-1, 0]).toArray(),
      [1, 4, 2, 5, 3, 6],
      { atol: 0, rtol: 0 },
      "-1",
    );
    assert.throws(() => permute(x, [0, 0]), /not a permutation/);
    assert.throws(() => permute(x, [0]), /not a permutation/);
    assert.throws(
      () => permute(be.full([1, 1, 1, 1, 1, 1, 1], 0), [0, 1, 2, 3, 4, 5, 6]),
      /at most 6/,
    );
  });
});
