/**
 * The training loop (docs/method.md §2.5, §3): Adam with warm-up and gradient clipping, dropout,
 * EMA, one submit per step with no GPU await, losses read back in batches, atomic checkpoints,
 * sample grids, exact resume, and a clear stop on NaN.
 *
 * @module
 */
import { WebGpuBackend } from "../../gpu/backend.ts";
import { ambientLoss, edmLoss, type LossTerms } from "../ambient/loss.ts";
import type { ForwardContext } from "../nn/unet_block.ts";
import { furtherCorrupt } from "../ambient/masks.ts";
import { grad } from "../ops/autograd.ts";
import type { Backend } from "../core/backend.ts";
import {
  CheckpointError,
  DivergenceError,
  loadCheckpoint,
  readCheckpointRecord,
  saveCheckpoint,
  saveNetwork,
  type TrainState,
} from "./checkpoint.ts";
import { UsageError } from "../core/usage_error.ts";
import { batchIndices, gatherBatch, type ImageDataset } from "../data/dataset.ts";
import type { Params } from "../nn/module.ts";
import { EDMPrecond } from "../nn/precond.ts";
import { SongUNet } from "../nn/song_unet.ts";
import { concat } from "../ops/concat.ts";
import { add, scale } from "../ops/elementwise.ts";
import { Adam } from "../optim/adam.ts";
import { emaUpdateMany } from "../optim/ema.ts";
import { keep, tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import {
  type ConfigDifference,
  configDifferences,
  RESUME_OVERRIDES,
  type TrainConfig,
  validateConfig,
} from "./config.ts";
import { writePriorGrid } from "../ambient/prior_grid.ts";
import { trainingContext } from "../ambient/streams.ts";
import { writeFileAtomic } from "../io/atomic.ts";

export { CheckpointError, DivergenceError };

/** One logged window of steps. */
export interface LogRecord {
  /** Last step of the window. */
  step: number;
  /** Images seen so far. */
  images: number;
  /** Mean trained loss over the window. */
  loss: number;
  /** Mean M̃ loss (ambient runs). */
  furtherLoss: number | null;
  /** Learning rate at the last step. */
  lr: number;
  /** Training throughput over the window. */
  imagesPerSecond: number;
  /** Seconds of training so far, over every process of the run (a resume continues it). */
  seconds: number;
  /**
   * WebGPU: the most GPU memory live at once in the window (MiB): the largest round of a
   * step (`batchGpu` images) with the weights, EMA, Adam moments and summed gradients.
   */
  peakMiB: number | null;
}

/** A log.jsonl line of a resume that changed fields of RESUME_OVERRIDES. */
export interface OverrideRecord {
  /** The step the run resumed at. */
  step: number;
  /** What changed: each field's recorded and new value. */
  override: ConfigDifference[];
}

/** How to run (not part of the experiment's definition). */
export interface TrainOptions {
  /** Output folder: checkpoint, EMA network, log, sample grids. */
  out: string;
  /** Where to compute. */
  backend: Backend;
  /** Continue from `out/checkpoint.safetensors` if it exists. */
  resume?: boolean;
  /** Called after every logged window (progress bars, tests). */
  onLog?: (r: LogRecord, c: TrainConfig) => void;
  /** Called after every step with the step number (progress bars). */
  onStep?: (step: number) => void;
}

/**
 * The network a config trains: channels from the data, doubled input for ambient masks; MRI
 * as the reference (Aali et al. 2024, §4): ambient 4 in / 4 out ([ÃᴴÃ x_t, M̃, ones] in, the
 * first two outputs used), the fully sampled baseline 2 / 2.
 */
export function buildNetwork(c: TrainConfig, shape: readonly number[]): EDMPrecond {
  const [ch, h] = shape;
  const mri = c.data.kind === "mri" ? (c.ambient ? 4 : 2) : 0;
  return new EDMPrecond(
    new SongUNet({
      ...c.network,
      imgResolution: h,
      inChannels: mri || (c.ambient ? 2 * ch : ch),
      outChannels: mri || ch,
    }),
  );
}

/** EDM's learning-rate warm-up. */
export function learningRate(c: TrainConfig, images: number): number {
  return c.lr * Math.min(1, images / Math.max(c.lrRampupImages, 1e-8));
}

/** EDM's EMA decay per step: half-life in images, limited by the ramp-up ratio. */
export function emaBeta(c: TrainConfig, images: number): number {
  const halfLife = Math.min(c.emaHalfLifeImages, images * c.emaRampupRatio);
  return 0.5 ** (c.batch / Math.max(halfLife, 1e-8));
}

/**
 * The seed of a step's randomness (σ, noise, dropout), from (experiment seed, step): the
 * same on resume.
 *
 * @param c the experiment
 * @param step the step number (from 1)
 * @returns a u32
 */
export function stepSeed(c: TrainConfig, step: number): number {
  return (c.seed * 7_919 + step * 104_729) >>> 0;
}

/**
 * A run's state before its first step: weights initialised from `seed`, the EMA a copy of
 * them, Adam's moments zero (with the config's gradient clip), all kept out of any scope.
 *
 * @param net the network
 * @param config the experiment (its gradient clip)
 * @param backend where the tensors live
 * @param seed the initialisation seed (default the experiment's)
 * @returns the state; free it with `disposeTrainState`
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { buildNetwork, disposeTrainState, initTrainState } from "./train.ts";
 * import { EDM_DEFAULTS, type TrainConfig } from "./config.ts";
 * const network = { modelChannels: 8, channelMult: [1], numBlocks: 1, attnResolutions: [], dropout: 0 };
 * const config: TrainConfig = {
 *   ...EDM_DEFAULTS, name: "x", data: { kind: "fmnist" }, network, ambient: false,
 *   corruption: { p: 0, delta: 0 }, steps: 1,
 * };
 * const state = initTrainState(buildNetwork(config, [1, 32, 32]), config, cpuBackend());
 * disposeTrainState(state);
 * ```
 */
export function initTrainState(
  net: EDMPrecond,
  config: TrainConfig,
  backend: Backend,
  seed: number = config.seed,
): TrainState {
  const params = keepAll(net.model.registry.materialize(backend, seed));
  const ema = keepAll(new Map([...params].map(([k, t]) => [k, copy(t)])));
  const adam = new Adam([...params.values()], { maxGradNorm: config.gradClip });
  return { step: 0, params, ema, adam };
}

/**
 * Frees a run's weights, EMA and Adam moments.
 *
 * @param s the state
 */
export function disposeTrainState(s: TrainState): void {
  for (const t of new Set([...s.params.values(), ...s.ema.values()])) t.dispose();
  s.adam.dispose();
}

/** The images of one training step. */
export interface StepBatch {
  /** Images [batch, C, H, W], flattened, in [−1, 1]. */
  images: Float32Array;
  /** Their indices in the data set: each image's masks M and M̃ follow its index. */
  indices: readonly number[];
  /** One image's [C, H, W]. */
  shape: readonly number[];
}

/**
 * A step's data that builds its own loss per round: k-space slices, whose ambient loss needs
 * their maps and masks (docs/method.md §4), or images (`StepBatch`).
 */
export interface LossBatch {
  /** Items (images or slices) in the step's batch. */
  count: number;
  /**
   * The loss of items [first, first + m), built inside the round's scope and tape.
   *
   * @param net the network
   * @param params its weights
   * @param first the round's first item
   * @param m the round's size
   * @param seed the step's seed (σ, noise)
   * @param ctx dropout state, `first` set
   * @returns the round's loss terms, each a mean over its m items
   */
  loss(
    net: EDMPrecond,
    params: Params,
    first: number,
    m: number,
    seed: number,
    ctx: ForwardContext,
  ): LossTerms;
}

/** Images as a `LossBatch`: the EDM loss, or the ambient one with each image's M and M̃. */
function imageLossBatch(batch: StepBatch, config: TrainConfig, backend: Backend): LossBatch {
  const n = batch.indices.length;
  const [ch, h, w] = batch.shape;
  const size = ch * h * w;
  if (batch.images.length !== n * size) {
    throw new Error(`trainStep: ${batch.images.length} values for ${n} images of [${batch.shape}]`);
  }
  return {
    count: n,
    loss(net, params, first, m, seed, ctx) {
      const images = batch.images.subarray(first * size, (first + m) * size);
      const x = backend.fromArray(images, [m, ch, h, w]);
      if (!config.ambient) return edmLoss(net, params, x, seed, ctx);
      const indices = batch.indices.slice(first, first + m);
      const masks = furtherCorrupt(
        backend,
        indices,
        h,
        w,
        config.corruption,
        config.corruptionSeed,
      );
      return ambientLoss(net, params, x, masks, seed, ctx);
    },
  };
}

/**
 * Training data read a batch at a time that builds each step's loss and the sample grids
 * itself: k-space slices (src/mri/train_data.ts), where no copy of the data set is held.
 */
export interface StreamedDataset {
  /** Human-readable description for logs. */
  description: string;
  /** Number of items (slices); batches index them. */
  count: number;
  /** [C, H, W] of the network's images. */
  shape: [number, number, number];
  /**
   * Reads items `indices` as one step's batch.
   *
   * @param indices the step's items
   * @param backend where to compute
   * @returns the batch; disposed after the step
   */
  lossBatch(indices: readonly number[], backend: Backend): LossBatch & Disposable;
  /**
   * Writes a sample grid of the EMA network.
   *
   * @param path output PNG
   * @param net the network
   * @param ema its EMA weights
   * @param config the run (sample count, steps, seed)
   * @param backend where to compute
   */
  writeGrid(
    path: string,
    net: EDMPrecond,
    ema: Params,
    config: TrainConfig,
    backend: Backend,
  ): Promise<void>;
}

/**
 * A backend that runs a whole training step itself (ONNX Runtime, src/onnx/ort_backend.ts: the
 * step below traced and compiled), so `train` and its checkpoints run there unchanged.
 */
export interface TrainStepRunner {
  /** `trainStep`'s contract: updates `state` in place, returns the loss terms. */
  runTrainStep(
    net: EDMPrecond,
    state: TrainState,
    config: TrainConfig,
    batch: StepBatch | LossBatch,
    step: number,
  ): Tensor;
}

/**
 * One training step (EDM's training loop, Section 3 of Aali et al. 2024 for the ambient
 * loss): per round of at most `config.batchGpu` images, upload, masks, loss and backward;
 * the gradients summed over rounds (each round's mean loss weighted by its share of the
 * batch); then one global-norm clip, Adam and EMA update. Rounds draw the whole batch's σ,
 * noise and dropout masks, so a step in rounds equals the step at once up to f32 rounding.
 * Records GPU work only; nothing is awaited. `state.step` is left to the caller.
 *
 * @param net the preconditioned network
 * @param state weights, EMA and Adam (updated in place)
 * @param config the experiment (batch, rounds, learning rate, EMA, seeds, corruption)
 * @param batch the step's images and their data-set indices, or a batch with its own loss (MRI)
 * @param step the step number (from 1): seeds, learning-rate warm-up, EMA decay
 * @returns the step's loss, [loss] or (ambient) [loss, M̃ loss]; the caller disposes it
 * @example
 * ```ts ignore
 * const indices = batchIndices(data.count, config.batch, config.seed, step);
 * const images = gatherBatch(data, indices);
 * const terms = trainStep(net, state, config, { images, indices, shape: data.shape }, step);
 * ```
 */
export function trainStep(
  net: EDMPrecond,
  state: TrainState,
  config: TrainConfig,
  batch: StepBatch | LossBatch,
  step: number,
): Tensor {
  const paramList = [...state.params.values()];
  const backend = paramList[0].backend;
  const runner = backend as Partial<TrainStepRunner>;
  if (runner.runTrainStep) return runner.runTrainStep(net, state, config, batch, step);
  const data = "images" in batch ? imageLossBatch(batch, config, backend) : batch;
  const n = data.count;
  const per = Math.min(config.batchGpu ?? n, n);
  const seed = stepSeed(config, step);
  let sums: Tensor[] = [];
  let terms: Tensor | null = null;
  for (let first = 0; first < n; first += per) {
    const m = Math.min(per, n - first);
    const round = tidy(() => {
      const ctx = { ...trainingContext(seed), first };
      // A round's loss is a mean over its m images: weighted m/n, the rounds sum to the batch's.
      const weigh = (t: Tensor) => (m === n ? t : scale(t, m / n));
      let further: Tensor | undefined;
      const { value, grads } = grad(() => {
        const l = data.loss(net, state.params, first, m, seed, ctx);
        further = l.furtherLoss;
        return weigh(l.loss);
      }, paramList);
      // Views, not taped reshapes: the loss terms are only read back, never differentiated.
      const one = (v: Tensor) => backend.view(v, [1]);
      const t = further ? concat([one(value), one(weigh(further))], 0) : one(value);
      return {
        grads: sums.length ? grads.map((g, i) => add(sums[i], g)) : grads,
        terms: terms ? add(terms, t) : t,
      };
    });
    for (const t of [...sums, ...(terms ? [terms] : [])]) t.dispose();
    sums = round.grads;
    terms = round.terms;
  }
  const images = step * config.batch;
  tidy(() => {
    state.adam.step(sums, { lr: learningRate(config, images) });
    emaUpdateMany([...state.ema.values()], paramList, emaBeta(config, images));
  });
  for (const g of sums) g.dispose();
  return terms!;
}

/** Writes the EMA network alone (network-ema.safetensors, EDM's layout) at `step`. */
function saveEma(out: string, ema: Params, step: number, config: TrainConfig): Promise<void> {
  return saveNetwork(`${out}/network-ema.safetensors`, ema, {
    format: "edm-precond-songunet/1",
    step: String(step),
    config: JSON.stringify(config),
  });
}

/**
 * Trains (or resumes) a run to `config.steps` steps.
 *
 * @param config the experiment
 * @param data training images, or streamed k-space slices
 * @param opts where and how
 * @returns the final state (caller disposes params, ema and adam)
 * @example
 * ```ts ignore
 * import { train } from "./train.ts";
 * await train(config, await loadDataset(config.data), { out: "runs/x", backend });
 * ```
 */
export async function train(
  config: TrainConfig,
  data: ImageDataset | StreamedDataset,
  opts: TrainOptions,
): Promise<TrainState> {
  validateConfig(config);
  const { backend, out } = opts;
  await Deno.mkdir(out, { recursive: true });
  const net = buildNetwork(config, data.shape);
  const state = initTrainState(net, config, backend);
  const { ema } = state;
  const ckpt = `${out}/checkpoint.safetensors`;
  const enc = new TextEncoder();
  const run = await checkRun(out, config, opts.resume ?? false);
  const overrides = run?.overrides ?? [];
  if (run) {
    await loadCheckpoint(ckpt, state, backend);
    const changed = overrides.map((d) => `${d.field} ${show(d.recorded)} → ${show(d.wanted)}`)
      .join(", ");
    console.log(
      `resumed from ${ckpt} at step ${state.step}` +
        (changed ? `; overriding ${changed} (logged in log.jsonl)` : ""),
    );
    // A kill between a checkpoint and its EMA export leaves the export a checkpoint behind;
    // two such kills in a row, two: bring it level with the checkpoint before training on.
    await saveEma(out, ema, state.step, config);
  }
  await removeStaleTemps(out);
  let saved = state.step;
  const configText = JSON.stringify(config, null, 2) + "\n";
  if (await Deno.readTextFile(`${out}/config.json`).catch(() => "") !== configText) {
    await orStop(
      () => writeFileAtomic(`${out}/config.json`, enc.encode(configText)),
      `cannot write in ${out}`,
      "",
    );
  }
  const secondsBefore = await truncateLog(`${out}/log.jsonl`, state.step);
  const log = await Deno.open(`${out}/log.jsonl`, { append: true, create: true });
  if (overrides.length > 0) {
    const rec: OverrideRecord = { step: state.step, override: overrides };
    await writeAll(log, enc.encode(JSON.stringify(rec) + "\n"));
  }
  // The grid the checkpoint's step promised may be lost to a kill right after the checkpoint.
  const grid = samplesPath(out, state.step);
  const writeGrid = (path: string) =>
    "data" in data
      ? writePriorGrid(path, net, ema, config, data.shape, backend)
      : data.writeGrid(path, net, ema, config, backend);
  if (run && sampleDue(run.recorded, state.step) && !await exists(grid)) await writeGrid(grid);

  let pending: Tensor[] = [];
  const engine = backend instanceof WebGpuBackend ? backend.engine : null;
  if (engine) engine.peakLiveBytes = engine.liveBytes;
  let windowStart = performance.now();
  let windowSteps = 0;
  const t0 = performance.now() - secondsBefore * 1000;
  try {
    while (state.step < config.steps) {
      const step = state.step + 1;
      const images = step * config.batch;
      const lr = learningRate(config, images);
      const indices = batchIndices(data.count, config.batch, config.seed, step);
      if ("data" in data) {
        const batch = { images: gatherBatch(data, indices), indices, shape: data.shape };
        pending.push(trainStep(net, state, config, batch, step));
      } else {
        using batch = data.lossBatch(indices, backend);
        pending.push(trainStep(net, state, config, batch, step));
      }
      state.step = step;
      windowSteps++;
      opts.onStep?.(step);
      const last = step === config.steps;
      const checkpointNow = step % config.checkpointEvery === 0 || last;
      const sampleNow = sampleDue(config, step);
      if (step % config.logEvery === 0 || checkpointNow || sampleNow) {
        const values = await backend.readMany(pending);
        for (const t of pending) t.dispose();
        pending = [];
        const losses = values.map((v) => v[0]);
        const bad = losses.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          throw new DivergenceError(
            `loss became ${losses[bad]} at step ${
              step - losses.length + 1 + bad
            }: stopped. The last good ` +
              `checkpoint (if any) is kept in ${ckpt}; lower --lr or check the data, then --resume.`,
          );
        }
        const now = performance.now();
        const rec: LogRecord = {
          step,
          images,
          loss: mean(losses),
          furtherLoss: config.ambient ? mean(values.map((v) => v[1])) : null,
          lr,
          imagesPerSecond: (windowSteps * config.batch) / ((now - windowStart) / 1000),
          seconds: (now - t0) / 1000,
          peakMiB: engine ? engine.peakLiveBytes / 2 ** 20 : null,
        };
        if (engine) engine.peakLiveBytes = engine.liveBytes;
        windowStart = now;
        windowSteps = 0;
        await writeAll(log, enc.encode(JSON.stringify(rec) + "\n"));
        opts.onLog?.(rec, config);
      }
      if (checkpointNow) {
        const kept = saved > 0 ? `; ${ckpt} still holds step ${saved}` : "";
        const what = `cannot write the checkpoint of step ${step}`;
        await orStop(() => saveCheckpoint(ckpt, state, config), what, kept);
        saved = step;
        await orStop(() => saveEma(out, ema, step, config), `${what}'s EMA network`, kept);
      }
      if (sampleNow) await writeGrid(samplesPath(out, step));
    }
  } finally {
    for (const t of pending) t.dispose();
    log.close();
  }
  return state;
}

