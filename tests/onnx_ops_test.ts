import assert from "node:assert/strict";
import { multiHeadAttention } from "../src/ops/attention.ts";
import { concat, slice } from "../src/ops/concat.ts";
import { conv2d } from "../src/ops/conv2d.ts";
import { add, addScaled, clip, div, silu, sqrt, where } from "../src/ops/elementwise.ts";
import { groupNorm } from "../src/ops/group_norm.ts";
import { linear } from "../src/ops/linear.ts";
import { map } from "../src/ops/map.ts";
import { matmul } from "../src/ops/matmul.ts";
import { permute } from "../src/ops/permute.ts";
import { positionalEmbedding } from "../src/ops/positional_embedding.ts";
import { mean, sum, sumSquares } from "../src/ops/reduce.ts";
import { downsample2x, upsample2x } from "../src/ops/resample.ts";
import { reshape } from "../src/ops/reshape.ts";
import { softmax } from "../src/ops/softmax.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { checkOnnx } from "./onnx_harness.ts";

Deno.test("onnx lowering: elementwise maps (the expression table) and broadcasting", async () => {
  await checkOnnx({ name: "silu", shapes: [[3, 5, 7]], f: silu });
  await checkOnnx({ name: "add bcast", shapes: [[2, 3, 1, 5], [3, 4, 1]], f: add });
  await checkOnnx({ name: "addScaled", shapes: [[4, 6], [6]], f: (a, b) => addScaled(a, b, 0.7) });
  await checkOnnx({ name: "div", shapes: [[5, 3], [5, 1]], f: div, gen: (r) => 0.5 + r.uniform() });
  await checkOnnx({ name: "sqrt", shapes: [[9]], f: sqrt, gen: (r) => r.uniform() + 0.1 });
  await checkOnnx({ name: "clip", shapes: [[4, 5]], f: (a) => clip(a, -0.3, 0.4) });
  await checkOnnx({
    name: "where",
    shapes: [[3, 4], [3, 4], [1, 4]],
    f: (m, a, b) => where(map("m", "select(0.0, 1.0, m > 0.0)", ["m"], [m]), a, b),
  });
  await checkOnnx({
    name: "precedence",
    shapes: [[6], [6]],
    f: (a, b) =>
      map("p", "-a * b - (a - b) / 2.0 + max(a, p0) * min(b, p1)", ["a", "b"], [a, b], [0.1, -0.2]),
  });
  await checkOnnx({
    name: "logic",
    shapes: [[8], [8]],
    f: (a, b) =>
      map("l", "select(g0, 3.0, a >= 0.0 && b < 0.5 || a != b)", ["a", "b", "g0"], [a, b, a]),
  });
});

Deno.test("onnx lowering: matmul with transposes and a shared operand; linear", async () => {
  await checkOnnx({ name: "matmul", shapes: [[5, 7], [7, 3]], f: (a, b) => matmul(a, b) });
  await checkOnnx({
    name: "matmul batched ᵀᵀ",
    shapes: [[2, 7, 5], [2, 3, 7]],
    f: (a, b) => matmul(a, b, { transA: true, transB: true }),
  });
  await checkOnnx({
    name: "matmul shared",
    shapes: [[3, 4, 5], [5, 2]],
    f: (a, b) => matmul(a, b),
  });
  await checkOnnx({ name: "linear", shapes: [[3, 2, 6], [4, 6], [4]], f: linear });
});

Deno.test("onnx lowering: softmax, attention, reductions, permute, reshape", async () => {
  await checkOnnx({ name: "softmax", shapes: [[3, 4, 9]], f: softmax, gen: (r) => 4 * r.normal() });
  await checkOnnx({
    name: "attention",
    shapes: [[2, 12, 3, 5]],
    f: (q) => multiHeadAttention(q, 2),
  });
  await checkOnnx({ name: "sum", shapes: [[2, 3, 4, 5]], f: (x) => sum(x, [1, 3]) });
  await checkOnnx({ name: "sum keep", shapes: [[2, 3, 4]], f: (x) => sum(x, [-1], true) });
  await checkOnnx({ name: "mean all", shapes: [[3, 7]], f: (x) => mean(x) });
  await checkOnnx({ name: "sumSquares", shapes: [[4, 3, 2]], f: (x) => sumSquares(x, [0, 2]) });
  await checkOnnx({ name: "permute", shapes: [[2, 3, 4, 5]], f: (x) => permute(x, [2, 0, 3, 1]) });
  await checkOnnx({ name: "reshape", shapes: [[2, 3, 4]], f: (x) => silu(reshape(x, [4, -1])) });
});

