/**
 * Benchmarks on WebGPU, on the CPU twin, and on PyTorch CPU (where python3-torch exists) in
 * the same run (the network steps on ONNX Runtime too), with the ratio PyTorch ms / our ms (above 1: we are faster), written to
 * BENCHMARKS.md:
 *  - kernels: ms and GFLOP/s (or GB/s) of the hot ops (peer bench/peer/torch_ops.py);
 *  - network: images/s of one training step, one A-DPS step and one forward pass of the
 *    `train:fmnist-inpaint` network, WebGPU's peak memory and ONNX Runtime's peak RSS
 *    (bench/network.ts, peer bench/peer/torch_steps.py).
 *  - MRI: images/s of a k-space training step and seconds per A-DPS reconstruction of the
 *    `train:mri-r4` network at 64×56, with WebGPU's peak memory (bench/mri.ts).
 * `deno task bench [--only kernels|network|mri] [--no-cpu] [--no-peer] [--no-onnx]
 * [--backend onnx|onnx-cuda (the ONNX Runtime column's provider)] [--peer-device cpu|cuda]
 * [--min-ms 1000] [--batch 32] [--out BENCHMARKS.md] [--chart docs/bench-ratios]` (on a machine
 * with an NVIDIA GPU, `--peer-device cuda` times PyTorch on the same card; bench/device.sh runs
 * it there). The ratios are also drawn as a chart (bench/ratio_chart.ts) at `--chart`.svg/.png.
 */
import { dirname, relative } from "node:path";
import { parseArgs } from "node:util";
import { measureCeiling } from "../bench/ceiling.ts";
import { benchMri, MRI_HEADING } from "../bench/mri.ts";
import { benchNetwork, type NetworkReport, peerDescription } from "../bench/network.ts";
import { runPeer } from "../bench/python.ts";
import { benchRatios, writeBenchRatioChart } from "../bench/ratio_chart.ts";
import { replaceSection, section, SMOKE_HEADING } from "../bench/sections.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend, selectBackend, webgpuBackend } from "../src/core/select_backend.ts";
import "../src/onnx/ort_backend.ts"; // makes --backend onnx|onnx-cuda selectable
import { multiHeadAttention } from "../src/ops/attention.ts";
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from "../src/ops/conv2d.ts";
import { fft2 } from "../src/ops/fft.ts";
import { groupNorm } from "../src/ops/group_norm.ts";
import { matmul } from "../src/ops/matmul.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";

const { values: args } = parseArgs({
  options: {
    "no-cpu": { type: "boolean", default: false },
    "no-peer": { type: "boolean", default: false },
    "no-onnx": { type: "boolean", default: false },
    backend: { type: "string", default: "onnx" },
    "peer-device": { type: "string", default: "cpu" },
    out: { type: "string", default: "BENCHMARKS.md" },
    chart: { type: "string", default: "docs/bench-ratios" },
    "min-ms": { type: "string", default: "1000" },
    only: { type: "string" },
    batch: { type: "string", default: "32" },
  },
});
if (args.only !== undefined && !["kernels", "network", "mri"].includes(args.only)) {
  throw new Error(`--only ${args.only}: expected kernels, network or mri`);
}
if (args.backend !== "onnx" && args.backend !== "onnx-cuda") {
  throw new Error(`--backend ${args.backend}: the ONNX Runtime column takes onnx or onnx-cuda`);
}
if (args["peer-device"] !== "cpu" && args["peer-device"] !== "cuda") {
  throw new Error(`--peer-device ${args["peer-device"]}: expected cpu or cuda`);
}
if (!(Number.isInteger(Number(args.batch)) && Number(args.batch) >= 1)) {
  throw new Error(`--batch ${args.batch}: expected a positive integer`);
}
const runKernels = args.only === undefined || args.only === "kernels";
const runNetwork = args.only === undefined || args.only === "network";
const runMri = args.only === undefined || args.only === "mri";

/** One benchmark case: the same op and shapes on every engine. */
interface Case {
  name: string;
  /** Shape keys as the peer script takes them. */
  peer: { op: string; shape: Record<string, number> };
  /** Useful FLOPs (null: report GB/s). */
  flops: number | null;
  /** Minimum bytes moved (for GB/s). */
  bytes: number;
  /** Input shapes. */
  inputs: number[][];
  /** The op. */
  run: (...xs: Tensor[]) => Tensor;
}

