/**
 * The candidate ONNX lowerings of the convolution gradients timed in onnxruntime-node (CPU
 * provider, 2 intra-op threads), one graph per candidate, rounds interleaved so a noisy machine
 * slows all alike; prints the median ms of each and checks the candidates agree. The kept forms
 * and the numbers are in docs/perf-notes.md.
 * `deno run -A bench/onnx_lowerings.ts [--rounds 7] [--shapes 16-64-64-32-3,8-32-32-32-3]`
 * (N-Cin-Cout-H-k).
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
} from "../src/onnx/lower_grad.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { type OnnxSession, openSession } from "../src/onnx/runtime.ts";
import { median } from "./stats.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    shapes: { type: "string", default: "16-64-64-32-3,8-32-32-32-3,8-64-64-16-3,8-64-192-8-1" },
  },
});

/** im2col with a batched MatMul and a sum over the batch (the Gemm form's layout alternative). */
function weightGradBatched(b: OnnxBackend, x: Tensor, dy: Tensor, k: number): Tensor {
  const g = b.graph;
  const [n, cin, h, w] = x.shape;
  const cout = dy.shape[1];
  const taps = cin * k * k;
  const p = (k - 1) / 2;
  const onehot = new Float32Array(taps * k * k);
  for (let o = 0; o < taps; o++) onehot[o * k * k + (o % (k * k))] = 1;
  const cols = k === 1 ? x : b.node("Conv", [x, g.float(onehot, [taps, 1, k, k])], [
    n,
    taps,
    h,
    w,
  ], { kernel_shape: [k, k], pads: [p, p, p, p], group: cin });
  const c3 = b.node("Reshape", [cols, g.int64([0, taps, -1])], [n, taps, h * w]);
  const d3 = b.node("Reshape", [dy, g.int64([0, cout, -1])], [n, cout, h * w]);
  const ct = b.node("Transpose", [c3], [n, h * w, taps], { perm: [0, 2, 1] });
  const prod = b.node("MatMul", [d3, ct], [n, cout, taps]);
  const s = b.node("ReduceSum", [prod, g.int64([0])], [cout, taps], { keepdims: 0 });
  return b.node("Reshape", [s, g.int64([cout, cin, k, k])], [cout, cin, k, k]);
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
    "im2col: depthwise one-hot Conv + Gemm",
    (b, x, dy, _w, k) => conv2dWeightGradOnnx(b, x, dy, k),
  ],
  [
    "weight grad",
    "im2col: depthwise one-hot Conv + batched MatMul + ReduceSum",
    (b, x, dy, _w, k) => weightGradBatched(b, x, dy, k),
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
  const runs: { op: string; form: string; session: OnnxSession; ms: number[]; y?: Float32Array }[] =
    [];
  for (const [op, form, build] of CANDIDATES) {
    const b = new OnnxBackend();
    const [x, dy, w] = (["x", "dy", "w"] as const).map((v) => b.input(v, shapes[v]));
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
