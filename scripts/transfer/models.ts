/**
 * The models of the study: `name=path` specs, where path is a run folder written by
 * src/train.ts (config.json + network-ema.safetensors) or a network .safetensors whose
 * metadata holds the config (scripts/convert-state-dict.py writes it), or a bare one with the
 * config given as a JSON file (the scripts' --config); loaded with the EMA weights, plus a
 * digest of those weights so cached results are recomputed when a model is retrained.
 *
 * @module
 */
import type { Backend } from "../../src/backend.ts";
import { UsageError } from "../../src/cli.ts";
import { loadParams } from "../../src/io/params_io.ts";
import { decodeSafetensors } from "../../src/io/safetensors.ts";
import type { Params } from "../../src/nn/module.ts";
import type { EDMPrecond } from "../../src/nn/precond.ts";
import { buildNetwork } from "../../src/train.ts";
import type { TrainConfig } from "../../src/train_config.ts";

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

/** A model ready to sample with. */
export interface LoadedModel extends ModelInfo {
  /** The preconditioned network. */
  net: EDMPrecond;
  /** Its EMA weights (free with `disposeModel`). */
  params: Params;
}

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
  const stat = await Deno.stat(spec.path).catch(() => {
    throw new UsageError(
      `${spec.path} does not exist: give a run folder (config.json + network-ema.safetensors) ` +
        `or a network .safetensors`,
    );
  });
  const weights = stat.isDirectory ? `${spec.path}/network-ema.safetensors` : spec.path;
  const bytes = await Deno.readFile(weights).catch(() => {
    throw new UsageError(`cannot read ${weights} (is training finished?)`);
  });
  let config: TrainConfig;
  try {
    if (configFile !== undefined) {
      const text = await Deno.readTextFile(configFile).catch(() => {
        throw new UsageError(`--config: cannot read ${configFile}`);
      });
      config = JSON.parse(text);
    } else if (stat.isDirectory) {
      config = JSON.parse(await Deno.readTextFile(`${spec.path}/config.json`));
    } else {
      const meta = decodeSafetensors(bytes).metadata;
      if (!meta.config) {
        throw new UsageError(
          `${weights} has no "config" metadata: convert it again with ` +
            `scripts/convert-state-dict.py (with --p P --delta D for an ambient network), or ` +
            `pass --config FILE.json`,
        );
      }
      config = JSON.parse(meta.config);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${spec.path}: not a model of this package (${(e as Error).message})`);
  }
  if (typeof config.ambient !== "boolean" || !config.network) {
    throw new UsageError(`${spec.path}: its config lacks "ambient" or "network"`);
  }
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const digest = [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { ...spec, weights, config, digest };
}

/**
 * The image shape [C, H, W] a configuration's data has, or null where the data does not say.
 *
 * @param c a model's configuration
 * @returns the shape or null
 */
export function configShape(c: TrainConfig): [number, number, number] | null {
  const d = c.data;
  if (d?.kind === "fmnist") return [1, 32, 32];
  if (d?.kind === "celeba") return [3, 64, 64];
  if (d?.kind === "folder") return [d.channels, d.size, d.size];
  return null;
}

/**
 * Builds the network of a model and loads its EMA weights.
 *
 * @param info the model
 * @param shape image shape [C, H, W]
 * @param backend where the weights go
 * @returns the loaded model
 */
export async function loadModel(
  info: ModelInfo,
  shape: readonly number[],
  backend: Backend,
): Promise<LoadedModel> {
  const net = buildNetwork(info.config, shape);
  const st = decodeSafetensors(await Deno.readFile(info.weights));
  try {
    return { ...info, net, params: loadParams(st, net.model.registry, backend) };
  } catch (e) {
    throw new UsageError(
      `model ${info.name} (${info.weights}) does not fit ${shape.join("×")} images: ` +
        (e as Error).message,
    );
  }
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