function convCases(n: number, c: number, k: number, h: number): Case[] {
  const shape = { N: n, C: c, K: k, H: h, W: h, k: 3 };
  const flops = 2 * n * k * c * 9 * h * h;
  const tag = `${n}×${c}→${k}×${h}²`;
  const bytes = 4 * (n * c * h * h + k * c * 9 + n * k * h * h);
  return [
    {
      name: `conv2d fwd ${tag}`,
      peer: { op: "conv2d_fwd", shape },
      flops,
      bytes,
      inputs: [[n, c, h, h], [k, c, 3, 3], [k]],
      run: (x, w, b) => conv2d(x, w, b),
    },
    {
      name: `conv2d dgrad ${tag}`,
      peer: { op: "conv2d_dgrad", shape },
      flops,
      bytes,
      inputs: [[n, k, h, h], [k, c, 3, 3]],
      run: (dy, w) => conv2dInputGrad(dy, w),
    },
    {
      name: `conv2d wgrad ${tag}`,
      peer: { op: "conv2d_wgrad", shape },
      flops,
      bytes,
      inputs: [[n, c, h, h], [n, k, h, h]],
      run: (x, dy) => conv2dWeightGrad(x, dy, 3).dw,
    },
  ];
}

const CASES: Case[] = [
  ...convCases(16, 64, 64, 32),
  ...convCases(16, 128, 128, 16),
  {
    name: "matmul 1024³",
    peer: { op: "matmul", shape: { M: 1024, N: 1024, K: 1024 } },
    flops: 2 * 1024 ** 3,
    bytes: 3 * 4 * 1024 ** 2,
    inputs: [[1024, 1024], [1024, 1024]],
    run: (a, b) => matmul(a, b),
  },
  {
    name: "group_norm 16×64×32² G32",
    peer: { op: "group_norm", shape: { N: 16, C: 64, H: 32, W: 32, G: 32 } },
    flops: null,
    bytes: 4 * (2 * 16 * 64 * 32 * 32 + 2 * 64),
    inputs: [[16, 64, 32, 32], [64], [64]],
    run: (x, g, b) => groupNorm(x, 32, g, b),
  },
  ...[[32, 64, 8], [16, 256, 16]].map(([n, c, h]): Case => ({
    // The fmnist network's attention (64 channels at 8×8) and EDM's 64×64 nets' (256 at 16×16).
    name: `attention ${n}×${c}×${h}² 1 head`,
    peer: { op: "attention", shape: { N: n, C: c, H: h, W: h, heads: 1 } },
    flops: 4 * n * c * (h * h) ** 2,
    bytes: 4 * 4 * n * c * h * h,
    inputs: [[n, 3 * c, h, h]],
    run: (qkv) => multiHeadAttention(qkv, 1),
  })),
  ...[4, 32].map((n): Case => ({
    // One fastMRI brain slice with 4 (coil-compressed) coils, and 8 such slices.
    name: `fft2c ${n}×384×320 complex`,
    peer: { op: "fft2c", shape: { N: n, H: 384, W: 320 } },
    flops: 5 * n * 384 * 320 * Math.log2(384 * 320),
    bytes: 2 * 8 * n * 384 * 320,
    inputs: [[n, 2, 384, 320]],
    run: (x) => fft2(x),
  })),
];

/** Median-free timing: reps recorded back to back, one sync at the end (awaits cost ~11 ms). */
async function time(backend: Backend, c: Case, minMs: number, maxReps: number): Promise<number> {
  const rng = new Rng(1);
  const xs = c.inputs.map((s) => backend.fromArray(rng.normals(s.reduce((a, b) => a * b, 1)), s));
  const once = async (reps: number) => {
    await backend.sync();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) tidy(() => void c.run(...xs));
    await backend.sync();
    return (performance.now() - t0) / reps;
  };
  const first = await once(1);
  const reps = Math.max(1, Math.min(maxReps, Math.ceil(minMs / first)));
  // The first call compiles pipelines: time again wherever more than one call is allowed.
  const ms = maxReps > 1 ? await once(reps) : first;
  for (const x of xs) x.dispose();
  return ms;
}

interface PeerResult {
  ms: number;
  torch: string;
  threads: number;
  blas: string;
  device: string;
}

function peer(cases: Case[]): Promise<PeerResult[] | string> {
  return runPeer<PeerResult[]>("torch_ops.py", cases.map((c) => c.peer), args["peer-device"]);
}

