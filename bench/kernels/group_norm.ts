/**
 * GroupNorm benchmark: the buffer kernels against the texture kernels (engine.preferTextures
 * off/on), forward and backward, at the bench shapes and the U-Net's shapes, rounds
 * interleaved so a noisy machine slows both alike; prints the median ms and GB/s (minimum
 * bytes: x read and y written; x, gy read and dx written) of each, per wall and per CPU
 * second, and checks both paths agree. `deno run -A bench/kernels/group_norm.ts [--rounds 5]
 * [--min-ms 300] [--only fwd,bwd] [--shapes bench,unet,8-32-32-8]` (groups, or N-C-H-G).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { gpuBuffer } from "../../gpu/backend.ts";
import { groupNormBackwardGpu, groupNormGpu } from "../../gpu/kernels/group_norm.ts";
import { webgpuBackend } from "../../src/core/select_backend.ts";
import { Rng } from "../../src/core/rng.ts";
import type { Tensor } from "../../src/core/tensor.ts";
import { median } from "../stats.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    "min-ms": { type: "string", default: "300" },
    only: { type: "string", default: "fwd,bwd" },
    shapes: { type: "string", default: "bench,unet" },
  },
});

/** [label group, N, C, H(=W), G]. */
const SHAPES: [string, number, number, number, number][] = [
  ["bench", 16, 64, 32, 32],
  ["bench", 16, 128, 16, 32],
  ["unet", 8, 32, 32, 8],
  ["unet", 8, 96, 32, 24],
  ["unet", 8, 64, 16, 16],
  ["unet", 8, 64, 8, 16],
  ["unet", 8, 128, 8, 32],
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
for (const [group, N, C, H, G] of SHAPES) {
  if (!groups.includes(group) && !groups.includes(`${N}-${C}-${H}-${G}`)) continue;
  const d = { N, C, HW: H * H, G };
  const n = N * C * H * H;
  const make = (shape: number[], mean = 0): Tensor =>
    gpu.fromArray(rng.normals(shape.reduce((a, b) => a * b, 1)).map((v) => v + mean), shape);
  const x = make([N, C, H, H], 0.5);
  const gamma = make([C], 1);
  const beta = make([C]);
  const gy = make([N, C, H, H]);
  const y = gpu.empty([N, C, H, H]);
  const stats = gpu.empty([N, G, 2]);
  const dx = gpu.empty([N, C, H, H]);
  const dgamma = gpu.empty([C]);
  const dbeta = gpu.empty([C]);
  const fwd = () =>
    groupNormGpu(engine, d, 1e-6, {
      x: gpuBuffer(x),
      gamma: gpuBuffer(gamma),
      beta: gpuBuffer(beta),
      mod: null,
      y: gpuBuffer(y),
      stats: gpuBuffer(stats),
    });
  const bwd = () =>
    groupNormBackwardGpu(engine, d, {
      x: gpuBuffer(x),
      gamma: gpuBuffer(gamma),
      beta: gpuBuffer(beta),
      scale: null,
      stats: gpuBuffer(stats),
      gy: gpuBuffer(gy),
      dx: gpuBuffer(dx),
      dgamma: gpuBuffer(dgamma),
      dbeta: gpuBuffer(dbeta),
      dmod: null,
    });
  // The backward reads the forward's stats: run the forward once on the buffer path.
  engine.preferTextures = false;
  fwd();
  const runs: Record<string, [() => void, Tensor[], number]> = {
    fwd: [fwd, [y, stats], 2 * n],
    bwd: [bwd, [dx, dgamma, dbeta], 3 * n],
  };
  for (const op of ops) {
    const [run, outs, floats] = runs[op];
    // Agreement and warm-up (pipelines compiled) before timing.
    const results: Float32Array[][] = [];
    const reps: number[] = [];
    for (const tex of [false, true]) {
      engine.preferTextures = tex;
      await timeIt(run, 1);
      results.push(await Promise.all(outs.map((t) => t.toArray() as Promise<Float32Array>)));
      // Enough reps that the ~11 ms sync round trip is a small part of each measurement.
      const [once] = await timeIt(run, 2);
      reps.push(Math.max(2, Math.min(200, Math.round(minMs / once))));
    }
    let err = 0;
    results[0].forEach((a, k) => {
      let scale = 0;
      let e = 0;
      for (let i = 0; i < a.length; i++) {
        e = Math.max(e, Math.abs(a[i] - results[1][k][i]));
        scale = Math.max(scale, Math.abs(a[i]));
      }
      err = Math.max(err, e / scale);
    });
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
    const gb = (ms: number) => ((4 * floats) / ms / 1e6).toFixed(2);
    const line = `| ${op} ${N}×${C}×${H}² G${G} | ${wb.toFixed(2)} | ${gb(wb)} | ` +
      `${wt.toFixed(2)} | ${gb(wt)} | ${(wb / wt).toFixed(1)}× | ${cb.toFixed(2)} | ` +
      `${ct.toFixed(2)} | ${(cb / ct).toFixed(1)}× | ${err.toExponential(1)} |`;
    console.log(line);
    rows.push(line);
  }
  engine.preferTextures = false;
  for (const t of [x, gamma, beta, gy, y, stats, dx, dgamma, dbeta]) t.dispose();
}
console.log(
  "\n| op | buffer ms | buffer GB/s | texture ms | texture GB/s | speed-up | " +
    "buffer cpu-ms | texture cpu-ms | CPU speed-up | max |Δ|/max |",
);
console.log("|" + " --- |".repeat(10));
for (const r of rows) console.log(r);
