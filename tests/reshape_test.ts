import assert from "node:assert/strict";
import { grad } from "../src/ops/autograd.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { mul } from "../src/ops/elementwise.ts";
import { reshape } from "../src/ops/reshape.ts";
import { tidy } from "../src/core/scope.ts";
import { checkOp, gpuOrSkip } from "./harness.ts";

const CASES: [number[], number[]][] = [
  [[2, 3], [3, 2]],
  [[6], [1, 6, 1]],
  [[2, 3, 4], [4, -1]],
  [[5, 7], [-1]],
  [[3, 1, 5], [5, 3]],
];

Deno.test("reshape: forward and gradient on both backends", async (t) => {
  const gpu = await gpuOrSkip();
  for (const [shape, to] of CASES) {
    await t.step(`[${shape}] to [${to}]`, async () => {
      // A product with the input makes the gradient depend on the reshape's backward.
      await checkOp({
        name: "reshape",
        inputs: [{ shape }, { shape: to.includes(-1) ? [shape.reduce((a, b) => a * b)] : to }],
        f: (x, w) => mul(reshape(x, to), reshape(w, reshape(x, to).shape)),
      }, gpu);
    });
  }
});

Deno.test("reshape: a view in row-major order, -1 inferred, clear errors", async () => {
  const b = cpuBackend();
  const x = b.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  const y = reshape(x, [3, -1]);
  assert.deepEqual(y.shape, [3, 2]);
  assert.deepEqual([...await y.toArray()], [1, 2, 3, 4, 5, 6]);
  assert.equal(y.storage, x.storage, "no copy");
  assert.deepEqual(reshape(b.empty([0, 4]), [-1, 2]).shape, [0, 2]);
  assert.throws(() => reshape(x, [4, 2]), /cannot reshape 6 elements to \[4,2\]/);
});

Deno.test("reshape: the gradient comes back in the input's shape", async () => {
  const x = cpuBackend("f64").fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  const { grads } = tidy(() => grad(() => reshape(x, [6]), [x], x.backend.full([6], 2)));
  assert.deepEqual(grads[0].shape, [2, 3]);
  assert.deepEqual([...await grads[0].toArray()], [2, 2, 2, 2, 2, 2]);
});
