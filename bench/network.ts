/**
 * Network-level benchmarks of the `train:fmnist-inpaint` denoiser (EDMPrecond around a 32×32
 * SongUNet, 1 753 281 parameters): one ambient training step, one A-DPS step and one forward
 * pass, in images/s, on WebGPU, on ONNX Runtime (src/onnx/ort_backend.ts), on the CPU twin and
 * on PyTorch CPU (bench/peer/torch_steps.py, the same network from bench/peer/song_unet.py),
 * with WebGPU's peak live memory per step and ONNX Runtime's peak resident memory.
 *
 * @module
 */
import process from "node:process";
import { WebGpuBackend } from "../gpu/backend.ts";
import { samplingMask } from "../src/ambient/masks.ts";
import { priorDenoiser } from "../src/ambient/prior_denoiser.ts";
import { adps, type Model } from "../src/api.ts";
import type { Backend } from "../src/core/backend.ts";
import type { Params } from "../src/nn/module.ts";
import type { EDMPrecond } from "../src/nn/precond.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { keep, tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import type { TrainState } from "../src/train/checkpoint.ts";
import { buildNetwork, disposeTrainState, initTrainState, trainStep } from "../src/train/train.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as fmnistInpaint } from "../tasks/fmnist-inpaint.ts";
import { runPeer } from "./python.ts";

/** The three network cases, in table order (keys as the PyTorch peer takes them). */
export const NETWORK_CASES = [
  {
    key: "train",
    name: "training step (ambient loss, backward, Adam + clip, EMA)",
    short: "training step",
  },
  { key: "adps", name: "A-DPS step (forward + VJP w.r.t. x)", short: "A-DPS step" },
  { key: "forward", name: "forward D(x, σ)", short: "forward" },
] as const;

/** A network case's key. */
export type NetworkCaseKey = (typeof NETWORK_CASES)[number]["key"];

/** Adam's learning rate in both implementations (EDM's; the speed does not depend on it). */
const LR = 2e-4;
/** Data-set size the mask indices wrap at (Fashion-MNIST's training set). */
const DATA_COUNT = 60_000;
/** The image shape of the task, [C, H, W]. */
const SHAPE = [1, 32, 32] as const;

/**
 * One backend's network, optimiser, EMA and fixed inputs, with one method per case. Every
 * method only records work (no await), like the training loop and the samplers.
 */
export class NetworkSteps implements Disposable {
  /** The preconditioned network. */
  readonly net: EDMPrecond;
  /** Its configuration (the task's). */
  readonly config: TrainConfig;
  readonly #backend: Backend;
  readonly #batch: number;
  readonly #params: Params;
  readonly #state: TrainState;
  readonly #images: Float32Array;
  readonly #further: Tensor;
  readonly #op: RandomInpainting;
  readonly #y: Tensor;
  readonly #x: Tensor;
  #step = 0;

