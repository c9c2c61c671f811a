/**
 * Trains a task: `deno run -A scripts/train.ts --task fmnist-inpaint [flags]` (the
 * `deno task train:*` entries). Prints the full config first; `--dry-run` stops there.
 * Every flag and the run folder are checked before the backend starts or data loads; a
 * mistake prints one line and exits with status 2.
 */
import { WebGpuBackend } from "../gpu/backend.ts";
import { backendName, selectBackend } from "../src/core/select_backend.ts";
import "../src/onnx/ort_backend.ts"; // makes --backend onnx|onnx-cuda selectable
import { readCheckpointRecord } from "../src/train/checkpoint.ts";
import { exitOnUsageError, numberFlag, parseFlags, UsageError } from "./cli.ts";
import { dataShape, type DataSpec } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { FASHION_MNIST_DIR } from "../src/data/idx.ts";
import { paperPreset } from "../tasks/mri.ts";
import {
  buildNetwork,
  CheckpointError,
  checkRun,
  DivergenceError,
  type LogRecord,
  train,
} from "../src/train/train.ts";
import { type TrainConfig, validateConfig } from "../src/train/config.ts";
import { Progress } from "./progress.ts";

exitOnUsageError();
const a = parseFlags({
  task: { type: "string" },
  steps: { type: "string" },
  out: { type: "string" },
  data: { type: "string" },
  limit: { type: "string" },
  p: { type: "string" },
  delta: { type: "string" },
  batch: { type: "string" },
  "batch-gpu": { type: "string" },
  lr: { type: "string" },
  seed: { type: "string" },
  "log-every": { type: "string" },
  "checkpoint-every": { type: "string" },
  "sample-every": { type: "string" },
  "sample-count": { type: "string" },
  "sample-sigma-min": { type: "string" },
  channels: { type: "string" },
  "channel-mult": { type: "string" },
  blocks: { type: "string" },
  attn: { type: "string" },
  dropout: { type: "string" },
  acs: { type: "string" },
  preset: { type: "string" },
  backend: { type: "string" },
  resume: { type: "boolean", default: false },
  "dry-run": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
});
const MRI_TASKS = ["mri-r1", "mri-r2", "mri-r4", "mri-r6", "mri-r8"];
const TASKS = ["fmnist-inpaint", "fmnist-clean", "celeba-inpaint", "tiny-inpaint", ...MRI_TASKS];
if (a.help || !a.task) {
  console.log(
    `usage: deno run -A scripts/train.ts --task <${TASKS.join("|")}> [--steps N] [--out DIR]
  [--data PATH] [--limit N] [--p P] [--delta D] [--batch B] [--batch-gpu B] [--lr LR] [--seed S] [--backend cpu|webgpu|onnx|onnx-cuda]
  [--log-every N] [--checkpoint-every N] [--sample-every N] [--sample-count N] [--sample-sigma-min S] [--resume] [--dry-run]
  network: [--channels C] [--channel-mult 1,2,2] [--blocks N] [--attn 8,…|""] [--dropout D]
  MRI tasks: [--preset paper] (the reference: 384×320, ACS 20, 36 768 644 parameters) [--acs N]`,
  );
  Deno.exit(a.task ? 0 : 2);
}
if (!TASKS.includes(a.task)) {
  throw new UsageError(`unknown task ${a.task}: one of ${TASKS.join(", ")}`);
}
if (a.preset !== undefined && (a.preset !== "paper" || !MRI_TASKS.includes(a.task))) {
  throw new UsageError(`--preset ${a.preset}: the one preset is "paper", for the MRI tasks`);
}
const taskConfig: TrainConfig = (await import(`../tasks/${a.task}.ts`)).config;
const task = a.preset ? paperPreset(taskConfig) : taskConfig;
const out = a.out ?? `runs/${task.name}`;
const ckpt = `${out}/checkpoint.safetensors`;
const resuming = a.resume && await Deno.stat(ckpt).then(() => true, () => false);
// A resume continues the recorded run: flags are checked against it, not against the task.
const config: TrainConfig = resuming
  ? (await readCheckpointRecord(ckpt)).config
  : structuredClone(task);
const num = numberFlag;
const set = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined) =>
  v !== undefined && (config[k] = v);
set("steps", num(a.steps, "steps", "positive"));
set("batch", num(a.batch, "batch", "positive"));
set("batchGpu", num(a["batch-gpu"], "batch-gpu", "positive"));
set("lr", num(a.lr, "lr"));
set("seed", num(a.seed, "seed", "int"));
set("logEvery", num(a["log-every"], "log-every", "positive"));
set("checkpointEvery", num(a["checkpoint-every"], "checkpoint-every", "positive"));
set("sampleEvery", num(a["sample-every"], "sample-every", "int"));
set("sampleCount", num(a["sample-count"], "sample-count", "positive"));
set("sampleSigmaMin", num(a["sample-sigma-min"], "sample-sigma-min"));
config.corruption.p = num(a.p, "p") ?? config.corruption.p;
config.corruption.delta = num(a.delta, "delta") ?? config.corruption.delta;
const list = (v: string | undefined, name: string) =>
  v === undefined
    ? undefined
    : v.split(",").filter((x) => x.trim() !== "").map((x) => num(x, name, "int")!);
