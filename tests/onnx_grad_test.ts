import { multiHeadAttention } from "../src/ops/attention.ts";
import { concat, slice } from "../src/ops/concat.ts";
import { conv2dInputGrad } from "../src/ops/conv2d.ts";
import { clip, mul, sigmoid, silu } from "../src/ops/elementwise.ts";
import { groupNorm } from "../src/ops/group_norm.ts";
import { linear } from "../src/ops/linear.ts";
import { matmul } from "../src/ops/matmul.ts";
import { permute } from "../src/ops/permute.ts";
import { sum, sumSquares } from "../src/ops/reduce.ts";
import { downsample2x, upsample2x } from "../src/ops/resample.ts";
import { reshape } from "../src/ops/reshape.ts";
import { softmax } from "../src/ops/softmax.ts";
import type { Tensor } from "../src/core/tensor.ts";
import type { OnnxBackend } from "../src/onnx/backend.ts";
import { conv2dInputGradTransposeOnnx } from "../src/onnx/lower_grad.ts";
import { checkOnnx } from "./onnx_harness.ts";

// Gradients sum over a batch and pixels in f32 on both sides: a looser atol than the forward.
const GRAD = { atol: 1e-4, rtol: 1e-4 };

// conv2d's input gradient inside the whole VJP: with the weight's in tests/onnx_train_test.ts.
Deno.test("onnx lowering: conv2d's input gradient (Conv of the flipped weight) vs the twin", async () => {
  // The direct call, and the measured alternative form (ConvTranspose) agrees with it.
  await checkOnnx({
    name: "conv2dInputGrad",
    shapes: [[2, 4, 5, 7], [4, 3, 3, 3]],
    f: (dy, w) => conv2dInputGrad(dy, w),
    tol: GRAD,
  });
  await checkOnnx({
    name: "conv2dInputGrad as ConvTranspose",
    shapes: [[2, 4, 5, 7], [4, 3, 5, 5]],
    f: (dy, w) =>
      dy.backend.kind === "onnx"
        ? conv2dInputGradTransposeOnnx(dy.backend as OnnxBackend, dy, w)
        : conv2dInputGrad(dy, w),
    tol: GRAD,
  });
});

Deno.test("onnx lowering: groupNorm's backward (plain, SiLU, modulated, [N, C]) vs the twin", async () => {
  const tol = { atol: 3e-5, rtol: 3e-4 };
  const gradTol = { atol: 2e-4, rtol: 5e-4 };
  await checkOnnx({
    name: "groupNorm",
    shapes: [[2, 8, 5, 3], [8], [8]],
    f: (x, g, b) => groupNorm(x, 4, g, b, { eps: 1e-5 }),
    grads: [0, 1, 2],
    tol,
    gradTol,
  });
  await checkOnnx({
    name: "groupNorm silu",
    shapes: [[3, 6, 4, 4], [6], [6]],
    f: (x, g, b) => groupNorm(x, 3, g, b, { eps: 1e-6, silu: true }),
    grads: [0, 1, 2],
    tol,
    gradTol,
  });
  await checkOnnx({
    name: "groupNorm modulated silu",
    shapes: [[2, 4, 3, 3], [4], [4], [2, 4], [2, 4]],
    f: (x, g, b, s, t) => groupNorm(x, 2, g, b, { scale: s, shift: t, silu: true }),
    grads: [0, 1, 2, 3, 4],
    tol,
    gradTol,
  });
  await checkOnnx({
    name: "groupNorm scale only, one group",
    shapes: [[2, 4, 2, 3], [4], [4], [2, 4]],
    f: (x, g, b, s) => groupNorm(x, 1, g, b, { scale: s }),
    grads: [0, 1, 2, 3],
    tol,
    gradTol,
  });
  await checkOnnx({
    name: "groupNorm [N, C] per-channel groups",
    shapes: [[3, 8], [8], [8]],
    f: (x, g, b) => groupNorm(x, 8, g, b, { eps: 1e-2 }),
    grads: [0, 1, 2],
    tol,
    gradTol,
  });
  await checkOnnx({
    name: "groupNorm [N, C, 1, 1] scale",
    shapes: [[2, 6, 5, 1], [6], [6], [2, 6, 1, 1], [2, 6, 1, 1]],
    f: (x, g, b, s, t) => groupNorm(x, 2, g, b, { scale: s, shift: t }),
    grads: [0, 3, 4],
    tol,
    gradTol,
  });
});

Deno.test("onnx lowering: softmax, attention, slice and concat backward vs the twin", async () => {
  const tol = { atol: 2e-5, rtol: 2e-4 };
  for (const shape of [[3, 4, 9], [1, 1], [5, 17]]) {
    await checkOnnx({
      name: `softmax ${shape}`,
      shapes: [shape],
      f: softmax,
      gen: (r) => 4 * r.normal(),
      grads: [0],
      tol,
    });
  }
  await checkOnnx({
    name: "attention",
    shapes: [[2, 12, 3, 5]],
    f: (q) => multiHeadAttention(q, 2),
    grads: [0],
    tol,
  });
  await checkOnnx({ name: "slice", shapes: [[2, 5, 3]], f: (x) => slice(x, 1, 1, 3), grads: [0] });
  await checkOnnx({
    name: "slice first",
    shapes: [[4, 6]],
    f: (x) => slice(x, 0, 0, 1),
    grads: [0],
  });
  await checkOnnx({
    name: "slice last",
    shapes: [[4, 6]],
    f: (x) => slice(x, -1, 5, 1),
    grads: [0],
  });
  await checkOnnx({
    name: "concat",
    shapes: [[2, 1, 3], [2, 4, 3], [2, 2, 3]],
    f: (a, b, c) => concat([a, b, c], 1),
    grads: [0, 1, 2],
  });
});

Deno.test("onnx lowering: the rest of the VJP path (maps, matmul, reductions, resampling) vs the twin", async () => {
  const tol = { atol: 2e-5, rtol: 2e-4 };
  const cases: { name: string; shapes: number[][]; f: (...xs: Tensor[]) => Tensor }[] = [
    { name: "silu·sigmoid", shapes: [[3, 5, 7], [5, 1]], f: (a, b) => mul(silu(a), sigmoid(b)) },
    { name: "clip", shapes: [[4, 5]], f: (a) => clip(a, -0.3, 0.4) },
    {
      name: "matmul ᵀ",
      shapes: [[2, 7, 5], [2, 3, 7]],
      f: (a, b) => matmul(a, b, { transA: true, transB: true }),
    },
    { name: "linear", shapes: [[3, 2, 6], [4, 6], [4]], f: linear },
    { name: "sum", shapes: [[2, 3, 4, 5]], f: (x) => sum(x, [1, 3]) },
    { name: "sumSquares", shapes: [[4, 3, 2]], f: (x) => sumSquares(x, [1, 2]) },
    { name: "permute", shapes: [[2, 3, 4, 5]], f: (x) => permute(x, [2, 0, 3, 1]) },
    { name: "reshape", shapes: [[2, 3, 4]], f: (x) => silu(reshape(x, [4, -1])) },
    { name: "up", shapes: [[2, 3, 3, 5]], f: upsample2x },
    { name: "down", shapes: [[2, 3, 6, 4]], f: downsample2x },
  ];
  for (const c of cases) {
    await checkOnnx({ ...c, grads: c.shapes.map((_, k) => k), tol });
  }
});
