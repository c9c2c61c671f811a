/**
 * Trains a task: `deno run -A scripts/train.ts --task fmnist-inpaint [flags]` (the
 * `deno task train:*` entries). Prints the full config first; `--dry-run` stops there.
 */
import { parseArgs } from "node:util";
import { WebGpuBackend } from "../gpu/backend.ts";
import { selectBackend } from "../src/backends.ts";
import { type DataSpec, loadDataset } from "../src/data/dataset.ts";
import { FASHION_MNIST_DIR } from "../src/data/idx.ts";
import {
  buildNetwork,
  CheckpointError,
  DivergenceError,
  type LogRecord,
  train,
} from "../src/train.ts";
import type { TrainConfig } from "../src/train_config.ts";

const { values: a } = parseArgs({
  options: {
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
    backend: { type: "string" },
    resume: { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
const TASKS = ["fmnist-inpaint", "fmnist-clean", "celeba-inpaint", "tiny-inpaint"];
if (a.help || !a.task) {
  console.log(
    `usage: deno run -A scripts/train.ts --task <${TASKS.join("|")}> [--steps N] [--out DIR]
  [--data PATH] [--limit N] [--p P] [--delta D] [--batch B] [--batch-gpu B] [--lr LR] [--seed S] [--backend cpu|webgpu]
  [--log-every N] [--checkpoint-every N] [--sample-every N] [--sample-count N] [--sample-sigma-min S] [--resume] [--dry-run]
  network: [--channels C] [--channel-mult 1,2,2] [--blocks N] [--attn 8,…|""] [--dropout D]`,
  );
  Deno.exit(a.task ? 0 : 2);
}
if (!TASKS.includes(a.task)) throw new Error(`unknown task ${a.task}: one of ${TASKS.join(", ")}`);
const base: TrainConfig = (await import(`../tasks/${a.task}.ts`)).config;
const num = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
};
const config: TrainConfig = structuredClone(base);
const set = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined) =>
  v !== undefined && (config[k] = v);
set("steps", num(a.steps, "steps"));
set("batch", num(a.batch, "batch"));
set("batchGpu", num(a["batch-gpu"], "batch-gpu"));
set("lr", num(a.lr, "lr"));
set("seed", num(a.seed, "seed"));
set("logEvery", num(a["log-every"], "log-every"));
set("checkpointEvery", num(a["checkpoint-every"], "checkpoint-every"));
set("sampleEvery", num(a["sample-every"], "sample-every"));
set("sampleCount", num(a["sample-count"], "sample-count"));
set("sampleSigmaMin", num(a["sample-sigma-min"], "sample-sigma-min"));
config.corruption.p = num(a.p, "p") ?? config.corruption.p;
config.corruption.delta = num(a.delta, "delta") ?? config.corruption.delta;
const list = (v: string | undefined, name: string) =>
  v === undefined ? undefined : v.split(",").filter((x) => x !== "").map((x) => num(x, name)!);
const net0 = config.network;
net0.modelChannels = num(a.channels, "channels") ?? net0.modelChannels;
net0.channelMult = list(a["channel-mult"], "channel-mult") ?? net0.channelMult;
net0.numBlocks = num(a.blocks, "blocks") ?? net0.numBlocks;
net0.attnResolutions = list(a.attn, "attn") ?? net0.attnResolutions;
net0.dropout = num(a.dropout, "dropout") ?? net0.dropout;
if (a.data !== undefined) (config.data as { dir: string }).dir = a.data;
if (a.limit !== undefined) {
  (config.data as DataSpec & { limit?: number }).limit = num(a.limit, "limit");
}
const out = a.out ?? `runs/${config.name}`;

if (config.data.kind === "celeba" && !config.data.dir) {
  console.error(
    `${config.name} needs CelebA: download "Align&Cropped Images" of CelebA (img_align_celeba.zip,
202 599 JPEGs of 178×218), unzip it, and pass the folder: --data /path/to/img_align_celeba
No CelebA here? Try the same method on Fashion-MNIST: deno task train:fmnist-inpaint`,
  );
  Deno.exit(2);
}
if (config.data.kind === "fmnist") {
  const dir = config.data.dir ?? FASHION_MNIST_DIR;
  try {
    await Deno.stat(`${dir}/train-images-idx3-ubyte.gz`);
  } catch {
    console.error(
      `no Fashion-MNIST in ${dir}: on Debian run 'apt-get install dataset-fashion-mnist', or pass
--data <folder with train-images-idx3-ubyte.gz>, e.g. --data fixtures/fmnist (512 shipped images)`,
    );
    Deno.exit(2);
  }
}

console.log(`task ${config.name} → ${out}\n${JSON.stringify(config, null, 2)}`);
if (a["dry-run"]) {
  const shape = config.data.kind === "fmnist"
    ? [1, 32, 32]
    : config.data.kind === "celeba"
    ? [3, 64, 64]
    : [config.data.channels, config.data.size, config.data.size];
  console.log(
    `network: ${
      buildNetwork(config, shape).model.registry.count()
    } parameters (dry run: nothing trained)`,
  );
  Deno.exit(0);
}
const backend = await selectBackend(a.backend);
const data = await loadDataset(config.data);
const net = buildNetwork(config, data.shape);
console.log(
  `data: ${data.description}; network: ${net.model.registry.count()} parameters; backend: ${backend.name}`,
);
if (backend instanceof WebGpuBackend) console.log(`webgpu: ${backend.engine.limitsReport()}`);

const tty = Deno.stdout.isTerminal();
let lastLog: LogRecord | null = null;
const started = performance.now();
const line = (step: number) => {
  const r = lastLog;
  const frac = step / config.steps;
  const elapsed = (performance.now() - started) / 1000;
  const eta = r ? ((config.steps - step) * config.batch) / r.imagesPerSecond : NaN;
  const bar = "█".repeat(Math.round(frac * 24)).padEnd(24, "·");
  return `${bar} ${step}/${config.steps} loss ${r ? r.loss.toFixed(4) : "…"}` +
    (r?.furtherLoss != null ? ` (M̃ ${r.furtherLoss.toFixed(4)})` : "") +
    ` ${r ? r.imagesPerSecond.toFixed(1) : "…"} img/s, ${fmt(elapsed)} elapsed, ETA ${fmt(eta)}`;
};
const fmt = (
  s: number,
) => (Number.isFinite(s)
  ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m${
    String(Math.floor(s) % 60).padStart(2, "0")
  }s`
  : "…");
const enc = new TextEncoder();
await train(config, data, {
  out,
  backend,
  resume: a.resume,
  onStep: (step) => tty && Deno.stdout.writeSync(enc.encode(`\r${line(step)}\x1b[K`)),
  onLog: (r) => {
    lastLog = r;
    if (!tty && (r.step % (config.logEvery * 10) === 0 || r.step === config.steps)) {
      console.log(line(r.step));
    }
  },
}).catch(stopWithOneLine);
if (tty) console.log();
console.log(
  `done: ${out}/checkpoint.safetensors, ${out}/network-ema.safetensors, ${out}/log.jsonl, samples in ${out}/`,
);

/** A run that cannot save, or diverged, ends with its one line (what is kept, what to do). */
function stopWithOneLine(e: unknown): never {
  if (!(e instanceof CheckpointError || e instanceof DivergenceError)) throw e;
  if (tty) console.log();
  console.error(`error: ${e.message}`);
  Deno.exit(1);
}