const net0 = config.network;
net0.modelChannels = num(a.channels, "channels", "int") ?? net0.modelChannels;
net0.channelMult = list(a["channel-mult"], "channel-mult") ?? net0.channelMult;
net0.numBlocks = num(a.blocks, "blocks", "int") ?? net0.numBlocks;
net0.attnResolutions = list(a.attn, "attn") ?? net0.attnResolutions;
net0.dropout = num(a.dropout, "dropout") ?? net0.dropout;
if (a.data !== undefined) (config.data as { dir: string }).dir = a.data;
if (a.acs !== undefined) {
  if (config.data.kind !== "mri") throw new UsageError("--acs is for the MRI tasks");
  config.data.acs = num(a.acs, "acs", "int")!;
}
if (a.limit !== undefined) {
  (config.data as DataSpec & { limit?: number }).limit = num(a.limit, "limit", "int");
}
validateConfig(config);
backendName(a.backend);
if (config.data.kind === "celeba" && !config.data.dir) {
  throw new UsageError(
    `${config.name} needs CelebA: download "Align&Cropped Images" of CelebA ` +
      `(img_align_celeba.zip, 202 599 JPEGs of 178×218), unzip it, and pass the folder: ` +
      `--data /path/to/img_align_celeba. No CelebA here? Try the same method on ` +
      `Fashion-MNIST: deno task train:fmnist-inpaint`,
  );
}
const dir = config.data.dir ?? FASHION_MNIST_DIR;
if (config.data.kind !== "mri" && await Deno.stat(dir).then((s) => s.isFile, () => false)) {
  throw new UsageError(`--data ${dir} is a file: pass the folder that holds the images`);
}
if (
  !["fmnist", "mri"].includes(config.data.kind) &&
  !await Deno.stat(dir).then(() => true, () => false)
) {
  throw new UsageError(`--data ${dir} does not exist: pass the folder that holds the images`);
}
if (config.data.kind === "fmnist") {
  if (!await Deno.stat(`${dir}/train-images-idx3-ubyte.gz`).then(() => true, () => false)) {
    throw new UsageError(
      `no Fashion-MNIST in ${dir}: on Debian run 'apt-get install dataset-fashion-mnist', ` +
        `or pass --data <folder with train-images-idx3-ubyte.gz>, e.g. --data fixtures/fmnist ` +
        `(512 shipped images)`,
    );
  }
}
const run = await checkRun(out, config, a.resume);

console.log(`task ${config.name} → ${out}\n${JSON.stringify(config, null, 2)}`);
if (a["dry-run"]) {
  console.log(
    `network: ${
      buildNetwork(config, dataShape(config.data)).model.registry.count()
    } parameters (dry run: nothing trained)`,
  );
  Deno.exit(0);
}
// The k-space reader loads HDF5 (WebAssembly): imported only by the MRI tasks.
const mri = config.data.kind === "mri" ? await import("../src/mri/train_data.ts") : null;
if (mri && config.data.kind === "mri") {
  const file = mri.mriTrainFile(config.data);
  if (!await Deno.stat(file).then(() => true, () => false)) {
    const [h, w] = config.data.size;
    throw new UsageError(
      `no k-space at ${file}: simulate it with 'deno task mri:simulate --out ${config.data.dir} ` +
        `--size ${h}x${w}' (needs apt-get install -y mricron-data), or pass --data <folder with ` +
        `train.h5, or an .h5 file> in the fastMRI layout with coil maps`,
    );
  }
}
const backend = await selectBackend(a.backend);
let reading: Progress | undefined;
const data = mri ? await mri.openMriTrainData(config) : await loadDataset(
  config.data,
  {
    onProgress: (done, total) => (reading ??= new Progress({ label: "data", total })).update(done),
  },
);
reading?.finish();
const net = buildNetwork(config, data.shape);
console.log(
  `data: ${data.description}; network: ${net.model.registry.count()} parameters; backend: ${backend.name}`,
);
if (backend instanceof WebGpuBackend) console.log(`webgpu: ${backend.engine.limitsReport()}`);

const progress = new Progress({
  label: "train",
  total: config.steps,
  every: config.logEvery * 10,
  from: run?.step ?? 0,
});
let lastLog: LogRecord | null = null;
const tty = Deno.stdout.isTerminal();
// The loss shown is a logged window's, so it names the window's last step.
const detail = () => {
  const r = lastLog;
  if (!r) return "";
  return `loss ${r.loss.toFixed(4)}` +
    (r.furtherLoss != null ? ` (M̃ ${r.furtherLoss.toFixed(4)})` : "") +
    ` at step ${r.step}, ${r.imagesPerSecond.toFixed(1)} img/s`;
};
await train(config, data, {
  out,
  backend,
  resume: a.resume,
  onStep: (step) => tty && progress.update(step, detail()),
  onLog: (r) => {
    lastLog = r;
    progress.update(r.step, detail());
  },
}).catch(stopWithOneLine);
progress.finish();
const grids: string[] = [];
for await (const e of Deno.readDir(out)) if (/^samples-\d+\.png$/.test(e.name)) grids.push(e.name);
grids.sort();
console.log(
  `done: ${out}/checkpoint.safetensors, ${out}/network-ema.safetensors, ${out}/log.jsonl` +
    (grids.length > 0 ? `, ${grids.length} sample grid(s) up to ${out}/${grids.at(-1)}` : ""),
);

/** A run that cannot save, or diverged, ends with its one line (what is kept, what to do). */
function stopWithOneLine(e: unknown): never {
  if (!(e instanceof CheckpointError || e instanceof DivergenceError)) throw e;
  progress.finish();
  console.error(`error: ${e.message}`);
  Deno.exit(1);
}