/** Whether a run writes a sample grid at `step`: every sampleEvery steps, and at the end. */
function sampleDue(c: TrainConfig, step: number): boolean {
  return (c.sampleEvery > 0 && step % c.sampleEvery === 0) || step === c.steps;
}

/**
 * The sample grid of `step` in a run folder.
 *
 * @param out the run folder
 * @param step the training step
 * @returns its path
 */
export function samplesPath(out: string, step: number): string {
  return `${out}/samples-${String(step).padStart(7, "0")}.png`;
}

/** What {@link checkRun} found in a run folder that a resume continues. */
export interface RunRecord {
  /** The configuration the checkpoint records. */
  recorded: TrainConfig;
  /** Its step. */
  step: number;
  /** Fields of RESUME_OVERRIDES that the new configuration changes. */
  overrides: ConfigDifference[];
}

/**
 * Checks that training `config` into `out` keeps the folder's record: a checkpoint is
 * continued only with `resume`, and then with the recorded configuration (a changed field
 * is refused unless it is one of RESUME_OVERRIDES); a folder without a checkpoint may hold
 * only the same run's config.json. Reads headers only, so it runs before any data loads.
 *
 * @param out the run folder
 * @param config the configuration asked for
 * @param resume whether to continue a checkpoint
 * @returns the record to resume, or null for a fresh run
 * @example
 * ```ts ignore
 * import { checkRun } from "./train.ts";
 * const run = await checkRun("runs/tiny-inpaint", config, true); // UsageError on a contradiction
 * ```
 */
