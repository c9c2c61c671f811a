/**
 * Unconditional samples of a trained model as a PNG grid: EDM Heun over [σ_min, 80]; an
 * ambient model sees one fixed M̃ for the run (docs/method.md §5.5), as in the training grids.
 *
 * `deno run -A scripts/sample.ts --model fixtures/models/fmnist-inpaint --out samples.png
 *  [--count 16] [--steps 18] [--sigma-min 0.002] [--seed 0] [--backend cpu|webgpu|onnx|onnx-cuda]`
 *
 * @module
 */
import { writePriorGrid } from "../src/ambient/prior_grid.ts";
import { backendName, selectBackend } from "../src/core/select_backend.ts";
import "../src/onnx/ort_backend.ts"; // makes --backend onnx|onnx-cuda selectable
import { dataShape } from "../src/data/dataset.ts";
import { exitOnUsageError, parseFlags, UsageError } from "./cli.ts";
import { Progress } from "./progress.ts";
import { disposeModel, loadModel, readModelInfo } from "./transfer/models.ts";

const USAGE = `usage: deno run -A scripts/sample.ts --model RUN_OR_SAFETENSORS --out FILE.png
  --count N        samples (16)
  --steps N        Heun steps (18)
  --sigma-min S    smallest noise level (0.002, EDM's)
  --seed N         initial noise seed (0)
  --image-size N   side of the square images (default: the model's data, else 32)
  --channels N     image channels (default: the model's data, else 1)
  --config FILE    the model's configuration (JSON) for a bare state_dict without one
  --backend B      cpu | webgpu | onnx | onnx-cuda (default: WebGPU on a hardware GPU, else onnx)`;

exitOnUsageError();
const a = parseFlags({
  model: { type: "string" },
  out: { type: "string" },
  count: { type: "string", default: "16" },
  steps: { type: "string", default: "18" },
  "sigma-min": { type: "string", default: "0.002" },
  seed: { type: "string", default: "0" },
  "image-size": { type: "string" },
  channels: { type: "string" },
  config: { type: "string" },
  backend: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
});
if (a.help || !a.model || !a.out) {
  console.log(USAGE);
  Deno.exit(a.help ? 0 : 2);
}
const info = await readModelInfo({ name: "model", path: a.model }, a.config);
// The model's own data gives the default image shape (a bare state_dict's config may not).
const [c0, s0] = info.config.data ? dataShape(info.config.data) : [1, 32];
const [count, steps, seed, size, channels] = [
  a.count,
  a.steps,
  a.seed,
  a["image-size"] ?? s0,
  a.channels ?? c0,
].map(Number);
const sigmaMin = Number(a["sigma-min"]);
if (![count, steps, size, channels].every((n) => Number.isInteger(n) && n >= 1)) {
  throw new UsageError("--count, --steps, --image-size and --channels must be positive integers");
}
if (!(Number.isInteger(seed) && seed >= 0)) {
  throw new UsageError(`--seed must be an integer ≥ 0, got ${a.seed}`);
}
if (!(sigmaMin > 0 && sigmaMin < 80)) {
  throw new UsageError(`--sigma-min must be in (0, 80), got ${a["sigma-min"]}`);
}
const folder = a.out.includes("/") ? a.out.slice(0, a.out.lastIndexOf("/")) || "/" : ".";
if (!await Deno.stat(folder).then((s) => s.isDirectory, () => false)) {
  throw new UsageError(`--out ${a.out}: the folder ${folder} does not exist`);
}
if (await Deno.stat(a.out).then((s) => s.isDirectory, () => false)) {
  throw new UsageError(`--out ${a.out} is a folder: give a file name, e.g. ${a.out}/samples.png`);
}
backendName(a.backend);

const backend = await selectBackend(a.backend);
const shape: [number, number, number] = [channels, size, size];
const model = await loadModel(info, shape, backend);
const config = {
  ...info.config,
  sampleCount: count,
  sampleSteps: steps,
  sampleSigmaMin: sigmaMin,
  seed,
};
const progress = new Progress({ label: "sample", total: steps });
await writePriorGrid(a.out, model.net, model.params, config, shape, backend, (i) => {
  progress.update(i);
});
progress.finish();
disposeModel(model);
console.log(
  `wrote ${a.out}: ${count} samples, ${steps} Heun steps over [${sigmaMin}, 80]` +
    (info.config.ambient ? `, ambient input with one fixed M̃` : ""),
);
