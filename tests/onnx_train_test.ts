import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { Rng } from "../src/core/rng.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { conv2d, conv2dWeightGrad } from "../src/ops/conv2d.ts";
import { dropout } from "../src/ops/dropout.ts";
import { grad } from "../src/ops/autograd.ts";
import { mul, scale } from "../src/ops/elementwise.ts";
import { sum } from "../src/ops/reduce.ts";
import { fft2 } from "../src/ops/fft.ts";
import { positionalEmbedding } from "../src/ops/positional_embedding.ts";
import { bernoulli, randomNormal, randomUniform } from "../src/ops/random.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { adamUpdateMany } from "../src/optim/adam.ts";
import { clipScale } from "../src/optim/clip.ts";
import { emaUpdateMany } from "../src/optim/ema.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { conv2dWeightGradTransposedOnnx } from "../src/onnx/lower_grad.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { checkTraceSeed, fillRandomInputs } from "../src/onnx/random_inputs.ts";
import { openSession } from "../src/onnx/runtime.ts";
import { assertClose } from "./harness.ts";
import { checkOnnx } from "./onnx_harness.ts";

// dw sums N·H·W products in f32 on both sides.
const GRAD = { atol: 2e-4, rtol: 2e-4 };

Deno.test("onnx lowering: conv2d's input, weight and bias gradients (awkward shapes, 1×1 to 5×5, per-image bias) vs the twin", async () => {
  for (
    const [x, w, b] of [
      [[2, 3, 7, 6], [4, 3, 3, 3], [4]],
      [[1, 5, 4, 4], [2, 5, 1, 1], [2]],
      [[3, 2, 5, 9], [3, 2, 5, 5], [3, 3]],
      [[1, 1, 1, 1], [2, 1, 3, 3], [2]],
      [[2, 4, 3, 2], [1, 4, 5, 5], [1]],
    ]
  ) {
    await checkOnnx({
      name: `conv grads ${x}/${w}/${b}`,
      shapes: [x, w, b],
      f: conv2d,
      grads: [0, 1, 2],
      gradTol: GRAD,
    });
  }
  // The measured alternative (a Conv over transposed operands) computes the same dw.
  await checkOnnx({
    name: "conv2dWeightGrad as a Conv over transposed operands",
    shapes: [[2, 3, 6, 5], [2, 4, 6, 5]],
    f: (x, dy) =>
      x.backend.kind === "onnx"
        ? conv2dWeightGradTransposedOnnx(x.backend as OnnxBackend, x, dy, 3)
        : conv2dWeightGrad(x, dy, 3).dw,
    tol: GRAD,
  });
});

Deno.test("onnx lowering: positional embedding's backward and the FFT (both directions, centred or not) vs the twin", async () => {
  await checkOnnx({
    name: "positionalEmbedding",
    shapes: [[5]],
    f: (x) => positionalEmbedding(x, 16, { endpoint: true }),
    gen: (r) => 2 * r.normal(),
    grads: [0],
    tol: { atol: 2e-5, rtol: 1e-4 },
    gradTol: { atol: 2e-4, rtol: 1e-3 },
  });
  const tol = { atol: 2e-5, rtol: 2e-4 };
  for (const shape of [[2, 2, 4, 6], [3, 2, 5, 3], [2, 1, 1], [1, 2, 2, 8, 7]]) {
    for (const inverse of [false, true]) {
      for (const centred of [true, false]) {
        await checkOnnx({
          name: `fft2 [${shape}] inverse ${inverse} centred ${centred}`,
          shapes: [shape],
          f: (x) => fft2(x, { inverse, centred }),
          grads: [0],
          tol,
        });
      }
    }
  }
});

Deno.test("onnx lowering: DFT matrices and im2col kernels are stored once per graph", () => {
  const b = new OnnxBackend();
  const x = b.input("x", [1, 2, 4, 6]);
  const w = b.input("w", [2, 2, 3, 3]);
  const { grads } = grad(() => sum(conv2d(conv2d(fft2(fft2(x)), w), w)), [w]);
  b.output("dw", grads[0]);
  const sizes = b.graph.initializers.map((t) => t.dims.join("×"));
  for (const dims of ["8×8", "12×12", "18×1×3×3"]) {
    assert.equal(sizes.filter((d) => d === dims).length, 1, `${dims} in ${sizes}`);
  }
});

Deno.test("onnx lowering: the MRI operator A = M F S and its VJP vs the twin", async () => {
  await checkOnnx({
    name: "multi-coil fourier",
    shapes: [[2, 2, 6, 5], [2, 3, 2, 6, 5], [2, 5]],
    // The operator owns (and frees) what it is given: copies, since the harness calls f twice.
    f: (x, maps, mask) => new MultiCoilFourier(scale(maps, 1), scale(mask, 1)).forward(x),
    grads: [0],
    tol: { atol: 2e-5, rtol: 2e-4 },
  });
});