export async function checkRun(
  out: string,
  config: TrainConfig,
  resume: boolean,
): Promise<RunRecord | null> {
  const ckpt = `${out}/checkpoint.safetensors`;
  if (!await exists(ckpt)) {
    await checkConfigRecord(`${out}/config.json`, config);
    return null;
  }
  if (!resume) {
    throw new UsageError(`${ckpt} exists: pass --resume to continue it, or choose another --out`);
  }
  const { config: recorded, step } = await readCheckpointRecord(ckpt);
  const diffs = configDifferences(recorded, config);
  const refused = diffs.filter((d) => !RESUME_OVERRIDES.includes(d.field));
  if (refused.length > 0) {
    throw new UsageError(
      `--resume continues the run recorded in ${ckpt}, but ` +
        refused.map((d) => `${d.field} is ${show(d.recorded)} there and ${show(d.wanted)} now`)
          .join("; ") +
        `: drop those flags, or train a new run with another --out (a resume may change only ` +
        `${RESUME_OVERRIDES.join(", ")})`,
    );
  }
  if (config.steps < step) {
    throw new UsageError(`${ckpt} is at step ${step}, past --steps ${config.steps}: give more`);
  }
  return { recorded, step, overrides: diffs };
}

/** A run folder without a checkpoint may hold only the same run's config.json. */
async function checkConfigRecord(path: string, config: TrainConfig): Promise<void> {
  const text = await Deno.readTextFile(path).catch(() => null);
  if (text === null) return;
  let old: TrainConfig;
  try {
    old = JSON.parse(text);
  } catch {
    return; // A half-written record of a run that never checkpointed: nothing to keep.
  }
  const d = configDifferences(old, config)[0];
  if (d) {
    throw new UsageError(
      `${path} records another run (${d.field} ${show(d.recorded)}, now ${show(d.wanted)}) ` +
        `that has no checkpoint yet: choose another --out, or delete that folder to start over`,
    );
  }
}

