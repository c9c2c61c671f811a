/**
 * The candidate ONNX lowerings of the convolution gradients and the FFT timed in
 * onnxruntime-node (CPU provider, 2 intra-op threads), one graph per candidate, rounds
 * interleaved so a noisy machine slows all alike; prints the fastest and median wall time and
 * the median CPU time (all threads: robust to other processes on the machine) of each, and
 * checks the candidates agree. The kept forms and the numbers are in docs/perf-notes.md.
 * `deno run -A bench/onnx_lowerings.ts [--rounds 7] [--const-w] [--shapes 16-64-64-32-3,…]
 * [--fft 8-128-112,…]` (conv: N-Cin-Cout-H-k, --const-w: the weight as an initializer, as in a
 * sampling graph; fft: images-H-W of planar complex [images, 2, H, W]; "" skips a group).
 */
import process from "node:process";
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
import { fft2Onnx } from "../src/onnx/lower_fft.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { type OnnxSession, openSession } from "../src/onnx/runtime.ts";
import { median } from "./stats.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    "const-w": { type: "boolean", default: false },
    shapes: { type: "string", default: "16-64-64-32-3,8-32-32-32-3,8-64-64-16-3,8-64-192-8-1" },
    fft: { type: "string", default: "8-128-112,2-384-384" },
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

/** im2col then MatMul(dy, columnsᵀ) per image: the k² times larger operand transposed. */
function weightGradColumnsT(b: OnnxBackend, x: Tensor, dy: Tensor, k: number): Tensor {
  const g = b.graph;
  const [n, cin, h, w] = x.shape;
  const cout = dy.shape[1];
  const taps = cin * k * k;
  const cols = b.node("Reshape", [im2colOnnx(b, x, k), g.int64([0, taps, -1])], [n, taps, h * w]);
  const d3 = b.node("Reshape", [dy, g.int64([0, cout, -1])], [n, cout, h * w]);
  const ct = b.node("Transpose", [cols], [n, h * w, taps], { perm: [0, 2, 1] });
  const per = b.node("MatMul", [d3, ct], [n, cout, taps]);
  const s = b.node("ReduceSum", [per, g.int64([0])], [cout, taps], { keepdims: 0 });
  return b.node("Reshape", [s, g.int64([cout, cin, k, k])], [cout, cin, k, k]);
}

/** The ONNX DFT op (opset 17) along H then W of [n, H, W, 2], orthonormal, not centred. */
function fftByDftOp(b: OnnxBackend, x: Tensor): Tensor {
  const [n, , h, w] = x.shape;
  let y = b.node("Transpose", [x], [n, h, w, 2], { perm: [0, 2, 3, 1] });
  for (const axis of [1, 2]) y = b.node("DFT", [y], [n, h, w, 2], { axis });
  y = b.node("Mul", [y, b.graph.float([1 / Math.sqrt(h * w)], [])], [n, h, w, 2]);
  return b.node("Transpose", [y], [n, 2, h, w], { perm: [0, 3, 1, 2] });
}

/** One candidate: the primitive, its form, and the graph that computes it from the inputs. */
interface Candidate {
  op: string;
  form: string;
  build: (b: OnnxBackend, input: (name: string) => Tensor) => Tensor;
}

const rounds = Number(args.rounds);