const fmtMs = (ms: number | null) => (ms === null ? "–" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const rate = (c: Case, ms: number | null) =>
  ms === null
    ? "–"
    : c.flops !== null
    ? (c.flops / ms / 1e6).toFixed(1)
    : (c.bytes / ms / 1e6).toFixed(2);

const gpu = await webgpuBackend();
const minMs = Number(args["min-ms"]);

/** What `benchKernels` returns. */
interface KernelReport {
  /** Table lines. */
  lines: string[];
  /** The peer's description. */
  peerNote: string;
  /** PyTorch's GFLOP/s at matmul 1024³, where the peer ran. */
  peerMatmul: number | null;
}

/** Times the kernel cases everywhere; returns the table, the peer's description and matmul. */
async function benchKernels(): Promise<KernelReport> {
  console.log(`benchmarking ${CASES.length} kernel cases on ${gpu?.name ?? "no WebGPU adapter"}…`);
  const gpuMs: (number | null)[] = [];
  const cpuMs: (number | null)[] = [];
  for (const c of CASES) {
    gpuMs.push(gpu ? await time(gpu, c, minMs, 50) : null);
    cpuMs.push(args["no-cpu"] ? null : await time(cpuBackend(), c, 0, 1));
    console.log(
      `  ${c.name}: webgpu ${fmtMs(gpuMs.at(-1)!)} ms, cpu twin ${fmtMs(cpuMs.at(-1)!)} ms`,
    );
  }
  const peerRes = args["no-peer"] ? "skipped (--no-peer)" : await peer(CASES);
  const peerMs = typeof peerRes === "string" ? CASES.map(() => null) : peerRes.map((r) => r.ms);
  const header =
    "| op | unit | WebGPU ms | WebGPU rate | CPU twin ms | CPU twin rate | PyTorch ms | PyTorch rate | PyTorch/WebGPU | PyTorch/CPU twin |";
  const lines = [header, "|" + " --- |".repeat(10)];
  CASES.forEach((c, i) => {
    const ratio = (ours: number | null) =>
      ours === null || peerMs[i] === null ? "–" : `${(peerMs[i]! / ours).toFixed(2)}×`;
    lines.push(
      `| ${c.name} | ${c.flops !== null ? "GFLOP/s" : "GB/s"} | ${fmtMs(gpuMs[i])} | ${
        rate(c, gpuMs[i])
      } | ` +
        `${fmtMs(cpuMs[i])} | ${rate(c, cpuMs[i])} | ${fmtMs(peerMs[i])} | ${
          rate(c, peerMs[i])
        } | ` +
        `${ratio(gpuMs[i])} | ${ratio(cpuMs[i])} |`,
    );
  });
  const peerNote = typeof peerRes === "string"
    ? `PyTorch peer: not run (${peerRes}).`
    : `PyTorch ${peerRes[0].torch} ${peerDescription(peerRes[0])}` +
      (peerRes[0].device === "cpu" ? `, BLAS ${peerRes[0].blas}.` : ".");
  const mm = CASES.findIndex((c) => c.peer.op === "matmul");
  const peerMatmul = peerMs[mm] === null ? null : CASES[mm].flops! / peerMs[mm]! / 1e6;
  return { lines, peerNote, peerMatmul };
}

const kernels = runKernels ? await benchKernels() : null;
if (kernels && gpu) console.log(`measuring the FMA ceiling on ${gpu.name}…`);
const ceiling = kernels && gpu ? await measureCeiling(gpu.engine, minMs / 2) : null;
let network: NetworkReport | null = null;
if (runNetwork) {
  console.log(`benchmarking the fmnist-inpaint network on ${gpu?.name ?? "no WebGPU adapter"}…`);
  network = await benchNetwork({
    gpu,
    cpu: args["no-cpu"] ? null : cpuBackend(),
    onnx: args["no-onnx"] ? null : await selectBackend(args.backend),
    peer: !args["no-peer"],
    peerDevice: args["peer-device"] as string,
    minMs,
    batch: Number(args.batch),
  });
}

let mri: string[] | null = null;
if (runMri && gpu) {
  console.log(`benchmarking the MRI network on ${gpu.name}…`);
  mri = await benchMri(gpu, { minMs, batch: 8, slices: 8 });
  console.log("\n" + mri.join("\n"));
}
const previous = await Deno.readTextFile(args.out as string).catch(() => "");
if (args.only === "mri") {
  // Only the MRI section is measured: the rest of the file stays as it was.
  if (mri) {
    await Deno.writeTextFile(
      args.out as string,
      replaceSection(previous, MRI_HEADING, mri.join("\n")),
    );
  }
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", args.out as string] })
    .output();
  console.log(
    mri ? `\nwrote the MRI section of ${args.out}` : "no WebGPU adapter: nothing measured",
  );
  Deno.exit(0);
}

const cpuInfo = (await Deno.readTextFile("/proc/cpuinfo").catch(() => "")).match(
  /model name\s*:\s*(.*)/,
)?.[1];
const report = [
  "# Benchmarks",
  "",
  `Measured ${new Date().toISOString().slice(0, 10)} with \`deno task bench\` on ${
    cpuInfo ?? "unknown CPU"
  } ` +
  `(${navigator.hardwareConcurrency} cores); WebGPU: ${
    gpu?.name ?? "none"
  }; Deno ${Deno.version.deno}.`,
  "Ratios are PyTorch ms / our ms in the same run: above 1 means we are faster.",
  "Earlier numbers and what changed them: docs/perf-notes.md.",
  "",
];
if (kernels) {
  report.push(
    "## Kernels",
    "",
    kernels.peerNote,
    "GFLOP/s count 2·MACs of the direct algorithm; GB/s count the minimum bytes read and written.",
    "WebGPU times are the mean of back-to-back dispatches with one GPU sync at the end; the CPU",
    "twin is one call.",
    "PyTorch's convolutions run on oneDNN, which after warm-up can exceed the direct algorithm's",
    "FMA peak of this machine (it counts fewer multiplies, e.g. Winograd): its rates are nominal.",
    "So are ours at 64 channels and more on lavapipe, where the 3×3 convolutions run as Winograd",
    "F(4×4, 3×3) (4× fewer multiplies).",
    "FFT rates count the nominal 5·n·log2(n) FLOPs of a complex FFT of n = H·W points (both",
    "sides centred and orthonormal: fastMRI's fft2c); ours are planar [N, 2, H, W] f32, PyTorch's",
    "complex64.",
    "",
    ...kernels.lines,
    "",
  );
  console.log("\n" + kernels.lines.join("\n"));
}
if (network) {
  report.push("## Network steps", "", ...network.notes, "", ...network.lines, "");
  console.log("\n" + network.lines.join("\n"));
}
if (ceiling) {
  const peer = [
    kernels?.peerMatmul ? `matmul 1024³ at ${kernels.peerMatmul.toFixed(1)} GFLOP/s` : null,
    ...[...(network?.peerGflops ?? [])].map(([k, r]) =>
      `its ${k} at ${r.wall.toFixed(1)}` +
      (args["peer-device"] === "cpu" ? ` (${r.cpu.toFixed(1)} per CPU-s)` : "")
    ),
  ].filter((x) => x !== null);
  const lines = [
    "| kernel | GFLOP/s | GFLOP/cpu-s |",
    "| --- | --- | --- |",
    ...ceiling.map((r) =>
      `| ${r.c.name} | ${r.gflops.toFixed(1)} | ${r.gflopsPerCpuS.toFixed(1)} |`
    ),
  ];
  report.push(
    "## The FMA ceiling of WGSL here",
    "",
    "Kernels of nothing but independent FMA chains (bench/ceiling.ts), with and without one",
    "rgba32float texel load per group of FMAs; medians of 3 interleaved rounds, FLOPs per wall",
    "second and per second of process CPU time. No kernel does more real FLOPs a second than",
    "the first row (Winograd's rates above count the direct algorithm's FLOPs); the others are",
    "what a register tile of that size allows at best, with nothing else to do.",
    peer.length
      ? `PyTorch in this run: ${peer.join(", ")} (nominal GFLOP/s: Network steps).`
      : "PyTorch peer: not run.",
    "",
    ...lines,
    "",
  );
  console.log("\n" + lines.join("\n"));
}
// The MRI rows as measured now, or as a run with --only mri left them.
const mriSection = mri ? mri.join("\n") : section(previous, MRI_HEADING);
if (mriSection) report.push(...mriSection.replace(/\n+$/, "").split("\n"), "");
// The chart of the ratios, linked under the header, where the peer ran beside us.
const chartOf = benchRatios(report.join("\n")).length > 0;
if (chartOf) {
  const svg = relative(dirname(args.out as string), `${args.chart}.svg`);
  const after = report.findIndex((l) => l.startsWith("Earlier numbers")) + 1;
  report.splice(after, 0, `Chart of the ratios: [${svg}](${svg}).`);
}
// The smoke run's section is measured by `deno task smoke:paper`, not here: keep it.
const kept = section(previous, SMOKE_HEADING);
await Deno.writeTextFile(args.out as string, report.join("\n") + (kept ? `\n${kept}` : ""));
// Aligned tables, so that the committed file passes `deno fmt --check`.
await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", args.out as string] }).output();
if (chartOf) await writeBenchRatioChart(args.out as string, args.chart as string);
console.log(`\nwrote ${args.out}${chartOf ? ` and ${args.chart}.svg, .png, .vl.json` : ""}`);
