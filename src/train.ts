/**
 * The training loop (SPEC §2–3): Adam with warm-up and gradient clipping, dropout, EMA,
 * one submit per step with no GPU await, losses read back in batches, atomic checkpoints,
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
  saveCheckpoint,
  saveNetwork,
  type TrainState,
} from "./checkpoint.ts";
import { batchIndices, gatherBatch, type ImageDataset } from "./data/dataset.ts";
import type { Params } from "./nn/module.ts";
import { EDMPrecond } from "./nn/precond.ts";
import { SongUNet } from "./nn/song_unet.ts";
import { concat } from "./ops/concat.ts";
import { Adam } from "./optim/adam.ts";
import { emaUpdateMany } from "./optim/ema.ts";
import { keep, tidy } from "./scope.ts";
import type { Tensor } from "./tensor.ts";
import { type TrainConfig, validateConfig } from "./train_config.ts";
import { writePriorGrid } from "./ambient/prior_grid.ts";
import { trainingContext } from "./ambient/streams.ts";
import { writeFileAtomic } from "./io/safetensors.ts";

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
  /** Seconds since this process started training. */
  seconds: number;
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
  if (opts.resume && await exists(ckpt)) {
    const saved = await loadCheckpoint(ckpt, state, backend);
    if (
      JSON.stringify(saved.network) !== JSON.stringify(config.network) ||
      saved.ambient !== config.ambient
    ) {
      throw new Error(
        `${ckpt} was trained with another network; use another --out or drop --resume`,
      );
    }
    console.log(`resumed from ${ckpt} at step ${state.step}`);
    // A kill between a checkpoint and its EMA export leaves the export a checkpoint behind;
    // two such kills in a row, two: bring it level with the checkpoint before training on.
    await saveEma(out, ema, state.step, config);
  } else if (await exists(ckpt)) {
    throw new Error(`${ckpt} exists: pass --resume to continue it, or choose another --out`);
  }
  const enc = new TextEncoder();
  await removeStaleTemps(out);
  await writeFileAtomic(`${out}/config.json`, enc.encode(JSON.stringify(config, null, 2) + "\n"));
  await truncateLog(`${out}/log.jsonl`, state.step);
  const log = await Deno.open(`${out}/log.jsonl`, { append: true, create: true });

  const paramList = [...params.values()];
  const emaList = [...ema.values()];
  let pending: Tensor[] = [];
  let windowStart = performance.now();
  let windowSteps = 0;
  const t0 = performance.now();
  try {
    while (state.step < config.steps) {
      const step = state.step + 1;
      const images = step * config.batch;
      const lr = learningRate(config, images);
      const indices = batchIndices(data.count, config.batch, config.seed, step);
      const seed = stepSeed(config, step);
      const terms = tidy(() => {
        const x = backend.fromArray(gatherBatch(data, indices), [config.batch, ch, h, w]);
        const ctx = trainingContext(seed);
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
        return further ? concat([value.reshape([1]), further.reshape([1])], 0) : value.reshape([1]);
      });
      pending.push(terms);
      state.step = step;
      windowSteps++;
      opts.onStep?.(step);
      const last = step === config.steps;
      const checkpointNow = step % config.checkpointEvery === 0 || last;
      const sampleNow = (config.sampleEvery > 0 && step % config.sampleEvery === 0) || last;
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
          `${out}/samples-${String(step).padStart(7, "0")}.png`,
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
 */
async function truncateLog(path: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return;
  }
  const kept = text.split("\n").filter((line) => {
    try {
      return (JSON.parse(line) as LogRecord).step <= step;
    } catch {
      return false;
    }
  });
  const next = kept.map((l) => l + "\n").join("");
  if (next !== text) await writeFileAtomic(path, new TextEncoder().encode(next));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
