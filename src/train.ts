/**
 * The training loop (docs/method.md §2.5, §3): Adam with warm-up and gradient clipping, dropout,
 * EMA, one submit per step with no GPU await, losses read back in batches, atomic checkpoints,
 * sample grids, exact resume, and a clear stop on NaN.
 *
 * @module
 */
import { ambientLoss, edmLoss } from "./ambient/loss.ts";
import { furtherCorrupt } from "./ambient/masks.ts";
import { grad } from "./autograd.ts";
import type { Backend } from "./backend.ts";
import {
  DivergenceError,
  loadCheckpoint,
  readCheckpointRecord,
  saveCheckpoint,
  saveNetwork,
  type TrainState,
} from "./checkpoint.ts";
import { UsageError } from "./cli.ts";
import { batchIndices, gatherBatch, type ImageDataset } from "./data/dataset.ts";
import type { Params } from "./nn/module.ts";
import { EDMPrecond } from "./nn/precond.ts";
import { SongUNet } from "./nn/song_unet.ts";
import { concat } from "./ops/concat.ts";
import { Adam } from "./optim/adam.ts";
import { emaUpdateMany } from "./optim/ema.ts";
import { keep, tidy } from "./scope.ts";
import type { Tensor } from "./tensor.ts";
import {
  type ConfigDifference,
  configDifferences,
  RESUME_OVERRIDES,
  type TrainConfig,
  validateConfig,
} from "./train_config.ts";
import { writePriorGrid } from "./ambient/prior_grid.ts";
import { writeFileAtomic } from "./io/safetensors.ts";
import { reshape } from "./ops/reshape.ts";

export { DivergenceError };

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

/** The network a config trains: channels from the data, doubled input for ambient masks. */
export function buildNetwork(c: TrainConfig, shape: readonly number[]): EDMPrecond {
  const [ch, h] = shape;
  return new EDMPrecond(
    new SongUNet({
      ...c.network,
      imgResolution: h,
      inChannels: c.ambient ? 2 * ch : ch,
      outChannels: ch,
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

/** Seeds derived from (experiment seed, step): the step's randomness, reproducible on resume. */
function stepSeed(c: TrainConfig, step: number): number {
  return (c.seed * 7_919 + step * 104_729) >>> 0;
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
 * @param data training images
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
  data: ImageDataset,
  opts: TrainOptions,
): Promise<TrainState> {
  validateConfig(config);
  const { backend, out } = opts;
  await Deno.mkdir(out, { recursive: true });
  const [ch, h, w] = data.shape;
  const net = buildNetwork(config, data.shape);
  const params = keepAll(net.model.registry.materialize(backend, config.seed));
  const ema = keepAll(new Map([...params].map(([k, t]) => [k, copy(t)])));
  const adam = new Adam([...params.values()], { maxGradNorm: config.gradClip });
  const state: TrainState = { step: 0, params, ema, adam };
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
  const configText = JSON.stringify(config, null, 2) + "\n";
  if (await Deno.readTextFile(`${out}/config.json`).catch(() => "") !== configText) {
    await writeFileAtomic(`${out}/config.json`, enc.encode(configText));
  }
  const secondsBefore = await truncateLog(`${out}/log.jsonl`, state.step);
  const log = await Deno.open(`${out}/log.jsonl`, { append: true, create: true });
  if (overrides.length > 0) {
    const rec: OverrideRecord = { step: state.step, override: overrides };
    await writeAll(log, enc.encode(JSON.stringify(rec) + "\n"));
  }
  // The grid the checkpoint's step promised may be lost to a kill right after the checkpoint.
  const grid = samplesPath(out, state.step);
  if (run && sampleDue(run.recorded, state.step) && !await exists(grid)) {
    await writePriorGrid(grid, net, ema, config, data.shape, backend);
  }

  const paramList = [...params.values()];
  const emaList = [...ema.values()];
  let pending: Tensor[] = [];
  let windowStart = performance.now();
  let windowSteps = 0;
  const t0 = performance.now() - secondsBefore * 1000;
  try {
    while (state.step < config.steps) {
      const step = state.step + 1;
      const images = step * config.batch;
      const lr = learningRate(config, images);
      const indices = batchIndices(data.count, config.batch, config.seed, step);
      const seed = stepSeed(config, step);
      const terms = tidy(() => {
        const x = backend.fromArray(gatherBatch(data, indices), [config.batch, ch, h, w]);
        const ctx = { training: true, seed, stream: 0 };
        const masks = config.ambient
          ? furtherCorrupt(backend, indices, h, w, config.corruption, config.corruptionSeed)
          : null;
        let further: Tensor | undefined;
        const { value, grads } = grad(() => {
          const l = masks
            ? ambientLoss(net, params, x, masks, seed, ctx)
            : edmLoss(net, params, x, seed, ctx);
          further = l.furtherLoss;
          return l.loss;
        }, paramList);
        adam.step(grads, { lr });
        const beta = emaBeta(config, images);
        emaUpdateMany(emaList, paramList, beta);
        return further
          ? concat([reshape(value, [1]), reshape(further, [1])], 0)
          : reshape(value, [1]);
      });
      pending.push(terms);
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
        };
        windowStart = now;
        windowSteps = 0;
        await writeAll(log, enc.encode(JSON.stringify(rec) + "\n"));
        opts.onLog?.(rec, config);
      }
      if (checkpointNow) {
        await saveCheckpoint(ckpt, state, config);
        await saveEma(out, ema, step, config);
      }
      if (sampleNow) {
        await writePriorGrid(
          samplesPath(out, step),
          net,
          ema,
          config,
          data.shape,
          backend,
        );
      }
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
