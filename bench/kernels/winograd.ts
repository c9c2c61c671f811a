/**
 * Winograd F(4×4, 3×3) (gpu/kernels/lavapipe/conv2d_winograd.ts) against the direct texture kernels
 * (conv2d_texture.ts) for 3×3 forward, input and weight gradients, interleaved rounds in one
 * process, CPU ms a call (llvmpipe runs kernels on this process's threads), both paths'
 * outputs compared; marks the shapes where `winogradPays` picks Winograd, so the rule can be
 * checked against the measurement. docs/perf-notes.md has the numbers behind that rule.
 * `deno run -A bench/kernels/winograd.ts [--rounds 5] [--shapes 16-64-64-32,32-32-32-32]`
 * (N-Cin-Cout-H).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { gpuBuffer } from "../../gpu/backend.ts";
import { gatherTexture, weightGradTexture } from "../../gpu/kernels/lavapipe/conv2d_texture.ts";
import {
  winogradFits,
  winogradPays,
  winogradTexture,
  winogradWeightGrad,
  winogradWeightGradFits,
} from "../../gpu/kernels/lavapipe/conv2d_winograd.ts";
import { webgpuBackend } from "../../src/core/select_backend.ts";
import { Rng } from "../../src/core/rng.ts";
import type { Tensor } from "../../src/core/tensor.ts";
import { median } from "../stats.ts";

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

const gpu = await webgpuBackend();
if (!gpu) throw new Error("no WebGPU adapter");
const engine = gpu.engine;
const rounds = Number(args.rounds);
const rng = new Rng(1);
console.log(`${gpu.name}; CPU ms a call, medians of ${rounds} interleaved rounds\n`);
console.log("| conv N×Cin→Cout×H² | direct | Winograd | speed-up | picked | max |Δ|/max |");
console.log("|" + " --- |".repeat(6));

/** Max |a − b| over max |a|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [err, scale] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return err / scale;
}

for (const spec of (args.shapes as string).split(",")) {
  const [n, cin, cout, h] = spec.split("-").map(Number);
  const d = { n, cin, cout, h, w: h, k: 3 };
  const x = gpu.fromArray(rng.normals(n * cin * h * h), [n, cin, h, h]);
  const dy = gpu.fromArray(rng.normals(n * cout * h * h), [n, cout, h, h]);
  const w = gpu.fromArray(rng.normals(cout * cin * 9).map((v) => v * 0.1), [cout, cin, 3, 3]);
  const b = gpu.fromArray(rng.normals(cout), [cout]);
  const [xb, gb, wb, bb] = [x, dy, w, b].map(gpuBuffer);
  // The input gradient gathers dy's cout channels into cin.
  const fwd = { n, i: cin, o: cout, h, w: h, k: 3 };
  const dgrad = { n, i: cout, o: cin, h, w: h, k: 3 };
  if (![fwd, dgrad].every((g) => winogradFits(engine, g)) || !winogradWeightGradFits(engine, d)) {
    throw new Error(`${spec}: not a Winograd shape here`);
  }
  // Outputs (and their buffers bd, bw) of the direct kernels (0) and of Winograd (1).
  const o = [0, 1].map(() => ({
    y: gpu.empty([n, cout, h, h]),
    dx: gpu.empty(x.shape),
    dw: gpu.empty(w.shape),
    db: gpu.empty([cout]),
  }));
  const [bd, bw] = o.map((z) => ({
    y: gpuBuffer(z.y),
    dx: gpuBuffer(z.dx),
    dw: gpuBuffer(z.dw),
    db: gpuBuffer(z.db),
  }));
  const ops: [string, boolean, (() => void)[], (k: number) => Tensor[]][] = [
    ["fwd", winogradPays(fwd), [
      () => gatherTexture(engine, "direct", xb, wb, bb, bd.y, fwd, false),
      () => winogradTexture(engine, "winograd", xb, wb, bb, bw.y, fwd, false),
    ], (k) => [o[k].y]],
    ["dgrad", winogradPays(dgrad), [
      () => gatherTexture(engine, "direct", gb, wb, null, bd.dx, dgrad, true),
      () => winogradTexture(engine, "winograd", gb, wb, null, bw.dx, dgrad, true),
    ], (k) => [o[k].dx]],
    ["wgrad", winogradPays(fwd), [
      () => weightGradTexture(engine, xb, gb, bd.dw, bd.db, d, "direct"),
      () => winogradWeightGrad(engine, "winograd", xb, gb, bw.dw, bw.db, d),
    ], (k) => [o[k].dw, o[k].db]],
  ];
  const read = (ts: Tensor[]) => Promise.all(ts.map((t) => t.toArray()));
  for (const [op, picked, runs, outputs] of ops) {
    for (const run of runs) run();
    const [ref, got] = [await read(outputs(0)), await read(outputs(1))];
    const err = Math.max(...ref.map((r, i) => relativeError(r, got[i])));
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
      `| ${op} ${n}×${cin}→${cout}×${h}² | ${direct.toFixed(2)} | ${wino.toFixed(2)} | ` +
        `${(direct / wino).toFixed(2)}× | ${picked ? "yes" : "no"} | ${err.toExponential(1)} |`,
    );
  }
  for (const t of [x, dy, w, b, ...o.flatMap((z) => Object.values(z))]) t.dispose();
}
