/**
 * The models of the study: `name=path` specs, where path is a run folder written by
 * src/train/train.ts (config.json + network-ema.safetensors) or a network .safetensors whose
 * metadata holds the config (scripts/convert-state-dict.py writes it), or a bare one with the
 * config given as a JSON file (the scripts' --config); loaded with the EMA weights, plus a
 * digest of those weights so cached results are recomputed when a model is retrained.
 *
 * @module
 */
import { loadModel as loadPrior, type Model, readModelFiles } from "../../src/api.ts";
import type { Backend } from "../../src/core/backend.ts";
import { UsageError } from "../cli.ts";
import type { TrainConfig } from "../../src/train/config.ts";

/** A model as named on the command line. */
export interface ModelSpec {
  /** Short name used in tables, legends and file names. */
  name: string;
  /** Run folder or .safetensors file. */
  path: string;
}

/** What a model is, without its weights. */
export interface ModelInfo extends ModelSpec {
  /** The weights file. */
  weights: string;
  /** Its training configuration. */
  config: TrainConfig;
  /** SHA-256 of the weights file (hex). */
  digest: string;
}

/** A model ready to sample with (free with `disposeModel`). */
export interface LoadedModel extends ModelInfo, Model {}

/**
 * Parses `a=runs/x,b=path/net.safetensors`.
 *
 * @param arg the flag's value
 * @returns the specs, names unique and file-name safe
 */
export function parseModels(arg: string): ModelSpec[] {
  const specs = arg.split(",").filter((s) => s.trim() !== "").map((s) => {
    const at = s.indexOf("=");
    if (at <= 0) throw new UsageError(`--models: "${s}" is not name=path`);
    const name = s.slice(0, at).trim(), path = s.slice(at + 1).trim();
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new UsageError(
        `--models: name "${name}" may hold only letters, digits, "_", "." and "-"`,
      );
    }
    return { name, path };
  });
  const names = specs.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UsageError(`--models: "${dup}" is named twice`);
  if (specs.length === 0) throw new UsageError("--models: give at least one name=path");
  return specs;
}

/**
 * Reads a model's configuration and the digest of its weights.
 *
 * @param spec name and path
 * @param configFile a JSON configuration (a run's config.json) that replaces the model's own:
 *   what a bare state_dict needs
 * @returns the info (weights not loaded yet)
 */
export async function readModelInfo(spec: ModelSpec, configFile?: string): Promise<ModelInfo> {
  // The path names the model in every message: `name` is only a label (sample.ts has none).
  let given: TrainConfig | undefined;
  if (configFile !== undefined) {
    const text = await Deno.readTextFile(configFile).catch(() => {
      throw new UsageError(`--config: cannot read ${configFile}`);
    });
    try {
      given = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--config ${configFile}: not JSON (${(e as Error).message})`);
    }
  }
  const { weights, bytes, config } = await readModelFiles(spec.path, given);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const digest = [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { ...spec, weights, config, digest };
}

/**
 * Builds the network of a model and loads its EMA weights (the library's `loadModel`).
 *
 * @param info the model
 * @param shape image shape [C, H, W]
 * @param backend where the weights go
 * @returns the loaded model
 */
export async function loadModel(
  info: ModelInfo,
  shape: readonly [number, number, number],
  backend: Backend,
): Promise<LoadedModel> {
  const prior = await loadPrior(info.path, { backend, shape, config: info.config });
  return { ...info, ...prior, config: info.config };
}

/**
 * Frees a model's weights.
 *
 * @param m the model
 */
export function disposeModel(m: LoadedModel): void {
  for (const t of m.params.values()) t.dispose();
}

/**
 * "A-DPS (p = 0.6, δ = 0.1)" or "FS-DPS (clean)".
 *
 * @param c the model's config
 * @returns the sampler and training corruption
 */
export function methodLabel(c: TrainConfig): string {
  return c.ambient
    ? `A-DPS (ambient, p = ${c.corruption.p}, δ = ${c.corruption.delta})`
    : "FS-DPS (clean)";
}
