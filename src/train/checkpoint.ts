/**
 * Training checkpoints in safetensors: raw weights, EMA weights, Adam moments, the step and
 * the config, written atomically; plus the EMA network alone under the reference
 * `EDMPrecond(SongUNet)` names, which PyTorch loads as a state_dict.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { UsageError } from "../core/usage_error.ts";
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "../io/safetensors.ts";
import { writeFileAtomic } from "./io/atomic.ts";
import type { Params } from "../nn/module.ts";
import type { Adam } from "../optim/adam.ts";
import type { Tensor } from "../core/tensor.ts";
import type { TrainConfig } from "./config.ts";

/** The mutable state of a run. */
export interface TrainState {
  /** Steps completed. */
  step: number;
  /** Raw weights. */
  params: Params;
  /** EMA weights (same names). */
  ema: Params;
  /** The optimiser (m, v in the order of `params`). */
  adam: Adam;
}

/** Thrown when the loss stops being finite; the last good checkpoint is kept. */
export class DivergenceError extends Error {
  /** Error name. */
  override name = "DivergenceError";
}

/** Thrown when a checkpoint cannot be written: the run stops, the previous one is kept. */
export class CheckpointError extends Error {
  /** Error name. */
  override name = "CheckpointError";
}

const GROUPS = ["net", "ema", "adam_m", "adam_v"] as const;

function groups(s: TrainState): Record<(typeof GROUPS)[number], Tensor[]> {
  return {
    net: [...s.params.values()],
    ema: [...s.ema.values()],
    adam_m: [...s.adam.m],
    adam_v: [...s.adam.v],
  };
}

/**
 * Writes the whole training state to `path` (temp file + rename: never half-written).
 * A state holding a non-finite value is refused with a DivergenceError and `path` keeps
 * the last good checkpoint: the loss can stay finite for a step after the weights or Adam
 * moments have overflowed.
 *
 * @param path checkpoint file
 * @param s the state
 * @param config the run's configuration (stored as JSON metadata)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { loadCheckpoint, saveCheckpoint, type TrainState } from "./checkpoint.ts";
 * import { Adam } from "../optim/adam.ts";
 * import { EDM_DEFAULTS, type TrainConfig } from "./config.ts";
 * const config: TrainConfig = {
 *   ...EDM_DEFAULTS,
 *   name: "tiny",
 *   data: { kind: "fmnist", dir: "fixtures/fmnist" },
 *   network: { modelChannels: 8, channelMult: [1], numBlocks: 1, attnResolutions: [], dropout: 0 },
 *   ambient: true,
 *   corruption: { p: 0.6, delta: 0.1 },
 *   steps: 10,
 * };
 * const b = cpuBackend();
 * const params = new Map([["w", b.full([2, 2], 1)]]);
 * const ema = new Map([["w", b.full([2, 2], 1)]]);
 * const s: TrainState = { step: 3, params, ema, adam: new Adam([...params.values()]) };
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveCheckpoint(path, s, config);
 * const restored = await loadCheckpoint(path, s, b); // the config; s.step is 3 again
 * ```
 */
export async function saveCheckpoint(
  path: string,
  s: TrainState,
  config: TrainConfig,
): Promise<void> {
  const names = [...s.params.keys()];
  const g = groups(s);
  const flat = GROUPS.flatMap((k) => g[k]);
  const values = await flat[0].backend.readMany(flat);
  const tensors = new Map<string, NamedArray>();
  let i = 0;
  for (const k of GROUPS) {
    for (const name of names) {
      const t = flat[i];
      const v = values[i++];
      // WebGPU reads are f32 already: no second copy of a 1 GiB state.
      const data = v instanceof Float32Array ? v : Float32Array.from(v);
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new DivergenceError(
          `${k}/${name}[${bad}] became ${data[bad]} at step ${s.step}: stopped, not saved. ` +
            `The last good checkpoint (if any) is kept in ${path}; lower --lr or check the ` +
            `data, then --resume.`,
        );
      }
      tensors.set(`${k}/${name}`, { shape: [...t.shape], data });
    }
  }
  const metadata = {
    format: "adps-train-checkpoint/1",
    step: String(s.step),
    adam_t: String(s.adam.t),
    config: JSON.stringify(config),
  };
  await writeFileAtomic(path, encodeSafetensors({ tensors, metadata }));
}