  /**
   * Builds the task's network on `backend` with parameters, Adam moments, EMA and inputs.
   *
   * @param backend where to run
   * @param batch images per step
   */
  constructor(backend: Backend, batch: number) {
    // Adam's rate fixed at LR from the first step (no warm-up), as the PyTorch peer takes it.
    this.config = { ...fmnistInpaint, batch, lr: LR, lrRampupImages: 0 };
    this.net = buildNetwork(this.config, SHAPE);
    this.#backend = backend;
    this.#batch = batch;
    this.#state = initTrainState(this.net, this.config, backend);
    this.#params = this.#state.params;
    const rng = new Rng(5);
    const [c, h, w] = SHAPE;
    // Images in [−1, 1] like the data; uploaded every step, as the training loop does.
    this.#images = Float32Array.from(
      { length: batch * c * h * w },
      () => 2 * rng.uniform() - 1,
    );
    const { corruption } = this.config;
    this.#further = keep(samplingMask(backend, batch, h, w, corruption, 11));
    this.#op = new RandomInpainting(backend, { height: h, width: w, p: corruption.p, seed: 13 });
    this.#y = keep(tidy(() => this.#op.forward(backend.fromArray(this.#images, [batch, c, h, w]))));
    this.#x = keep(backend.fromArray(rng.normals(this.#images.length), [batch, c, h, w]));
  }

  /** Scalar parameters of the network. */
  get parameterCount(): number {
    return this.net.model.registry.count();
  }

  /** Runs one case once. */
  run(key: NetworkCaseKey): void {
    if (key === "train") this.train();
    else if (key === "adps") this.adps();
    else this.forward();
  }

  /** One training step of src/train/train.ts (`trainStep`): upload, masks, loss, backward, Adam, EMA. */
  train(): void {
    const step = ++this.#step;
    const indices = Array.from(
      { length: this.#batch },
      (_, i) => (step * this.#batch + i) % DATA_COUNT,
    );
    const batch = { images: this.#images, indices, shape: SHAPE };
    trainStep(this.net, this.#state, this.config, batch, step).dispose();
  }

  /**
   * One A-DPS stage as the library's `adps` takes it (a one-level schedule ends at σ = 0, so
   * it is one forward, one VJP and the updates; a full Heun step is two of these).
   */
  adps(): void {
    const model: Model = {
      net: this.net,
      params: this.#params,
      config: this.config,
      shape: SHAPE,
      backend: this.#backend,
    };
    tidy(() => {
      adps(model, this.#op, this.#y, {
        steps: 1,
        zeta: 4,
        seed: ++this.#step,
        mask: this.#further,
      });
    });
  }

  /** D(concat[M̃ ⊙ x, M̃], σ) in eval mode, no tape. */
  forward(): void {
    const denoise = priorDenoiser(this.net, this.#params, true, this.#further);
    tidy(() => void denoise(this.#x, 1));
  }

  /** Frees everything this object allocated. */
  dispose(): void {
    disposeTrainState(this.#state);
    this.#op.dispose();
    for (const t of [this.#further, this.#y, this.#x]) {
      t.dispose();
    }
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** What timing one case on one backend measured. */
export interface NetworkTiming {
  /** Mean ms per step. */
  ms: number;
  /** Mean process CPU ms per step (lavapipe's threads are this process's). */
  cpuMs: number;
  /** Timed steps. */
  reps: number;
  /** WebGPU only: highest live bytes during the timed steps (resident state included). */
  peakBytes: number | null;
  /** WebGPU only: live bytes between steps (parameters, moments, EMA, fixed inputs). */
  residentBytes: number | null;
  /** Where Linux tells it: the process's peak resident bytes during the case (warm-up included). */
  peakRssBytes: number | null;
}

/** Linux: restarts the process's peak-RSS count (VmHWM); false where that is not possible. */
function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** Linux: the process's peak resident bytes since the last reset (VmHWM). */
function peakRss(): number | null {
  const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : null;
}

/**
 * Times one case: `warmup` untimed steps (pipeline compilation), then back-to-back steps
 * with one sync at the end (each GPU await costs ~11 ms), at least `minReps` and `minMs`.
 *
 * @param steps the backend's network state (any object that runs a case by key)
 * @param backend the same backend
 * @param key which case
 * @param opts warm-up steps, minimum timed steps and milliseconds, maximum steps
 * @returns mean ms per step and, on WebGPU, the peak and resident live bytes
 */
export async function timeNetworkCase<K>(
  steps: { run(key: K): void },
  backend: Backend,
  key: K,
  opts: { warmup: number; minReps: number; minMs: number; maxReps: number },
): Promise<NetworkTiming> {
  const engine = backend instanceof WebGpuBackend ? backend.engine : null;
  const rss = resetPeakRss();
  await backend.sync();
  let t0 = performance.now();
  for (let i = 0; i < opts.warmup; i++) steps.run(key);
  await backend.sync();
  const warmMs = opts.warmup > 0 ? (performance.now() - t0) / opts.warmup : 0;
  const reps = Math.max(
    opts.minReps,
    Math.min(opts.maxReps, warmMs > 0 ? Math.ceil(opts.minMs / warmMs) : opts.minReps),
  );
  const residentBytes = engine?.liveBytes ?? null;
  if (engine) engine.peakLiveBytes = engine.liveBytes;
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  for (let i = 0; i < reps; i++) steps.run(key);
  await backend.sync();
  const ms = (performance.now() - t0) / reps;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / reps;
  const peakRssBytes = rss ? peakRss() : null;
  return { ms, cpuMs, reps, peakBytes: engine?.peakLiveBytes ?? null, residentBytes, peakRssBytes };
}

/** What the PyTorch peer returns. */
interface PeerSteps {
  params: number;
  torch: string;
  threads: number;
  device: string;
  forward_flops: number;
  results: { case: NetworkCaseKey; ms: number; cpu_ms: number; reps: number }[];
}

/** Nominal work of each case in forwards: backward is two products per forward one (dx, dw). */
const FORWARDS: Record<NetworkCaseKey, number> = { train: 3, adps: 2, forward: 1 };

/** Options of `benchNetwork`. */
export interface NetworkBenchOptions {
  /** The WebGPU backend, or null where none exists. */
  gpu: WebGpuBackend | null;
  /** The CPU twin (null: skipped). */
  cpu: Backend | null;
  /** ONNX Runtime (null: skipped). */
  onnx: Backend | null;
  /** Run the PyTorch peer. */
  peer: boolean;
  /** Where the peer runs: "cpu" or "cuda". */
  peerDevice: string;
  /** Minimum timed milliseconds per case on WebGPU and in PyTorch. */
  minMs: number;
  /** Images per step. */
  batch: number;
}

/** The network table and what it needs said about it. */
export interface NetworkReport {
  /** Markdown table lines. */
  lines: string[];
  /** Sentences for the report: parameter counts, peer, memory. */
  notes: string[];
  /**
   * PyTorch's nominal GFLOP per wall and per CPU second, by case's short name (see
   * `FORWARDS`), where the peer ran.
   */
  peerGflops: Map<string, { wall: number; cpu: number }>;
}

/**
 * How a PyTorch peer ran, for the reports: "CPU, 2 threads" or the CUDA device's name.
 *
 * @param r what the peer reported
 * @returns the description
 */
export function peerDescription(r: { device: string; threads: number }): string {
  return r.device === "cpu" ? `CPU, ${r.threads} threads` : `CUDA (${r.device}, eager fp32)`;
}

const fmtMs = (ms: number | null) => (ms === null ? "–" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const mib = (bytes: number | null) => (bytes === null ? "–" : (bytes / 2 ** 20).toFixed(1));

/**
 * Times the three network cases everywhere asked and builds the "Network steps" table.
 *
 * @param opts backends, peer, timing and batch
 * @returns the table lines and notes
 * @example
 * ```ts ignore
 * const { lines } = await benchNetwork({
 *   gpu, cpu: cpuBackend(), peer: true, peerDevice: "cpu", minMs: 1000, batch: 32,
 * });
 * ```
 */
export async function benchNetwork(opts: NetworkBenchOptions): Promise<NetworkReport> {
  const { batch } = opts;
  const config: TrainConfig = { ...fmnistInpaint, batch };
  const net = buildNetwork(config, SHAPE).model;
  const params = net.registry.count();
  const gpuT = new Map<NetworkCaseKey, NetworkTiming>();
  const cpuT = new Map<NetworkCaseKey, NetworkTiming>();
  const onnxT = new Map<NetworkCaseKey, NetworkTiming>();
  // ONNX Runtime first: its peak RSS then holds nothing of the other backends' runs.
  const runs = [[opts.onnx, onnxT], [opts.gpu, gpuT], [opts.cpu, cpuT]] as const;
  for (const [backend, out] of runs) {
    if (!backend) continue;
    const isGpu = backend === opts.gpu;
    // ONNX Runtime compiles a training step twice (src/onnx/graph_cache.ts): two warm-ups.
    const warm = backend === opts.onnx
      ? { warmup: 2, minReps: 2, minMs: opts.minMs, maxReps: 20 }
      : { warmup: 1, minReps: 2, minMs: opts.minMs, maxReps: 50 };
    using steps = new NetworkSteps(backend, batch);
    console.log(`  ${backend.name}: ${steps.parameterCount} parameters (ours), batch ${batch}`);
    for (const c of NETWORK_CASES) {
      // The CPU twin takes minutes per training step: one step, no warm-up (nothing compiles).
      const t = await timeNetworkCase(
        steps,
        backend,
        c.key,
        isGpu || backend === opts.onnx ? warm : { warmup: 0, minReps: 1, minMs: 0, maxReps: 1 },
      );
      out.set(c.key, t);
      const mem = t.peakBytes !== null
        ? `, peak ${mib(t.peakBytes)} MiB (resident ${mib(t.residentBytes)} MiB)`
        : `, peak RSS ${mib(t.peakRssBytes)} MiB`;
      console.log(`  ${c.name} on ${backend.name}: ${fmtMs(t.ms)} ms × ${t.reps}${mem}`);
    }
  }
  const peerRes = opts.peer
    ? await runPeer<PeerSteps>("torch_steps.py", {
      config: net.config,
      batch,
      params,
      cases: NETWORK_CASES.map((c) => c.key),
      corruption: config.corruption,
      lr: LR,
      grad_clip: config.gradClip,
      min_ms: opts.minMs,
    }, opts.peerDevice)
    : "skipped (--no-peer)";
  const peerMs = new Map<NetworkCaseKey, number>();
  if (typeof peerRes !== "string") {
    if (peerRes.params !== params) {
      throw new Error(`parameter counts differ: ours ${params}, PyTorch ${peerRes.params}`);
    }
    for (const r of peerRes.results) peerMs.set(r.case, r.ms);
  }

  const ips = (ms: number | null | undefined) =>
    ms === null || ms === undefined ? "–" : (batch / (ms / 1000)).toFixed(2);
  const lines = [
    `| step (batch ${batch}) | WebGPU ms | WebGPU img/s | WebGPU peak MiB | ONNX Runtime ms | ` +
    "ONNX Runtime img/s | ONNX Runtime peak RSS MiB | CPU twin ms | CPU twin img/s | " +
    "PyTorch ms | PyTorch img/s | PyTorch/WebGPU | PyTorch/ONNX Runtime | PyTorch/CPU twin |",
    "|" + " --- |".repeat(14),
  ];
  for (const c of NETWORK_CASES) {
    const g = gpuT.get(c.key)?.ms ?? null;
    const t = cpuT.get(c.key)?.ms ?? null;
    const o = onnxT.get(c.key) ?? null;
    const p = peerMs.get(c.key) ?? null;
    const ratio = (ours: number | null) =>
      ours === null || p === null ? "–" : `${(p / ours).toFixed(2)}×`;
    lines.push(
      `| ${c.name} | ${fmtMs(g)} | ${ips(g)} | ${mib(gpuT.get(c.key)?.peakBytes ?? null)} | ` +
        `${fmtMs(o?.ms ?? null)} | ${ips(o?.ms)} | ${mib(o?.peakRssBytes ?? null)} | ` +
        `${fmtMs(t)} | ${ips(t)} | ${fmtMs(p)} | ${ips(p)} | ${ratio(g)} | ` +
        `${ratio(o?.ms ?? null)} | ${ratio(t)} |`,
    );
  }
  const peerGflops = new Map<string, { wall: number; cpu: number }>();
  const work = NETWORK_CASES.map((c) => {
    if (typeof peerRes === "string") return "";
    const flops = FORWARDS[c.key] * peerRes.forward_flops;
    const peer = peerRes.results.find((r) => r.case === c.key)!;
    const ours = gpuT.get(c.key);
    // Per CPU-second only where both run on the CPU's cores (lavapipe and PyTorch CPU).
    const onCores = peerRes.device === "cpu";
    const rates = (t: { ms: number; cpuMs: number }) => {
      const r = { wall: flops / t.ms / 1e6, cpu: flops / t.cpuMs / 1e6 };
      const perCpu = onCores ? ` (${r.cpu.toFixed(1)} per CPU-s)` : "";
      return { r, text: `${r.wall.toFixed(1)} GFLOP/s${perCpu}` };
    };
    const p = rates({ ms: peer.ms, cpuMs: peer.cpu_ms });
    peerGflops.set(c.short, p.r);
    return `${c.short} ${(flops / 1e9).toFixed(1)} GFLOP: PyTorch ${p.text}, WebGPU ${
      ours ? rates(ours).text : "–"
    }`;
  });
  const resident = gpuT.get("train")?.residentBytes ?? null;
  const cfg = net.config;
  const notes = [
    `Network: the \`train:fmnist-inpaint\` denoiser, EDMPrecond around SongUNet ` +
    `${cfg.imgResolution}×${cfg.imgResolution}, in ${cfg.inChannels}, out ${cfg.outChannels}, ` +
    `model channels ${cfg.modelChannels}, mult [${cfg.channelMult}], ${cfg.numBlocks} blocks, ` +
    `attention at ${cfg.attnResolutions}, dropout ${cfg.dropout}: ${params} parameters (ours)` +
    (typeof peerRes === "string" ? "." : `, ${peerRes.params} (PyTorch).`),
    typeof peerRes === "string"
      ? `PyTorch peer: not run (${peerRes}).`
      : `PyTorch ${peerRes.torch} ${peerDescription(peerRes)} (bench/peer/torch_steps.py): ` +
        `median of at least 5 timed steps and ${opts.minMs} ms after 20 warm-up steps.`,
    "Training step: upload, per-image masks M and M̃, ambient loss, backward, global-norm " +
    `clipping to ${config.gradClip}, Adam (lr ${LR}, β 0.9/0.999, ε 1e-8), EMA; dropout on. ` +
    "A-DPS step: D with a fixed M̃, clipped, per-sample inpainting residual norms, their " +
    "gradient w.r.t. x (no weight gradients), Euler and likelihood updates (no Heun stage). " +
    "Forward: D(concat[M̃ ⊙ x, M̃], σ), eval mode, no tape.",
    "WebGPU: mean of back-to-back steps after one warm-up step, one sync at the end; peak MiB " +
    "is the engine's highest live bytes during those steps, including what stays resident " +
    `between steps (parameters, Adam moments, EMA, fixed inputs: ${mib(resident)} MiB). ` +
    "ONNX Runtime (onnxruntime-node, CPU provider, one thread per core): the same library calls " +
    "on `OrtBackend`, whose network evaluations and training step run as compiled sessions; " +
    "mean of back-to-back steps after two warm-up steps (compilation); peak RSS is the " +
    "process's peak resident memory during the case (Linux VmHWM, reset before it). " +
    "CPU twin: one step.",
    ...(typeof peerRes === "string" ? [] : [
      "Nominal work, counted by the peer (2 × the multiply-adds of the direct convolutions, " +
      "linear layers and attention products; the training step 3 forwards' worth, the A-DPS " +
      `step 2; per CPU-s: per second of process CPU time): ${work.join("; ")}.`,
    ]),
  ];
  return { lines, notes, peerGflops };
}
