/**
 * Winograd F(4×4, 3×3) (gpu/kernels/conv2d_winograd.ts) against the direct texture gather
 * (conv2d_texture.ts) for 3×3 forward and input-gradient gathers, interleaved rounds in one
 * process, CPU ms a call (llvmpipe runs kernels on this process's threads), both paths'
 * outputs compared; marks the shapes where `winogradPays` picks Winograd, so the rule can be
 * checked against the measurement. docs/perf-notes.md has the numbers behind that rule.
 * `deno run -A scripts/bench_winograd.ts [--rounds 5] [--shapes 16-64-64-32,32-32-32-32]`
 * (N-Cin-Cout-H).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { gpuBuffer } from "../gpu/backend.ts";
import { gatherTexture } from "../gpu/kernels/conv2d_texture.ts";
import { winogradFits, winogradPays, winogradTexture } from "../gpu/kernels/conv2d_winograd.ts";
import { webgpuBackend } from "../src/backends.ts";
import { Rng } from "../src/rng.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    shapes: {
      type: "string",
      default: "16-64-64-32,16-128-128-16,32-32-32-32,32-64-64-16,32-64-64-8,32-128-64-16," +
        "8-128-128-32,8-256-256-16",
    },
  },
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const gpu = await webgpuBackend();
if (!gpu) throw new Error("no WebGPU adapter");
const engine = gpu.engine;
const rounds = Number(args.rounds);
const rng = new Rng(1);
console.log(`${gpu.name}; CPU ms a call, medians of ${rounds} interleaved rounds\n`);
console.log("| gather N×Cin→Cout×H² | direct | Winograd | speed-up | picked | max |Δ|/max |");
console.log("|" + " --- |".repeat(6));
for (const spec of (args.shapes as string).split(",")) {
  const [n, cin, cout, h] = spec.split("-").map(Number);
  for (const flip of [false, true]) {
    // The input gradient gathers dy's cout channels into cin.
    const s = { n, i: flip ? cout : cin, o: flip ? cin : cout, h, w: h, k: 3 };
    if (!winogradFits(engine, s)) throw new Error(`${spec}: not a Winograd shape here`);
    const x = gpu.fromArray(rng.normals(n * s.i * h * h), [n, s.i, h, h]);
    const w = gpu.fromArray(rng.normals(cout * cin * 9).map((v) => v * 0.1), [cout, cin, 3, 3]);
    const b = flip ? null : gpu.fromArray(rng.normals(cout), [cout]);
    const ys = [gpu.empty([n, s.o, h, h]), gpu.empty([n, s.o, h, h])];
    const [xb, wb, bb] = [gpuBuffer(x), gpuBuffer(w), b && gpuBuffer(b)];
    const runs = [
      () => gatherTexture(engine, "direct", xb, wb, bb, gpuBuffer(ys[0]), s, flip),
      () => winogradTexture(engine, "winograd", xb, wb, bb, gpuBuffer(ys[1]), s, flip),
    ];
    for (const run of runs) run();
    const [a0, a1] = [await ys[0].toArray(), await ys[1].toArray()];
    let [err, scale] = [0, 0];
    for (let i = 0; i < a0.length; i++) {
      err = Math.max(err, Math.abs(a0[i] - a1[i]));
      scale = Math.max(scale, Math.abs(a0[i]));
    }
    const cpu: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const [k, run] of runs.entries()) {
        await gpu.sync();
        const c0 = process.cpuUsage();
        for (let q = 0; q < 5; q++) run();
        await gpu.sync();
        const c = process.cpuUsage(c0);
        cpu[k].push((c.user + c.system) / 1000 / 5);
      }
    }
    const [direct, wino] = cpu.map(median);
    console.log(
      `| ${flip ? "dgrad" : "fwd"} ${n}×${cin}→${cout}×${h}² | ${direct.toFixed(2)} | ` +
        `${wino.toFixed(2)} | ${(direct / wino).toFixed(2)}× | ${
          winogradPays(s) ? "yes" : "no"
        } | ` +
        `${(err / scale).toExponential(1)} |`,
    );
    for (const t of [x, w, b, ...ys]) t?.dispose();
  }
}