/**
 * Restores a checkpoint into an existing state of the same network (in place).
 *
 * @param path checkpoint file
 * @param s state to overwrite
 * @param backend where the tensors live
 * @returns the configuration stored in the checkpoint
 */
export async function loadCheckpoint(
  path: string,
  s: TrainState,
  backend: Backend,
): Promise<TrainConfig> {
  let st;
  try {
    st = decodeSafetensors(await Deno.readFile(path));
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message}`);
  }
  checkFormat(path, st.metadata);
  const names = [...s.params.keys()];
  const g = groups(s);
  for (const k of GROUPS) {
    g[k].forEach((t, j) => {
      const saved = st.tensors.get(`${k}/${names[j]}`);
      if (!saved || saved.data.length !== t.size) {
        throw new UsageError(
          `${path}: ${k}/${names[j]} is missing or has the wrong shape (another network?)`,
        );
      }
      const fresh = backend.fromArray(saved.data, t.shape);
      backend.copyInto(fresh, t);
      fresh.dispose();
    });
  }
  s.step = Number(st.metadata.step);
  s.adam.t = Number(st.metadata.adam_t);
  return JSON.parse(st.metadata.config);
}

function checkFormat(path: string, metadata: Record<string, string>): void {
  if (metadata.format !== "adps-train-checkpoint/1") {
    throw new UsageError(
      `${path} is not a training checkpoint of this package (format ${metadata.format})`,
    );
  }
}

/**
 * The configuration and step a checkpoint records, from its header alone (cheap: the
 * tensors are not read), so a resume can be checked before any data is loaded.
 *
 * @param path checkpoint file
 * @returns the recorded configuration and step
 * @example
 * ```ts ignore
 * import { readCheckpointRecord } from "./checkpoint.ts";
 * const { config, step } = await readCheckpointRecord("runs/tiny-inpaint/checkpoint.safetensors");
 * ```
 */
export async function readCheckpointRecord(
  path: string,
): Promise<{ config: TrainConfig; step: number }> {
  const f = await Deno.open(path).catch((e) => {
    throw new UsageError(`cannot open ${path}: ${(e as Error).message}`);
  });
  try {
    const head = new Uint8Array(8);
    const bad = (why: string) => new UsageError(`${path}: not a valid safetensors file: ${why}`);
    if (await readFull(f, head) < 8) throw bad("shorter than its 8-byte header length");
    const hlen = Number(new DataView(head.buffer).getBigUint64(0, true));
    if (hlen > (await f.stat()).size - 8) throw bad(`header length ${hlen} exceeds the file`);
    const json = new Uint8Array(hlen);
    await readFull(f, json);
    let meta: Record<string, string>;
    try {
      meta = JSON.parse(new TextDecoder().decode(json)).__metadata__ ?? {};
    } catch {
      throw bad("header is not JSON (truncated or corrupt file?)");
    }
    checkFormat(path, meta);
    return { config: JSON.parse(meta.config), step: Number(meta.step) };
  } finally {
    f.close();
  }
}

async function readFull(f: Deno.FsFile, into: Uint8Array): Promise<number> {
  let at = 0;
  while (at < into.length) {
    const n = await f.read(into.subarray(at));
    if (n === null) break;
    at += n;
  }
  return at;
}

/**
 * Writes the EMA network alone, under the reference state_dict names.
 *
 * @param path output file
 * @param ema EMA weights
 * @param metadata strings to store (config, step, …)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { saveNetwork } from "./checkpoint.ts";
 * const ema = new Map([["model.map_noise.weight", cpuBackend().full([4, 4], 0.1)]]);
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveNetwork(path, ema, { step: "1000" }); // readable by decodeSafetensors
 * ```
 */
export async function saveNetwork(
  path: string,
  ema: Params,
  metadata: Record<string, string>,
): Promise<void> {
  const ts = [...ema.values()];
  const values = await ts[0].backend.readMany(ts);
  const tensors = new Map<string, NamedArray>();
  [...ema.keys()].forEach((name, i) =>
    tensors.set(name, { shape: [...ts[i].shape], data: Float32Array.from(values[i]) })
  );
  await writeFileAtomic(path, encodeSafetensors({ tensors, metadata }));
}
