/**
 * Memory soak: N steps of forward + backward + Adam on a small conv net, reporting the
 * engine's live and pooled GPU bytes along the way; they must stay flat.
 * `deno task soak [--steps 1000] [--backend webgpu]`.
 */
import { parseArgs } from "node:util";
import { WebGpuBackend } from "../gpu/backend.ts";
import { selectBackend } from "../src/core/select_backend.ts";
import { ConvDenoiser, denoiserOptimizer, denoiserStep } from "../bench/conv_denoiser.ts";
import { randomNormal } from "../src/ops/random.ts";

const { values: args } = parseArgs({
  options: {
    backend: { type: "string", default: "webgpu" },
    steps: { type: "string", default: "1000" },
    batch: { type: "string", default: "8" },
  },
});
const steps = Number(args.steps);
const batch = Number(args.batch);
const backend = await selectBackend(args.backend);
if (!(backend instanceof WebGpuBackend)) {
  throw new Error("the soak measures GPU memory: needs WebGPU");
}
const engine = backend.engine;
using net = new ConvDenoiser({ channels: 1, width: 16, depth: 3 }, backend, 0);
using opt = denoiserOptimizer(net);
using x = randomNormal(backend, [batch, 1, 32, 32], 7);
const mib = (b: number) => (b / 2 ** 20).toFixed(3);
console.log(
  `soak: ${steps} steps, batch ${batch}, ${net.registry.count()} parameters, ${backend.name}`,
);
console.log("step   live MiB  pooled MiB  peak live MiB  loss");
const t0 = performance.now();
const rows: number[][] = [];
for (let step = 1; step <= steps; step++) {
  using loss = denoiserStep(net, opt, x, 0.5, 1e-3, step);
  if (step === 1 || step % (steps / 10) === 0) {
    const l = (await loss.toArray())[0];
    rows.push([step, engine.liveBytes, engine.pooledBytes]);
    console.log(
      `${String(step).padStart(5)}  ${mib(engine.liveBytes).padStart(8)}  ${
        mib(engine.pooledBytes).padStart(10)
      }  ` +
        `${mib(engine.peakLiveBytes).padStart(13)}  ${l.toFixed(5)}`,
    );
  }
}
const after = rows.filter((r) => r[0] >= steps / 10);
const flat = after.every((r) => r[1] === after[0][1] && r[2] === after[0][2]);
console.log(
  `${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; memory ${
    flat ? "flat" : "GREW"
  } ` +
    `from step ${after[0][0]} on (live ${mib(after[0][1])} → ${mib(after.at(-1)![1])} MiB, ` +
    `pooled ${mib(after[0][2])} → ${
      mib(after.at(-1)![2])
    } MiB); ${engine.dispatchCount} dispatches, ` +
    `${engine.submitCount} submits`,
);
if (!flat) Deno.exit(1);
