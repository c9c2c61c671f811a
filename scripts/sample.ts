/**
 * Unconditional samples of a trained model as a PNG grid: EDM Heun over [σ_min, 80]; an
 * ambient model sees one fixed M̃ for the run (SPEC §5), as in the training grids.
 *
 * `deno run -A scripts/sample.ts --model fixtures/models/fmnist-inpaint --out samples.png
 *  [--count 16] [--steps 18] [--sigma-min 0.002] [--seed 0] [--backend cpu|webgpu]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writePriorGrid } from "../src/ambient/prior_grid.ts";
import { selectBackend } from "../src/backends.ts";
import { disposeModel, loadModel, readModelInfo } from "./transfer/models.ts";

const USAGE = `usage: deno run -A scripts/sample.ts --model RUN_OR_SAFETENSORS --out FILE.png
  --count N        samples (16)
  --steps N        Heun steps (18)
  --sigma-min S    smallest noise level (0.002, EDM's)
  --seed N         initial noise seed (0)
  --image-size N   side of the square images (32)
  --channels N     image channels (1; 3 for RGB)
  --backend B      cpu | webgpu (default: WebGPU where available)`;

const { values: a } = parseArgs({
  options: {
    model: { type: "string" },
    out: { type: "string" },
    count: { type: "string", default: "16" },
    steps: { type: "string", default: "18" },
    "sigma-min": { type: "string", default: "0.002" },
    seed: { type: "string", default: "0" },
    "image-size": { type: "string", default: "32" },
    channels: { type: "string", default: "1" },
    backend: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (a.help || !a.model || !a.out) {
  console.log(USAGE);
  Deno.exit(a.help ? 0 : 2);
}
const [count, steps, seed, size, channels] = [a.count, a.steps, a.seed, a["image-size"], a.channels]
  .map(Number);
const sigmaMin = Number(a["sigma-min"]);
if (![count, steps, size, channels].every((n) => Number.isInteger(n) && n >= 1)) {
  throw new Error("--count, --steps, --image-size and --channels must be positive integers");
}
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
if (!(sigmaMin > 0 && sigmaMin < 80)) throw new Error(`--sigma-min must be in (0, 80)`);

const backend = await selectBackend(a.backend);
const info = await readModelInfo({ name: "model", path: a.model });
const shape: [number, number, number] = [channels, size, size];
const model = await loadModel(info, shape, backend);
const config = {
  ...info.config,
  sampleCount: count,
  sampleSteps: steps,
  sampleSigmaMin: sigmaMin,
  seed,
};
await writePriorGrid(a.out, model.net, model.params, config, shape, backend);
disposeModel(model);
console.log(
  `wrote ${a.out}: ${count} samples, ${steps} Heun steps over [${sigmaMin}, 80]` +
    (info.config.ambient ? `, ambient input with one fixed M̃` : ""),
);