/** Times every candidate on the same feeds, rounds interleaved; prints medians, checks agreement. */
async function timeCandidates(
  title: string,
  feeds: Record<string, [Float32Array, number[]]>,
  candidates: Candidate[],
): Promise<void> {
  const runs: {
    c: Candidate;
    session: OnnxSession;
    ms: number[];
    cpu: number[];
    y?: Float32Array;
  }[] = [];
  for (const c of candidates) {
    const b = new OnnxBackend();
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([name, [, shape]]) => [name, b.input(name, shape)]),
    );
    b.output("y", c.build(b, (name) => inputs[name]));
    const session = await openSession(encodeModel(b.graph.spec()), 2);
    await session.run(feeds); // warm-up: ORT plans its kernels on the first run
    runs.push({ c, session, ms: [], cpu: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const run of runs) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const out = await run.session.run(feeds);
      const c1 = process.cpuUsage(c0);
      run.ms.push(performance.now() - t0);
      run.cpu.push((c1.user + c1.system) / 1000);
      run.y = out.y;
    }
  }
  console.log(`${title} (${rounds} rounds; ms: fastest wall, median wall, median CPU):`);
  for (const run of runs) {
    const first = runs.find((o) => o.c.op === run.c.op)!;
    let worst = 0;
    for (let i = 0; i < run.y!.length; i++) {
      worst = Math.max(worst, Math.abs(run.y![i] - first.y![i]) / (1 + Math.abs(first.y![i])));
    }
    if (worst > 1e-3) {
      throw new Error(`${run.c.op} "${run.c.form}" disagrees with "${first.c.form}"`);
    }
    const cols = [Math.min(...run.ms), median(run.ms), median(run.cpu)]
      .map((v) => v.toFixed(1).padStart(7)).join(" ");
    console.log(`  ${run.c.op.padEnd(12)} ${cols}  ${run.c.form}`);
    await run.session.release();
  }
}

function normals(rng: Rng, shape: number[]): [Float32Array, number[]] {
  return [
    Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, () => rng.normal()),
    shape,
  ];
}

for (const spec of args.shapes.split(",").filter((s) => s)) {
  const [n, cin, cout, h, k] = spec.split("-").map(Number);
  const rng = new Rng(1);
  const feeds = { x: normals(rng, [n, cin, h, h]), dy: normals(rng, [n, cout, h, h]) };
  const w = normals(rng, [cout, cin, k, k]);
  const constW = args["const-w"];
  // Sampling graphs hold the weights as initializers (ORT pre-packs them); training feeds them.
  const weight = (b: OnnxBackend, input: (name: string) => Tensor) =>
    constW ? b.constant(w[0], w[1]) : input("w");
  const candidates: Candidate[] = [
    { op: "forward", form: "Conv", build: (b, i) => conv2dOnnx(b, i("x"), weight(b, i), null) },
    {
      op: "input grad",
      form: "Conv, flipped in/out-swapped weight",
      build: (b, i) => conv2dInputGradOnnx(b, i("dy"), weight(b, i)),
    },
    {
      op: "input grad",
      form: "ConvTranspose",
      build: (b, i) => conv2dInputGradTransposeOnnx(b, i("dy"), weight(b, i)),
    },
    {
      op: "weight grad",
      form: "im2col: depthwise one-hot Conv + batched MatMul(columns, dyᵀ) + ReduceSum",
      build: (b, i) => conv2dWeightGradOnnx(b, i("x"), i("dy"), k),
    },
    {
      op: "weight grad",
      form: "im2col: depthwise one-hot Conv + batched MatMul(dy, columnsᵀ) + ReduceSum",
      build: (b, i) => weightGradColumnsT(b, i("x"), i("dy"), k),
    },
    {
      op: "weight grad",
      form: "im2col: depthwise one-hot Conv + one Gemm, batch inside",
      build: (b, i) => weightGradGemm(b, i("x"), i("dy"), k),
    },
    {
      op: "weight grad",
      form: "Conv over transposed operands",
      build: (b, i) => conv2dWeightGradTransposedOnnx(b, i("x"), i("dy"), k),
    },
  ];
  await timeCandidates(
    `N ${n}, Cin ${cin}, Cout ${cout}, ${h}×${h}, k ${k}${constW ? ", constant w" : ""}`,
    constW ? feeds : { ...feeds, w },
    candidates,
  );
}

for (const spec of args.fft.split(",").filter((s) => s)) {
  const [n, h, w] = spec.split("-").map(Number);
  await timeCandidates(
    `fft2 of [${n}, 2, ${h}, ${w}], not centred`,
    { x: normals(new Rng(2), [n, 2, h, w]) },
    [
      {
        op: "fft2",
        form: "two MatMuls by DFT block matrices",
        build: (b, i) => fft2Onnx(b, i("x"), false, false),
      },
      { op: "fft2", form: "ONNX DFT op along H and W", build: (b, i) => fftByDftOp(b, i("x")) },
    ],
  );
}
