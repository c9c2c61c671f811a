/**
 * A trained prior from the bytes of its safetensors file, with no file system: what a web
 * page (or any host without Deno) uses to load a shipped model; `loadModel` reads the files
 * and comes here.
 *
 * ```ts ignore
 * const model = await modelFromUrl(new URL("fixtures/models/fmnist-inpaint/network-ema.safetensors", base));
 * ```
 *
 * @module
 */
import type { Model } from "../api.ts";
import type { Backend } from "../core/backend.ts";
import { selectBackend } from "../core/select_backend.ts";
import { dataShape } from "../data/dataset.ts";
import { loadParams } from "./params_io.ts";
import { decodeSafetensors } from "./safetensors.ts";
import type { Params } from "../nn/module.ts";
import { buildNetwork } from "../train/train.ts";
import type { TrainConfig } from "../train/config.ts";
import { UsageError } from "../core/usage_error.ts";

/** Options of `modelFromBytes`. */
export interface ModelBytesOptions {
  /** Where the weights go (default: `selectBackend()`, WebGPU where available). */
  backend?: Backend;
  /** Image shape [C, H, W] (default: from the training data, e.g. 1×32×32 for Fashion-MNIST). */
  shape?: readonly [number, number, number];
  /** The training configuration (default: the file's "config" metadata). */
  config?: TrainConfig;
  /** What to call the weights in errors (a path or URL). */
  name?: string;
}

/** A model built from bytes; `dispose()` (or `using`) frees its weights. */
export interface BytesModel extends Model, Disposable {
  /** Frees the weights. */
  dispose(): void;
}

/**
 * Builds a trained prior from a network .safetensors file's bytes: the network its config
 * describes, the weights on the backend.
 *
 * @param bytes the safetensors file
 * @param options backend, image shape, the config for a file without one
 * @returns the model (free with `dispose()` or `using`)
 * @example
 * ```ts ignore
 * import { cpuBackend, modelFromBytes } from "./mod.ts";
 * const bytes = await (await fetch("network-ema.safetensors")).bytes();
 * using model = await modelFromBytes(bytes, { backend: cpuBackend() });
 * ```
 */
export async function modelFromBytes(
  bytes: Uint8Array,
  options: ModelBytesOptions = {},
): Promise<BytesModel> {
  const name = options.name ?? "the weights";
  let file;
  try {
    file = decodeSafetensors(bytes);
  } catch (e) {
    throw new UsageError(`${name}: not a safetensors file (${(e as Error).message})`);
  }
  const config = options.config ?? configFromMetadata(file.metadata, name);
  checkConfig(config, name);
  const shape = options.shape ?? (config.data ? dataShape(config.data) : null);
  if (!shape) throw new Error(`give options.shape ([C, H, W]) for ${name}`);
  const backend = options.backend ?? await selectBackend();
  const net = buildNetwork(config, shape);
  let params: Params;
  try {
    params = loadParams(file, net.model.registry, backend);
  } catch (e) {
    throw new UsageError(`${name} does not fit ${shape.join("×")} images: ${(e as Error).message}`);
  }
  const dispose = () => {
    for (const t of params.values()) t.dispose();
  };
  return { net, params, config, shape, backend, dispose, [Symbol.dispose]: dispose };
}

/**
 * Fetches a network .safetensors file (http(s):, or file: where the host allows) and builds
 * its model, as `modelFromBytes`.
 *
 * @param url where the file is
 * @param options backend, image shape, the config for a file without one
 * @returns the model (free with `dispose()` or `using`)
 * @example
 * ```ts ignore
 * using model = await modelFromUrl("/models/fmnist-inpaint.safetensors");
 * ```
 */
export async function modelFromUrl(
  url: string | URL,
  options: ModelBytesOptions = {},
): Promise<BytesModel> {
  const res = await fetch(url).catch((e) => {
    throw new UsageError(`cannot fetch ${url}: ${(e as Error).message}`);
  });
  if (!res.ok) throw new UsageError(`cannot fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return await modelFromBytes(bytes, { name: String(url), ...options });
}

/**
 * The training configuration in a weights file's metadata (scripts/export-model.ts and
 * scripts/convert-state-dict.py write it there).
 *
 * @param metadata the safetensors metadata
 * @param name what to call the file in errors
 * @returns the parsed configuration, unchecked
 */
export function configFromMetadata(metadata: Record<string, string>, name: string): TrainConfig {
  if (!metadata.config) {
    throw new UsageError(
      `${name} has no "config" metadata: convert it again with ` +
        `scripts/convert-state-dict.py (with --p P --delta D for an ambient network), or ` +
        `give its configuration (--config FILE.json in the scripts)`,
    );
  }
  try {
    return JSON.parse(metadata.config);
  } catch (e) {
    throw new UsageError(`${name}: its "config" metadata is not JSON (${(e as Error).message})`);
  }
}

/**
 * Checks that a configuration describes a model of this package.
 *
 * @param config the configuration
 * @param name what to call its model in errors
 */
export function checkConfig(config: TrainConfig, name: string): void {
  if (typeof config.ambient !== "boolean" || !config.network) {
    throw new UsageError(`${name}: its config lacks "ambient" or "network"`);
  }
}
