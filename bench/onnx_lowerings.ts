/**
 * The candidate ONNX lowerings of the convolution gradients timed in onnxruntime-node (CPU
 * provider, 2 intra-op threads), one graph per candidate, rounds interleaved so a noisy machine
 * slows all alike; prints the median ms of each and checks the candidates agree. The kept forms
 * and the numbers are in docs/perf-notes.md.
 * `deno run -A bench/onnx_lowerings.ts [--rounds 7] [--const-w] [--shapes 16-64-64-32-3,…]`
 * (N-Cin-Cout-H-k; --const-w: the weight as an initializer, as in a sampling graph).
 */
import { parseArgs } from "node:util";
import type { Tensor } from "../src/core/tensor.ts";
import { Rng } from "../src/core/rng.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { conv2dOnnx } from "../src/onnx/lower_nn.ts";
import {
  conv2dInputGradOnnx,
  conv2dInputGradTransposeOnnx,
  conv2dWeightGradOnnx,
  conv2dWeightGradTransposedOnnx,
  im2colOnnx,
} from "../src/onnx/lower_grad.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { type OnnxSession, openSession } from "../src/onnx/runtime.ts";
import { median } from "./stats.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    "const-w": { type: "boolean", default: false },
    shapes: { type: "string", default: "16-64-64-32-3,8-32-32-32-3,8-64-64-16-3,8-64-192-8-1" },
  },
});

/** im2col then one Gemm over the batch-inside layout [C, N·H·W] (the MatMul form's alternative). */
function weightGradGemm(b: OnnxBackend, x: Tensor, dy: Tensor, k: number): Tensor {
  const g = b.graph;
  const [n, cin, h, w] = x.shape;
  const cout = dy.shape[1];
  const taps = cin * k * k;
  const rows = (t: Tensor, c: number) =>
    b.node("Reshape", [
      b.node("Transpose", [t], [c, n, h, w], { perm: [1, 0, 2, 3] }),
      g.int64([c, -1]),
    ], [c, n * h * w]);
  const dw = b.node("Gemm", [rows(dy, cout), rows(im2colOnnx(b, x, k), taps)], [cout, taps], {
    transB: 1,
  });
  return b.node("Reshape", [dw, g.int64([cout, cin, k, k])], [cout, cin, k, k]);
}

type Build = (b: OnnxBackend, x: Tensor, dy: Tensor, w: Tensor, k: number) => Tensor;

const CANDIDATES: [string, string, Build][] = [
  ["forward", "Conv", (b, x, _dy, w) => conv2dOnnx(b, x, w, null)],
  [
    "input grad",
    "Conv, flipped in/out-swapped weight",
    (b, _x, dy, w) => conv2dInputGradOnnx(b, dy, w),
  ],
  ["input grad", "ConvTranspose", (b, _x, dy, w) => conv2dInputGradTransposeOnnx(b, dy, w)],
  [
    "weight grad",
    "im2col: depthwise one-hot Conv + batched MatMul + ReduceSum",
    (b, x, dy, _w, k) => conv2dWeightGradOnnx(b, x, dy, k),
  ],
  [
    "weight grad",
    "im2col: depthwise one-hot Conv + one Gemm, batch inside",
    (b, x, dy, _w, k) => weightGradGemm(b, x, dy, k),
  ],
  [
    "weight grad",
    "Conv over transposed operands",
    (b, x, dy, _w, k) => conv2dWeightGradTransposedOnnx(b, x, dy, k),
  ],
];

const rounds = Number(args.rounds);
for (const spec of args.shapes.split(",")) {
  const [n, cin, cout, h, k] = spec.split("-").map(Number);
  const rng = new Rng(1);
  const shapes = { x: [n, cin, h, h], dy: [n, cout, h, h], w: [cout, cin, k, k] };
  const feeds = Object.fromEntries(
    Object.entries(shapes).map(([name, s]) => [
      name,
      [Float32Array.from({ length: s.reduce((a, c) => a * c, 1) }, () => rng.normal()), s],
    ]),
  ) as Record<string, [Float32Array, number[]]>;
  const wData = feeds.w[0];
  if (args["const-w"]) delete feeds.w;
  const runs: { op: string; form: string; session: OnnxSession; ms: number[]; y?: Float32Array }[] =
    [];
  for (const [op, form, build] of CANDIDATES) {
    const b = new OnnxBackend();
    const [x, dy] = (["x", "dy"] as const).map((v) => b.input(v, shapes[v]));
    // Sampling graphs hold the weights as initializers (ORT pre-packs them); training feeds them.
    const w = args["const-w"] ? b.constant(wData, shapes.w) : b.input("w", shapes.w);
    b.output("y", build(b, x, dy, w, k));
    const session = await openSession(encodeModel(b.graph.spec()), 2);
    await session.run(feeds); // warm-up: ORT plans its kernels on the first run
    runs.push({ op, form, session, ms: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const run of runs) {
      const t0 = performance.now();
      const out = await run.session.run(feeds);
      run.ms.push(performance.now() - t0);
      run.y = out.y;
    }
  }
  console.log(`N ${n}, Cin ${cin}, Cout ${cout}, ${h}×${h}, k ${k} (median of ${rounds}, ms):`);
  for (const run of runs) {
    const first = runs.find((o) => o.op === run.op)!;
    let worst = 0;
    for (let i = 0; i < run.y!.length; i++) {
      worst = Math.max(worst, Math.abs(run.y![i] - first.y![i]) / (1 + Math.abs(first.y![i])));
    }
    if (worst > 1e-3) throw new Error(`${run.op} "${run.form}" disagrees with "${first.form}"`);
    console.log(`  ${run.op.padEnd(12)} ${median(run.ms).toFixed(1).padStart(7)}  ${run.form}`);
    await run.session.release();
  }
}
