/**
 * conv2d benchmark: the buffer kernels against the texture kernels (engine.preferTextures
 * off/on) at the bench shapes and the U-Net's shapes, rounds interleaved so a noisy machine
 * slows both alike; prints the median GFLOP/s of each and checks both paths agree.
 * `deno run -A bench/kernels/conv.ts [--rounds 5] [--min-ms 300] [--only fwd,dgrad,wgrad]
 * [--shapes bench,unet,8-64-64-16-3]` (groups, or N-Cin-Cout-H-k).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { gpuBuffer } from "../../gpu/backend.ts";
import { conv2dGpu, conv2dInputGradGpu, conv2dWeightGradGpu } from "../../gpu/kernels/conv2d.ts";
import { webgpuBackend } from "../../src/core/select_backend.ts";
import { Rng } from "../../src/core/rng.ts";
import type { Tensor } from "../../src/core/tensor.ts";
import { median } from "../stats.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    "min-ms": { type: "string", default: "300" },
    only: { type: "string", default: "fwd,dgrad,wgrad" },
    shapes: { type: "string", default: "bench,unet" },
  },
});

/** [label group, N, Cin, Cout, H(=W), k]. */
const SHAPES: [string, number, number, number, number, number][] = [
  ["bench", 16, 64, 64, 32, 3],
  ["bench", 16, 128, 128, 16, 3],
  ["unet", 8, 32, 32, 32, 3],
  ["unet", 8, 64, 64, 16, 3],
  ["unet", 8, 64, 64, 8, 3],
  ["unet", 8, 2, 32, 32, 3],
  ["unet", 8, 32, 1, 32, 3],
  ["unet", 8, 64, 192, 8, 1],
];

const gpu = await webgpuBackend();
if (!gpu) throw new Error("no WebGPU adapter");
const engine = gpu.engine;
const rounds = Number(args.rounds);
const minMs = Number(args["min-ms"]);
const ops = (args.only as string).split(",");
const groups = (args.shapes as string).split(",");
console.log(`${gpu.name}; preferTextures by default: ${engine.preferTextures}`);

/**
 * Mean wall and process-CPU ms of `reps` back-to-back records of `run`, one sync at the end.
 * llvmpipe runs kernels on this process's threads, so CPU time counts the work done whatever
 * else competes for the cores; on an idle machine wall ≈ CPU / cores.
 */
async function timeIt(run: () => void, reps: number): Promise<[number, number]> {
  await gpu!.sync();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) run();
  await gpu!.sync();
  const c = process.cpuUsage(c0);
  return [(performance.now() - t0) / reps, (c.user + c.system) / 1000 / reps];
}

const rng = new Rng(3);
const rows: string[] = [];
for (const [group, n, cin, cout, h, k] of SHAPES) {
  if (!groups.includes(group) && !groups.includes(`${n}-${cin}-${cout}-${h}-${k}`)) continue;
  const d = { n, cin, cout, h, w: h, k };
  const flops = 2 * n * cin * cout * k * k * h * h;
  const make = (shape: number[]): Tensor =>
    gpu.fromArray(rng.normals(shape.reduce((a, b) => a * b, 1)), shape);
  const x = make([n, cin, h, h]);
  const w = make([cout, cin, k, k]);
  const b = make([cout]);
  const dy = make([n, cout, h, h]);
  const y = gpu.empty([n, cout, h, h]);
  const dx = gpu.empty([n, cin, h, h]);
  const dw = gpu.empty([cout, cin, k, k]);
  const runs: Record<string, [() => void, Tensor]> = {
    fwd: [() => conv2dGpu(engine, gpuBuffer(x), gpuBuffer(w), gpuBuffer(b), gpuBuffer(y), d), y],
    dgrad: [() => conv2dInputGradGpu(engine, gpuBuffer(dy), gpuBuffer(w), gpuBuffer(dx), d), dx],
    wgrad: [
      () => conv2dWeightGradGpu(engine, gpuBuffer(x), gpuBuffer(dy), gpuBuffer(dw), null, d),
      dw,
    ],
  };
  for (const op of ops) {
    const [run, out] = runs[op];
    // Agreement and warm-up (pipelines compiled) before timing.
    const results: Float32Array[] = [];
    const reps: number[] = [];
    for (const tex of [false, true]) {
      engine.preferTextures = tex;
      await timeIt(run, 1); // compiles the pipelines
      results.push(await out.toArray() as Float32Array);
      // Enough reps that the ~11 ms sync round trip is a small part of each measurement.
      const [once] = await timeIt(run, 2);
      reps.push(Math.max(2, Math.min(100, Math.round(minMs / once))));
    }
    let err = 0;
    let scale = 0;
    for (let i = 0; i < results[0].length; i++) {
      err = Math.max(err, Math.abs(results[0][i] - results[1][i]));
      scale = Math.max(scale, Math.abs(results[0][i]));
    }
    const wall: [number[], number[]] = [[], []];
    const cpu: [number[], number[]] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const tex of [false, true]) {
        engine.preferTextures = tex;
        const [ms, cpuMs] = await timeIt(run, reps[tex ? 1 : 0]);
        wall[tex ? 1 : 0].push(ms);
        cpu[tex ? 1 : 0].push(cpuMs);
      }
    }
    const [wb, wt] = wall.map(median);
    const [cb, ct] = cpu.map(median);
    const g = (ms: number) => (flops / ms / 1e6).toFixed(1);
    const line = `| ${op} ${n}×${cin}→${cout}×${h}² k${k} | ${wb.toFixed(2)} | ${g(wb)} | ` +
      `${wt.toFixed(2)} | ${g(wt)} | ${(wb / wt).toFixed(2)}× | ${g(cb)} | ${g(ct)} | ` +
      `${(cb / ct).toFixed(2)}× | ${(err / scale).toExponential(1)} |`;
    console.log(line);
    rows.push(line);
  }
  for (const t of [x, w, b, dy, y, dx, dw]) t.dispose();
}
console.log(
  "\n| conv | buffer ms | buffer GFLOP/s | texture ms | texture GFLOP/s | speed-up | " +
    "buffer GFLOP/cpu-s | texture GFLOP/cpu-s | CPU speed-up | max |Δ|/max|y| |",
);
console.log("|" + " --- |".repeat(10));
for (const r of rows) console.log(r);
