/**
 * The paper's network end to end at its size (`deno task smoke:paper`): the CelebA-64 ambient
 * network of tasks/celeba-inpaint.ts (61 807 875 parameters) takes one training step at batch
 * 1, writes its checkpoint, reloads it into a fresh state and resumes one more step (the loss
 * must equal the uninterrupted run's), takes a step of batch 2 in rounds of 1 (gradient
 * accumulation), exports the EMA network and draws a one-image sample grid; then a reference
 * state_dict of the same network made by PyTorch (`bench/peer/song_unet.py init`) is converted
 * by scripts/convert-state-dict.py, sampled by scripts/sample.ts and takes one A-DPS step.
 * Prints time, peak RSS and peak live GPU memory per stage. Random images stand in for CelebA
 * (the shapes and the work are the paper's; the values do not matter here).
 *
 * `deno task smoke:paper [--out out/smoke-paper] [--sample-steps 2] [--no-reference]
 *  [--benchmarks BENCHMARKS.md]` (the stage table replaces its section there; "" skips it)
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { WebGpuBackend } from "../gpu/backend.ts";
import { writePriorGrid } from "../src/ambient/prior_grid.ts";
import { adps } from "../src/api.ts";
import type { Backend } from "../src/core/backend.ts";
import { selectBackend } from "../src/core/select_backend.ts";
import {
  loadCheckpoint,
  saveCheckpoint,
  saveNetwork,
  type TrainState,
} from "../src/train/checkpoint.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { buildNetwork, disposeTrainState, initTrainState, trainStep } from "../src/train/train.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as celeba } from "../tasks/celeba-inpaint.ts";
import { peerPython } from "../bench/python.ts";
import { replaceSection, SMOKE_HEADING } from "../bench/sections.ts";
import { disposeModel, loadModel, readModelInfo } from "./transfer/models.ts";

const { values: a } = parseArgs({
  options: {
    out: { type: "string", default: "out/smoke-paper" },
    "sample-steps": { type: "string", default: "2" },
    "no-reference": { type: "boolean", default: false },
    backend: { type: "string" },
    // Where the stage table goes as a section ("" for nowhere).
    benchmarks: { type: "string", default: "BENCHMARKS.md" },
  },
});
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const out = a.out;
const SHAPE = [3, 64, 64] as const;
const sampleSteps = Number(a["sample-steps"]);
await Deno.mkdir(out, { recursive: true });

/** What one stage measured. */
interface Stage {
  name: string;
  seconds: number;
  /** CPU seconds of the process that ran it (lavapipe's threads are ours): under a shared
   * machine's contention a truer measure of the work than the wall clock. */
  cpuSeconds: number | null;
  /** Peak resident memory of the process that ran the stage (MiB). */
  rssMiB: number | null;
  /** Peak live WebGPU memory of this process's engine during the stage (MiB). */
  gpuMiB: number | null;
  note: string;
}
const stages: Stage[] = [];
const backend: Backend = await selectBackend(a.backend);
const engine = backend instanceof WebGpuBackend ? backend.engine : null;
console.log(`backend: ${backend.name}${engine ? `; ${engine.limitsReport()}` : ""}`);
console.log(
  "MRI 384×320 gated network: not in this package yet (MRI part 1 is being built in " +
    "parallel); this smoke run covers the CelebA-64 network only.",
);

/** Linux's peak RSS of a process in MiB (VmHWM), or null elsewhere. */
function peakRss(pid: number | "self" = "self"): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Resets this process's VmHWM to its current RSS (Linux's clear_refs 5), so peaks are per
 * stage; first collects garbage where V8 allows it (the task passes --expose-gc), else a
 * stage's peak starts from the previous stage's unreclaimed heap.
 */
function resetPeaks(): void {
  (globalThis as { gc?: () => void }).gc?.();
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
  } catch {
    // Not Linux: the RSS peaks then run from the process start.
  }
  if (engine) engine.peakLiveBytes = engine.liveBytes;
}

/** Times an in-process stage (synced: GPU work is included) and records its peaks. */
async function stage<T>(name: string, f: () => Promise<T> | T, note = ""): Promise<T> {
  await backend.sync();
  resetPeaks();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r = await f();
  await backend.sync();
  const cpu = process.cpuUsage(cpu0);
  const s: Stage = {
    name,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssMiB: peakRss(),
    gpuMiB: engine ? engine.peakLiveBytes / 2 ** 20 : null,
    note: typeof r === "string" ? r : note,
  };
  stages.push(s);
  console.log(`${name}: ${fmt(s)}${s.note ? ` — ${s.note}` : ""}`);
  return r;
}

