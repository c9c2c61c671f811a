/**
 * One measurement, not a timed test: the EDM-preconditioned forward of a shipped prior at one
 * batch in ONNX Runtime CPU (the exported graph) and in the package's WebGPU engine (on this
 * machine lavapipe), median of a few runs after a warm-up.
 *
 * ```
 * deno run -A scripts/bench-onnx.ts --model fixtures/models/fmnist-inpaint --batch 32
 * deno run -A scripts/bench-onnx.ts --task fmnist-inpaint   # the task's network, seeded init
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ambientInput } from "../src/ambient/input.ts";
import { loadModel, type Model } from "../src/api.ts";
import { buildNetwork } from "../src/train/train.ts";
import { cpuBackend, webgpuBackend } from "../src/core/select_backend.ts";
import type { Backend } from "../src/core/backend.ts";
import { exportDenoiser } from "../src/onnx/export.ts";
import { openSession } from "../src/onnx/runtime.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";

const { values: a } = parseArgs({
  options: {
    model: { type: "string", default: "fixtures/models/fmnist-inpaint" },
    task: { type: "string" },
    batch: { type: "string", default: "32" },
    runs: { type: "string", default: "5" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
  },
});
const n = Number(a.batch);
const runs = Number(a.runs);

async function median(label: string, once: () => Promise<unknown>): Promise<number> {
  await once(); // warm-up: pipelines, allocations, graph optimisation
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  ms.sort((x, y) => x - y);
  const m = ms[Math.floor(ms.length / 2)];
  console.log(
    `${label}: median ${m.toFixed(1)} ms (runs ${ms.map((v) => v.toFixed(0)).join(", ")})`,
  );
  return m;
}

/** The shipped prior, or a task's network with seeded initial weights (same speed, no file). */
async function network(backend: Backend): Promise<Model & Disposable> {
  if (!a.task) return await loadModel(a.model, { backend });
  const { config } = await import(`../tasks/${a.task}.ts`);
  const shape = [1, 32, 32] as const;
  const net = buildNetwork(config, shape);
  const params = net.model.registry.materialize(backend, 0);
  const dispose = () => params.forEach((t) => t.dispose());
  return { net, params, config, shape, backend, [Symbol.dispose]: dispose };
}

using model = await network(cpuBackend());
const [C, H, W] = model.shape;
const rng = new Rng(0);
const x = Float32Array.from({ length: n * C * H * W }, () => rng.normal());
const mask = Float32Array.from({ length: n * H * W }, () => (rng.uniform() < 0.6 ? 1 : 0));
const sigma = new Float32Array(n).fill(1);

const session = await openSession(exportDenoiser(model), Number(a.threads));
const feeds = {
  x: [x, [n, C, H, W]] as [Float32Array, number[]],
  sigma: [sigma, [n]] as [Float32Array, number[]],
  ...(model.config.ambient ? { mask: [mask, [n, 1, H, W]] as [Float32Array, number[]] } : {}),
};
const ort = await median(
  `onnxruntime-node CPU (${a.threads} threads), batch ${n}`,
  () => session.run(feeds),
);
await session.release();

const gpu = await webgpuBackend();
if (!gpu) {
  console.log("no WebGPU adapter: the WebGPU column is skipped");
} else {
  using onGpu = await network(gpu);
  const ctx = { training: false, seed: 0, stream: 0 };
  const forward = () => {
    const y = tidy(() => {
      const xs = gpu.fromArray(x, [n, C, H, W]);
      const u = onGpu.config.ambient ? ambientInput(gpu.fromArray(mask, [n, 1, H, W]), xs) : xs;
      return onGpu.net.forward(onGpu.params, u, gpu.fromArray(sigma, [n]), ctx);
    });
    return y.toArray().finally(() => y.dispose());
  };
  const webgpu = await median(`WebGPU (${gpu.name}), batch ${n}`, forward);
  console.log(`ONNX Runtime CPU is ${(webgpu / ort).toFixed(1)}× the WebGPU engine here`);
}
