/**
 * Our traced forward D(u, σ) of the train:fmnist-inpaint network against the same network
 * exported from PyTorch (bench/peer/export_onnx.py), both run in onnxruntime-node with the
 * same session options, interleaved; prints node counts by op type and median ms per run, then
 * the package's forward and A-DPS step on OrtBackend and PyTorch CPU's (docs/perf-notes.md).
 *
 * Usage: deno run -A bench/onnx_graphs.ts [--batch 32] [--reps 15] [--threads 2]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpuBackend } from "../src/core/select_backend.ts";
import { tidy } from "../src/core/scope.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { weightConstants } from "../src/onnx/export.ts";
import { decodeModel, encodeModel } from "../src/onnx/proto.ts";
import { type Feeds, openNativeSession } from "../src/onnx/runtime.ts";
import { OrtBackend } from "../src/onnx/ort_backend.ts";
import { NetworkSteps } from "./network.ts";
import { peerPython, runPeer } from "./python.ts";
import { buildNetwork, initTrainState } from "../src/train/train.ts";
import { config as fmnistInpaint } from "../tasks/fmnist-inpaint.ts";
import { median } from "./stats.ts";

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "32" },
    reps: { type: "string", default: "15" },
    threads: { type: "string", default: "2" },
  },
});
const batch = Number(values.batch);
const reps = Number(values.reps);
const threads = Number(values.threads);
const SHAPE = [1, 32, 32];
const net = buildNetwork({ ...fmnistInpaint, batch }, SHAPE);
const { params } = initTrainState(net, fmnistInpaint, cpuBackend());
const uShape = [batch, net.model.config.inChannels, 32, 32];

// Ours: the graph OrtBackend.runNetwork compiles (src/onnx/ort_backend.ts).
const b = new OnnxBackend();
tidy(() => {
  const u = b.input("u", uShape);
  const sigma = b.input("sigma", [batch]);
  b.output(
    "denoised",
    net.forward(weightConstants(b, params), u, sigma, {
      training: false,
      seed: 0,
      stream: 0,
    }),
  );
});
const ours = encodeModel(b.graph.spec());

// PyTorch's export of the same network (bench/peer/song_unet.py).
const dir = await Deno.makeTempDir();
await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(net.model.config));
const py = await new Deno.Command(await peerPython(), {
  args: [
    new URL("./peer/export_onnx.py", import.meta.url).pathname,
    `${dir}/config.json`,
    `${batch}`,
    `${dir}/torch.onnx`,
  ],
  stdout: "inherit",
  stderr: "null",
}).output();
if (!py.success) throw new Error("bench/peer/export_onnx.py failed (needs python3-torch)");
const torch = await Deno.readFile(`${dir}/torch.onnx`);
await Deno.remove(dir, { recursive: true });

function opTypes(bytes: Uint8Array): string {
  const nodes = (decodeModel(bytes).graph as { node: { opType: string }[] }).node;
  const count = new Map<string, number>();
  for (const n of nodes) count.set(n.opType, (count.get(n.opType) ?? 0) + 1);
  const top = [...count].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ");
  return `${nodes.length} nodes: ${top}`;
}

const graphs = { ours, torch };
const sessions = Object.fromEntries(
  Object.entries(graphs).map(([k, g]) => [k, openNativeSession(g, { threads })]),
);
const u = Float32Array.from({ length: uShape.reduce((a, c) => a * c) }, (_, i) => Math.sin(i));
const feeds: Feeds = { u: [u, uShape], sigma: [new Float32Array(batch).fill(1), [batch]] };
const ms: Record<string, number[]> = { ours: [], torch: [] };
for (let r = -3; r < reps; r++) {
  for (const [k, s] of Object.entries(sessions)) {
    const t0 = performance.now();
    s.run(feeds);
    if (r >= 0) ms[k].push(performance.now() - t0);
  }
}
for (const [k, g] of Object.entries(graphs)) {
  console.log(
    `${k}: ${median(ms[k]).toFixed(1)} ms (batch ${batch}, ${threads} threads); ${opTypes(g)}`,
  );
}
console.log(`ours/torch time ${(median(ms.ours) / median(ms.torch)).toFixed(2)}`);
for (const s of Object.values(sessions)) s.release();

// The package's own path (OrtBackend, bench/network.ts's cases) and PyTorch CPU in the same run.
const cases = ["forward", "adps"] as const;
using steps = new NetworkSteps(new OrtBackend(), batch);
for (const key of cases) {
  for (let i = 0; i < 3; i++) steps.run(key);
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    steps.run(key);
    t.push(performance.now() - t0);
  }
  console.log(`OrtBackend ${key}: ${median(t).toFixed(1)} ms`);
}
const peer = await runPeer<{ results: { case: string; ms: number }[] }>("torch_steps.py", {
  config: net.model.config,
  batch,
  cases,
  min_ms: 1500,
});
if (typeof peer === "string") console.log(`PyTorch CPU: ${peer}`);
else for (const r of peer.results) console.log(`PyTorch CPU ${r.case}: ${r.ms.toFixed(1)} ms`);