/** Times a child process, polling its peak RSS; throws with its stderr if it fails. */
async function child(name: string, cmd: string, args: string[]): Promise<string> {
  const t0 = performance.now();
  const p = new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).spawn();
  let rss: number | null = null;
  const poll = setInterval(() => (rss = peakRss(p.pid) ?? rss), 100);
  const o = await p.output();
  clearInterval(poll);
  const text = new TextDecoder().decode(o.stdout).trim();
  if (!o.success) {
    throw new Error(`${name} failed:\n${new TextDecoder().decode(o.stderr)}`);
  }
  const s: Stage = {
    name,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: null,
    rssMiB: rss,
    gpuMiB: null,
    note: text.split("\n").at(-1) ?? "",
  };
  stages.push(s);
  console.log(`${name}: ${fmt(s)} — ${s.note}`);
  return text;
}

function fmt(s: Stage): string {
  const mib = (v: number | null) => (v === null ? "–" : `${v.toFixed(0)} MiB`);
  const cpu = s.cpuSeconds === null ? "" : ` (${s.cpuSeconds.toFixed(1)} CPU s)`;
  return `${s.seconds.toFixed(1)} s${cpu}, peak RSS ${mib(s.rssMiB)}, peak GPU live ${
    mib(s.gpuMiB)
  }`;
}

const freshState = (config: TrainConfig, seed: number) =>
  initTrainState(buildNetwork(config, SHAPE), config, backend, seed);

/** One step of `config` on `state` with fixed random images; returns the loss terms. */
async function step(state: TrainState, config: TrainConfig, n: number): Promise<number[]> {
  const rng = new Rng(n * 7 + config.batch);
  const images = Float32Array.from(
    { length: config.batch * 3 * 64 * 64 },
    () => 2 * rng.uniform() - 1,
  );
  const indices = Array.from({ length: config.batch }, (_, i) => i);
  const net = buildNetwork(config, SHAPE);
  const terms: Tensor = trainStep(net, state, config, { images, indices, shape: SHAPE }, n);
  const v = Array.from(await terms.toArray());
  terms.dispose();
  state.step = n;
  return v;
}

const config: TrainConfig = {
  ...structuredClone(celeba),
  batch: 1,
  sampleCount: 1,
  sampleSteps,
  data: { kind: "folder", dir: "", size: 64, channels: 3 },
};
const params = buildNetwork(config, SHAPE).model.registry.count();
console.log(`CelebA-64 ambient network: ${params} parameters`);
const ckpt = `${out}/checkpoint.safetensors`;
const mibOf = async (path: string) => `${((await Deno.stat(path)).size / 2 ** 20).toFixed(0)} MiB`;

let a1 = await stage("init (weights, EMA, Adam moments)", () => freshState(config, config.seed));
const loss1 = await stage("training step 1, batch 1", () => step(a1, config, 1));
await stage("write checkpoint", async () => {
  await saveCheckpoint(ckpt, a1, config);
  return `${ckpt}, ${await mibOf(ckpt)}`;
});
const loss2 = await stage("training step 2 (uninterrupted run)", () => step(a1, config, 2));
disposeTrainState(a1);
a1 = await stage("reload the checkpoint into a fresh state", async () => {
  const s = freshState(config, config.seed + 1);
  await loadCheckpoint(ckpt, s, backend);
  return s;
}, "");
const resumed = await stage("resumed step 2", () => step(a1, config, 2));
if (resumed.some((v, i) => !Object.is(v, loss2[i]))) {
  throw new Error(`resumed step 2 lost ${resumed} ≠ the uninterrupted run's ${loss2}`);
}
console.log(`  loss step 1 ${loss1.join(", ")}; step 2 ${loss2.join(", ")} (resumed: identical)`);
const ema = `${out}/network-ema.safetensors`;
await stage("export EMA network", async () => {
  await saveNetwork(ema, a1.ema, {
    format: "edm-precond-songunet/1",
    step: "2",
    config: JSON.stringify(config),
  });
  return `${ema}, ${await mibOf(ema)}`;
});
await stage(`sample grid, 1 image, ${sampleSteps} Heun steps`, async () => {
  const net = buildNetwork(config, SHAPE);
  await writePriorGrid(`${out}/samples.png`, net, a1.ema, config, SHAPE, backend);
  return `${out}/samples.png`;
});
const rounds: TrainConfig = { ...config, batch: 2, batchGpu: 1 };
await stage("training step 3, batch 2 in 2 rounds of 1 (--batch-gpu 1)", async () => {
  const l = await step(a1, rounds, 3);
  return `loss ${l.map((v) => v.toPrecision(4)).join(", ")}`;
});
disposeTrainState(a1);