Deno.test("onnx lowering: slice, concat", async () => {
  await checkOnnx({ name: "slice", shapes: [[2, 5, 3]], f: (x) => slice(x, 1, 1, 3) });
  await checkOnnx({ name: "slice last", shapes: [[4, 6]], f: (x) => slice(x, -1, 5, 1) });
  await checkOnnx({
    name: "concat",
    shapes: [[2, 1, 3], [2, 4, 3]],
    f: (a, b) => concat([a, b], 1),
  });
  await checkOnnx({
    name: "concat0",
    shapes: [[1, 3], [2, 3], [1, 3]],
    f: (...xs) => concat(xs, 0),
  });
});

Deno.test("onnx lowering: conv2d (per-channel, per-image, no bias; 1×1, 3×3, 5×5)", async () => {
  await checkOnnx({ name: "conv3", shapes: [[2, 3, 7, 6], [4, 3, 3, 3], [4]], f: conv2d });
  await checkOnnx({
    name: "conv1",
    shapes: [[1, 5, 4, 4], [2, 5, 1, 1]],
    f: (x, w) => conv2d(x, w),
  });
  await checkOnnx({
    name: "conv5 per-image",
    shapes: [[3, 2, 5, 9], [3, 2, 5, 5], [3, 3]],
    f: conv2d,
  });
});

Deno.test("onnx lowering: groupNorm (plain, modulated, SiLU), resampling, positional embedding", async () => {
  const tol = { atol: 3e-5, rtol: 3e-4 };
  await checkOnnx({
    name: "groupNorm",
    shapes: [[2, 8, 5, 3], [8], [8]],
    f: (x, g, b) => groupNorm(x, 4, g, b, { eps: 1e-5 }),
    tol,
  });
  await checkOnnx({
    name: "groupNorm silu",
    shapes: [[3, 6, 4, 4], [6], [6]],
    f: (x, g, b) => groupNorm(x, 3, g, b, { eps: 1e-6, silu: true }),
    tol,
  });
  await checkOnnx({
    name: "groupNorm modulated",
    shapes: [[2, 4, 3, 3], [4], [4], [2, 4], [2, 4]],
    f: (x, g, b, s, t) => groupNorm(x, 2, g, b, { scale: s, shift: t, silu: true }),
    tol,
  });
  await checkOnnx({
    name: "groupNorm [N, C]",
    shapes: [[3, 8], [8], [8]],
    f: (x, g, b) => groupNorm(x, 2, g, b),
  });
  // A missing shift is a full() zero tensor: the backend's Expand of a scalar.
  await checkOnnx({
    name: "groupNorm scale only",
    shapes: [[2, 4, 2, 3], [4], [4], [2, 4]],
    f: (x, g, b, s) => groupNorm(x, 2, g, b, { scale: s }),
    tol,
  });
  await checkOnnx({ name: "upsample", shapes: [[2, 3, 3, 5]], f: upsample2x });
  await checkOnnx({ name: "upsample 3-d", shapes: [[3, 2, 3]], f: upsample2x });
  await checkOnnx({ name: "downsample", shapes: [[2, 3, 6, 4]], f: downsample2x });
  await checkOnnx({
    name: "positionalEmbedding",
    shapes: [[5]],
    f: (x) => positionalEmbedding(x, 16, { endpoint: true }),
    tol: { atol: 2e-5, rtol: 1e-4 },
  });
});

Deno.test("onnx backend: no lowering, reading and empty tensors say what to do", async () => {
  const b = new OnnxBackend();
  const x = b.input("x", [2, 2]);
  assert.throws(() => b.empty([2]), /onnx backend: an uninitialised tensor \[2\]/);
  await assert.rejects(() => x.toArray(), /symbolic; mark it as an output/);
  assert.throws(
    () => b.copyInto(x, x),
    /cannot copy \[2,2\] into \[2,2\]: graph values are immutable/,
  );
});
