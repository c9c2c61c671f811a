/**
 * Smoke demo: trains a small convolutional denoiser on the shipped Fashion-MNIST fixture and
 * prints the loss falling. `deno task demo [--backend cpu|webgpu] [--steps N]`.
 */
import { parseArgs } from "node:util";
import { selectBackend } from "../src/backends.ts";
import { fashionMnistToTensorData, readIdxImages } from "../src/data/idx.ts";
import { ConvDenoiser, denoiserOptimizer, denoiserStep } from "../src/nn/conv_denoiser.ts";
import { concat } from "../src/ops/concat.ts";
import { Rng } from "../src/rng.ts";
import type { Tensor } from "../src/tensor.ts";

const { values: args } = parseArgs({
  options: {
    backend: { type: "string" },
    steps: { type: "string", default: "300" },
    batch: { type: "string", default: "16" },
    width: { type: "string", default: "16" },
    depth: { type: "string", default: "3" },
    lr: { type: "string", default: "2e-3" },
    sigma: { type: "string", default: "0.5" },
    seed: { type: "string", default: "0" },
    data: {
      type: "string",
      default: new URL("../fixtures/fmnist/train-images-idx3-ubyte.gz", import.meta.url).pathname,
    },
    every: { type: "string", default: "25" },
  },
});
const num = (k: keyof typeof args) => Number(args[k]);
const [steps, batch, every, sigma, lr, seed] = [
  num("steps"),
  num("batch"),
  num("every"),
  num("sigma"),
  num("lr"),
  num("seed"),
];

const backend = await selectBackend(args.backend);
const images = await readIdxImages(args.data as string);
const data = fashionMnistToTensorData(images);
const side = images.rows + 4;
const per = side * side;
console.log(
  `demo: denoising (σ = ${sigma}) on ${images.count} Fashion-MNIST images ${side}×${side}, ` +
    `batch ${batch}, ${steps} steps, backend ${backend.name}`,
);

using net = new ConvDenoiser(
  { channels: 1, width: num("width"), depth: num("depth") },
  backend,
  seed,
);
using opt = denoiserOptimizer(net);
console.log(`network: ${net.registry.count()} parameters`);
const rng = new Rng(seed);
const pending: Tensor[] = [];
const curve: number[] = [];
const t0 = performance.now();
for (let step = 1; step <= steps; step++) {
  const xb = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) {
    xb.set(data.subarray(rng.int(images.count) * per).subarray(0, per), i * per);
  }
  using x = backend.fromArray(xb, [batch, 1, side, side]);
  pending.push(denoiserStep(net, opt, x, sigma, lr, seed * 1_000_003 + step));
  if (step % every === 0 || step === steps) {
    // One read-back for the whole window: every GPU await costs ~11 ms.
    using all = concat(pending.map((l) => l.reshape([1])), 0);
    const losses = await all.toArray();
    for (const l of pending) l.dispose();
    pending.length = 0;
    const mean = Array.from(losses).reduce((a, b) => a + b, 0) / losses.length;
    if (!Number.isFinite(mean)) throw new Error(`loss is ${mean} at step ${step}: lower --lr`);
    curve.push(mean);
    const ms = (performance.now() - t0) / step;
    console.log(
      `step ${String(step).padStart(5)}  loss ${mean.toFixed(5)}  ${ms.toFixed(1)} ms/step`,
    );
  }
}
const first = curve[0], last = curve[curve.length - 1];
console.log(
  `loss ${last < first ? "fell" : "did NOT fall"} from ${first.toFixed(5)} to ${last.toFixed(5)} ` +
    `(noise alone: ${(sigma * sigma).toFixed(5)}) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
);
if (!(last < first)) Deno.exit(1);