if (!a["no-reference"]) {
  const python = await peerPython();
  const cfg = `${out}/reference-config.json`;
  await Deno.writeTextFile(
    cfg,
    JSON.stringify({ ...config.network, imgResolution: 64, inChannels: 6, outChannels: 3 }),
  );
  const pt = `${out}/reference.pt`;
  const ref = `${out}/reference.safetensors`;
  await child("PyTorch reference state_dict (song_unet.py init)", python, [
    "bench/peer/song_unet.py",
    "init",
    "--config",
    cfg,
    "--out",
    pt,
    "--key",
    "ema",
  ]);
  await child("convert-state-dict.py (config inferred)", python, [
    "scripts/convert-state-dict.py",
    pt,
    ref,
    "--p",
    String(config.corruption.p),
    "--delta",
    String(config.corruption.delta),
  ]);
  await child("scripts/sample.ts, 1 image", Deno.execPath(), [
    "run",
    "-A",
    "scripts/sample.ts",
    "--model",
    ref,
    "--count",
    "1",
    "--steps",
    String(sampleSteps),
    "--out",
    `${out}/reference-sample.png`,
    ...(a.backend ? ["--backend", a.backend] : []),
  ]);
  await stage("A-DPS step on the reference weights (load + 1 step)", async () => {
    const info = await readModelInfo({ name: "reference", path: ref });
    const model = await loadModel(info, SHAPE, backend);
    const { p } = info.config.corruption;
    const op = new RandomInpainting(backend, { height: 64, width: 64, p, seed: 13 });
    try {
      const rng = new Rng(5);
      const truth = Float32Array.from({ length: 3 * 64 * 64 }, () => 2 * rng.uniform() - 1);
      const y = tidy(() => op.forward(backend.fromArray(truth, [1, ...SHAPE])));
      const { x, nfe, vjps } = adps(model, op, y, { steps: 1, zeta: 4, seed: 0 });
      const v = await x.toArray();
      x.dispose();
      y.dispose();
      if (!v.every(Number.isFinite)) throw new Error("A-DPS step: non-finite output");
      return `${nfe} network evaluations, ${vjps} VJPs, finite output`;
    } finally {
      op.dispose();
      disposeModel(model);
    }
  });
}

const table = [
  "| stage | seconds | CPU seconds | peak RSS MiB | peak GPU live MiB | note |",
  "| --- | --- | --- | --- | --- | --- |",
  ...stages.map((s) =>
    `| ${s.name} | ${s.seconds.toFixed(1)} | ${s.cpuSeconds?.toFixed(1) ?? "–"} | ${
      s.rssMiB?.toFixed(0) ?? "–"
    } | ${s.gpuMiB?.toFixed(0) ?? "–"} | ${s.note.replaceAll("|", "/")} |`
  ),
];
await Deno.writeTextFile(`${out}/stages.md`, table.join("\n") + "\n");
console.log(`\n${table.join("\n")}\n\nwrote ${out}/stages.md`);
if (a.benchmarks) {
  const day = new Date().toISOString().slice(0, 10);
  const text = [
    SMOKE_HEADING,
    "",
    `Measured ${day} with \`deno task smoke:paper\` on ${navigator.hardwareConcurrency} cores ` +
    `(shared), ${backend.name}${engine ? ` (${engine.limitsReport()})` : ""}; Deno ` +
    `${Deno.version.deno}. The CelebA-64 ambient network of \`tasks/celeba-inpaint.ts\`, ` +
    `${params} parameters, batch 1 on random 64×64×3 images. CPU seconds: the process's, ` +
    "lavapipe's threads included (the wall clock also counts waiting for cores that other " +
    "jobs hold); the child processes' are not measured. Peak RSS per stage (after a " +
    "garbage collection; lavapipe's GPU memory is this process's), peak live GPU memory of the " +
    "engine's buffers. The MRI 384×320 gated network is not in the package yet.",
    "",
    ...table,
  ].join("\n");
  const old = await Deno.readTextFile(a.benchmarks).catch(() => "");
  await Deno.writeTextFile(a.benchmarks, replaceSection(old, SMOKE_HEADING, text));
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", a.benchmarks] }).output();
  console.log(`updated the "${SMOKE_HEADING.slice(3)}" section of ${a.benchmarks}`);
}