Deno.test("onnx random inputs: draws and dropout masks are graph inputs filled with the CPU twin's Philox", async () => {
  const b = new OnnxBackend();
  b.output("n", randomNormal(b, [3, 5], 11, 4, 8));
  b.output("u", randomUniform(b, [7], 11, 5));
  b.output("m", bernoulli(b, [2, 9], 0.3, 11, 6));
  assert.deepEqual(b.randomInputs.map((r) => [r.kind, r.stream, r.offset]), [
    ["normal", 4, 8],
    ["uniform", 5, 0],
    ["bernoulli", 6, 0],
  ]);
  checkTraceSeed(b.randomInputs, 11);
  assert.throws(
    () => checkTraceSeed(b.randomInputs, 12),
    /random input random_0 \(normal, stream 4\) was drawn under seed 11, not the step's seed 12/,
  );
  const session = await openSession(encodeModel(b.graph.spec()));
  const cpu = cpuBackend();
  // A new seed re-fills the same graph: no re-trace.
  for (const seed of [11, 99]) {
    const got = await session.run(fillRandomInputs(b.randomInputs, seed));
    assert.deepEqual(got.n, await randomNormal(cpu, [3, 5], seed, 4, 8).toArray(), "normal");
    assert.deepEqual(got.u, await randomUniform(cpu, [7], seed, 5).toArray(), "uniform");
    assert.deepEqual(got.m, await bernoulli(cpu, [2, 9], 0.3, seed, 6).toArray(), "bernoulli");
  }
  await session.release();
  // Dropout: one mask input for the forward and the backward, values and gradient exact.
  const traced = new OnnxBackend();
  const x = traced.input("x", [3, 8]);
  traced.output("y", mul(dropout(x, 0.3, 21, 7, 4), dropout(x, 0.3, 21, 7, 4)));
  assert.equal(traced.randomInputs.length, 1);
  await checkOnnx({
    name: "dropout",
    shapes: [[2, 3, 5]],
    f: (x) => mul(dropout(x, 0.25, 21, 7, 8), x),
    grads: [0],
    drawSeed: 21,
    tol: { atol: 0, rtol: 1e-6 },
  });
});

Deno.test("onnx optimisers: Adam with clipping, and the EMA, out of place vs the in-place twin", async () => {
  const shapes = [[4, 3], [5], [2, 1, 3]];
  const rng = new Rng(5);
  const gen = (s: number[], f: () => number) =>
    Float32Array.from({ length: s.reduce((a, c) => a * c, 1) }, f);
  const data = {
    p: shapes.map((s) => gen(s, () => rng.normal())),
    g: shapes.map((s) => gen(s, () => 3 * rng.normal())),
    m: shapes.map((s) => gen(s, () => 0.1 * rng.normal())),
    v: shapes.map((s) => gen(s, () => 0.05 * rng.uniform())),
    e: shapes.map((s) => gen(s, () => rng.normal())),
  };
  const kinds = ["p", "g", "m", "v", "e"] as const;
  // Clipping active (‖g‖ ≫ 1) at step 3, and inactive.
  for (const maxNorm of [1, 1e6]) {
    const run = (make: (k: typeof kinds[number], i: number) => Tensor) => {
      const t = Object.fromEntries(
        kinds.map((k) => [k, shapes.map((_, i) => make(k, i))]),
      ) as Record<typeof kinds[number], Tensor[]>;
      const gradScale = clipScale(t.g, maxNorm);
      const items = t.p.map((param, i) => ({ param, grad: t.g[i], m: t.m[i], v: t.v[i] }));
      adamUpdateMany(items, { lr: 0.01, step: 3, gradScale });
      emaUpdateMany(t.e, t.p, 0.9);
      return { ...t, gradScale };
    };
    const cpu = cpuBackend();
    const want = run((k, i) => cpu.fromArray(data[k][i], shapes[i]));
    const b = new OnnxBackend();
    const traced = run((k, i) => b.input(`${k}${i}`, shapes[i]));
    for (const k of ["p", "m", "v", "e"] as const) {
      traced[k].forEach((t, i) => b.output(`new_${k}${i}`, t));
    }
    b.output("scale", traced.gradScale);
    const session = await openSession(encodeModel(b.graph.spec()));
    const feeds: Record<string, [Float32Array, number[]]> = Object.fromEntries(
      kinds.flatMap((k) =>
        shapes.map((s, i) => [`${k}${i}`, [data[k][i], s] as [Float32Array, number[]]])
      ),
    );
    // Adam's step size and bias correction and the EMA weight are inputs: their traced values.
    assert.deepEqual([...b.scalarInputs.keys()], [
      "adam.stepSize",
      "adam.invBc2Sqrt",
      "ema.weight",
    ]);
    for (const [k, v] of b.scalarInputs) feeds[k] = [Float32Array.of(v), []];
    const got = await session.run(feeds);
    const tol = { atol: 1e-6, rtol: 1e-5 };
    assertClose(got.scale, await want.gradScale.toArray(), tol, `clip ${maxNorm}`);
    for (const k of ["p", "m", "v", "e"] as const) {
      for (let i = 0; i < shapes.length; i++) {
        const expected = await want[k][i].toArray();
        assert.notDeepEqual(expected, data[k][i], `${k}${i} moved`);
        assertClose(got[`new_${k}${i}`], expected, tol, `${k}${i} (clip ${maxNorm})`);
      }
    }
    await session.release();
  }
});
