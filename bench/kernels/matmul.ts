/**
 * matmul benchmark: the buffer kernel against the texture kernel (engine.preferTextures
 * off/on) at the bench shape and the shapes the fmnist-inpaint U-Net's attention and linear
 * layers use (forward and backward products), rounds interleaved so a noisy machine slows both
 * alike; prints the median GFLOP/s of each, per wall and per CPU second, and checks both paths
 * agree. `deno run -A bench/kernels/matmul.ts [--rounds 5] [--min-ms 300]
 * [--shapes bench,unet,odd,1-1000-1000-1000-nn] [--tiles 8x4,8x8]` (groups, or
 * B-M-N-K-{n|t}{n|t}; several tiles are timed interleaved, the first one against buffers).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { gpuBuffer } from "../../gpu/backend.ts";
import { matmulGpu } from "../../gpu/kernels/matmul.ts";
import { matmulTexture } from "../../gpu/kernels/lavapipe/matmul_texture.ts";
import { webgpuBackend } from "../../src/core/select_backend.ts";
import { planMatmul } from "../../src/layout/matmul_layout.ts";
import { Rng } from "../../src/core/rng.ts";
import { median } from "../stats.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    "min-ms": { type: "string", default: "300" },
    shapes: { type: "string", default: "bench,unet" },
    tiles: { type: "string", default: "8x4" },
  },
});

/** [label group, batch, M, N, K, transA, transB, what]. */
type Shape = [string, number, number, number, number, boolean, boolean, string];
const SHAPES: Shape[] = [
  ["bench", 1, 1024, 1024, 1024, false, false, "bench"],
  ["unet", 32, 64, 64, 64, true, false, "attn qᵀk"],
  ["unet", 32, 64, 64, 64, false, true, "attn v·wᵀ"],
  ["unet", 32, 64, 64, 64, false, false, "attn grad"],
  ["unet", 32, 64, 64, 64, true, false, "attn grad"],
  ["unet", 1, 32, 128, 128, false, true, "linear x·wᵀ"],
  ["unet", 1, 32, 128, 128, false, false, "linear dx"],
  ["unet", 1, 128, 128, 32, true, false, "linear dw"],
  ["odd", 3, 33, 65, 17, false, false, "padded"],
  ["odd", 3, 33, 65, 17, true, true, "padded"],
];
for (const s of (args.shapes as string).split(",")) {
  const m = s.match(/^(\d+)-(\d+)-(\d+)-(\d+)-([nt])([nt])$/);
  if (m) SHAPES.push([s, +m[1], +m[2], +m[3], +m[4], m[5] === "t", m[6] === "t", "custom"]);
}

const gpu = await webgpuBackend();
if (!gpu) throw new Error("no WebGPU adapter");
const engine = gpu.engine;
const rounds = Number(args.rounds);
const minMs = Number(args["min-ms"]);
const groups = (args.shapes as string).split(",");
const tiles = (args.tiles as string).split(",").map((t) => {
  const [tm, tn] = t.split("x").map(Number);
  return { tm, tn };
});
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
for (const [group, B, M, N, K, tA, tB, what] of SHAPES) {
  if (!groups.includes(group)) continue;
  const sa = [B, ...(tA ? [K, M] : [M, K])];
  const sb = [B, ...(tB ? [N, K] : [K, N])];
  const { layout } = planMatmul(sa, sb, tA, tB);
  const flops = 2 * B * M * N * K;
  const a = gpu.fromArray(rng.normals(B * M * K), sa);
  const b = gpu.fromArray(rng.normals(B * K * N), sb);
  const c = gpu.empty([B, M, N]);
  const label = "bench matmul";
  const runs = [
    () => matmulGpu(engine, label, gpuBuffer(a), gpuBuffer(b), gpuBuffer(c), layout),
    ...tiles.map((tile) => () =>
      matmulTexture(engine, label, gpuBuffer(a), gpuBuffer(b), gpuBuffer(c), layout, tile)
    ),
  ];
  engine.preferTextures = false;
  // Agreement and warm-up (pipelines compiled) before timing.
  const results: Float32Array[] = [];
  const reps: number[] = [];
  for (const run of runs) {
    await timeIt(run, 1);
    results.push(await c.toArray() as Float32Array);
    // Enough reps that the ~11 ms sync round trip is a small part of each measurement.
    const [once] = await timeIt(run, 2);
    reps.push(Math.max(2, Math.min(200, Math.round(minMs / once))));
  }
  let err = 0;
  let scale = 0;
  for (const r of results.slice(1)) {
    for (let i = 0; i < results[0].length; i++) {
      err = Math.max(err, Math.abs(results[0][i] - r[i]));
      scale = Math.max(scale, Math.abs(results[0][i]));
    }
  }
  const wall: number[][] = runs.map(() => []);
  const cpu: number[][] = runs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < runs.length; k++) {
      const [ms, cpuMs] = await timeIt(runs[k], reps[k]);
      wall[k].push(ms);
      cpu[k].push(cpuMs);
    }
  }
  const [wb, wt] = wall.map(median);
  const [cb, ct] = cpu.map(median);
  const gf = (ms: number) => (flops / ms / 1e6).toFixed(1);
  const line = `| ${B}×${M}×${N}×${K} ${tA ? "t" : "n"}${tB ? "t" : "n"} (${what}) | ` +
    `${wb.toFixed(2)} | ${gf(wb)} | ${wt.toFixed(2)} | ${gf(wt)} | ${(wb / wt).toFixed(1)}× | ` +
    `${gf(cb)} | ${gf(ct)} | ${(cb / ct).toFixed(1)}× | ${(err / scale).toExponential(1)} |`;
  console.log(line);
  if (tiles.length > 1) {
    console.log(
      "  GFLOP/cpu-s by tile: " +
        tiles.map((t, k) => `${t.tm}x${t.tn} ${gf(median(cpu[k + 1]))}`).join(", "),
    );
  }
  rows.push(line);
  for (const t of [a, b, c]) t.dispose();
}
console.log(
  "\n| B×M×N×K (trans) | buffer ms | GFLOP/s | texture ms | GFLOP/s | speed-up | " +
    "buffer GFLOP/cpu-s | texture GFLOP/cpu-s | CPU speed-up | max |Δ|/max |",
);
console.log("|" + " --- |".repeat(10));
for (const r of rows) console.log(r);