/**
 * Runs a write of the run's state; any failure but divergence stops the run at once with
 * one line that says what is kept and what to do (losing the run is the worst outcome).
 */
async function orStop(write: () => Promise<void>, what: string, kept: string): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (e instanceof DivergenceError) throw e;
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new CheckpointError(
      `${what} (${why}): stopped${kept}. Free disk space or fix the folder, then --resume.`,
    );
  }
}

function show(v: unknown): string {
  return v === undefined ? "unset" : JSON.stringify(v);
}

function keepAll(p: Params): Params {
  for (const t of p.values()) keep(t);
  return p;
}

function copy(t: Tensor): Tensor {
  const c = t.backend.empty(t.shape);
  t.backend.copyInto(t, c);
  return c;
}

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await f.write(bytes.subarray(at));
}

/** The temp files of writeFileAtomic that a killed run can leave behind (`<name>.<pid>.tmp`). */
const STALE_TEMP =
  /^(checkpoint\.safetensors|network-ema\.safetensors|config\.json|log\.jsonl|samples-\d+\.png)\.\d+\.tmp$/;

async function removeStaleTemps(out: string): Promise<void> {
  for await (const e of Deno.readDir(out)) {
    if (e.isFile && STALE_TEMP.test(e.name)) await Deno.remove(`${out}/${e.name}`);
  }
}

/**
 * Keeps the complete log records up to `step` (the checkpoint's): a killed run may have
 * logged steps it never checkpointed, or half a line, and the resumed run logs them again.
 * Returns the training seconds of the last kept window, where the resumed clock goes on.
 */
async function truncateLog(path: string, step: number): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return 0;
  }
  let seconds = 0;
  const kept = text.split("\n").filter((line) => {
    try {
      const r = JSON.parse(line) as Partial<LogRecord>;
      if (r.step! <= step && r.seconds !== undefined) seconds = r.seconds;
      return r.step! <= step;
    } catch {
      return false;
    }
  });
  const next = kept.map((l) => l + "\n").join("");
  if (next !== text) await writeFileAtomic(path, new TextEncoder().encode(next));
  return seconds;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
