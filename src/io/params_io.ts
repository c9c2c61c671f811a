/**
 * Network parameters to and from safetensors, under the reference `EDMPrecond(SongUNet)`
 * state_dict names, so checkpoints move between this package and PyTorch
 * (bench/peer/song_unet.py, scripts/convert-state-dict.py).
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import type { Params, Registry } from "../nn/module.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type NamedArray,
  type SafeTensors,
} from "./safetensors.ts";
import { writeFileAtomic } from "./atomic.ts";

/** Options of loadParams. */
export interface LoadParamsOptions {
  /** A prefix the file's names carry in front of the registry's names (e.g. "ema."). */
  prefix?: string;
  /** Whether tensors the registry does not declare are an error (default true). */
  strict?: boolean;
}

/** EDM registers its resampling filter as a buffer: not a parameter, and always [1,1] here. */
const BUFFER_SUFFIX = ".resample_filter";

/**
 * Reads every parameter back to the host, as f32, in the order of `params` (registry order
 * for a materialised Registry).
 *
 * @param params the parameters
 * @param metadata string metadata stored in the file's header
 * @returns the safetensors contents
 */
export async function paramsToSafetensors(
  params: Params,
  metadata: Record<string, string> = {},
): Promise<SafeTensors> {
  const tensors = new Map<string, NamedArray>();
  const ts = [...params.values()];
  // One read of every tensor (in chunks under the device's limits), not a round-trip each.
  const values = ts.length ? await ts[0].backend.readMany(ts) : [];
  for (const [i, [name, t]] of [...params].entries()) {
    const v = values[i];
    tensors.set(name, {
      shape: [...t.shape],
      data: v instanceof Float32Array ? v : Float32Array.from(v),
    });
  }
  return { tensors, metadata: { ...metadata } };
}

/**
 * Creates the parameters a registry declares from safetensors contents, checking that every
 * declared name is present with its declared shape.
 *
 * @param st safetensors contents (e.g. from decodeSafetensors)
 * @param registry the declarations of the network that will use the parameters
 * @param backend where the tensors are created
 * @param opts prefix of the file's names, strict (unexpected tensors are an error)
 * @returns the parameters by registry name, in registry order
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { Registry } from "../nn/module.ts";
 * import { loadParams, paramsToSafetensors } from "./params_io.ts";
 * const reg = new Registry();
 * reg.declare("w", [2, 3], { mode: "xavier_uniform", fanIn: 3, fanOut: 2 });
 * const st = await paramsToSafetensors(reg.materialize(cpuBackend(), 0));
 * const params = loadParams(st, reg, cpuBackend());
 * ```
 */
export function loadParams(
  st: SafeTensors,
  registry: Registry,
  backend: Backend,
  opts: LoadParamsOptions = {},
): Params {
  const prefix = opts.prefix ?? "";
  const strict = opts.strict ?? true;
  const declared = new Set(registry.specs.map((s) => prefix + s.name));
  const missing: string[] = [];
  const mismatched: string[] = [];
  const unexpected: string[] = [];
  const badBuffers: string[] = [];
  for (const s of registry.specs) {
    const t = st.tensors.get(prefix + s.name);
    if (!t) missing.push(prefix + s.name);
    else if (!sameShape(t.shape, s.shape)) {
      mismatched.push(`${prefix + s.name}: file [${t.shape}], declared [${s.shape}]`);
    }
  }
  for (const [name, t] of st.tensors) {
    if (declared.has(name)) continue;
    if (name.endsWith(BUFFER_SUFFIX)) {
      if (!isPairFilter(t)) badBuffers.push(name);
    } else if (strict) unexpected.push(name);
  }
  const problems = [
    list("missing", missing),
    list("with the wrong shape", mismatched),
    list("unexpected (not declared; pass strict: false to ignore)", unexpected),
    list("resampling filters other than EDM's [1,1] (not implemented)", badBuffers),
  ].filter((p) => p !== "");
  if (problems.length > 0) {
    throw new Error(
      `loadParams: the tensors do not fit the network (${registry.specs.length} parameters ` +
        `declared${prefix ? `, file prefix "${prefix}"` : ""}):\n${problems.join("\n")}`,
    );
  }
  const params: Params = new Map();
  for (const s of registry.specs) {
    params.set(s.name, backend.fromArray(st.tensors.get(prefix + s.name)!.data, s.shape));
  }
  return params;
}

/**
 * Saves parameters to a safetensors file, atomically (a crash never leaves half a file).
 *
 * @param path destination
 * @param params the parameters
 * @param metadata string metadata (configuration, step, …)
 */
export async function saveParamsFile(
  path: string,
  params: Params,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(await paramsToSafetensors(params, metadata)));
}

/**
 * Loads the parameters a registry declares from a safetensors file.
 *
 * @param path the file (written by saveParamsFile or scripts/convert-state-dict.py)
 * @param registry the declarations of the network
 * @param backend where the tensors are created
 * @param opts prefix and strictness, as loadParams
 * @returns the parameters by registry name
 */
export async function loadParamsFile(
  path: string,
  registry: Registry,
  backend: Backend,
  opts: LoadParamsOptions = {},
): Promise<Params> {
  const bytes = await Deno.readFile(path);
  let st: SafeTensors;
  try {
    st = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return loadParams(st, registry, backend, opts);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** EDM's [1,1] filter as stored: shape [1, 1, 2, 2], every value 1/4. */
function isPairFilter(t: NamedArray): boolean {
  return sameShape(t.shape, [1, 1, 2, 2]) && t.data.every((v) => v === 0.25);
}

function list(what: string, names: string[]): string {
  if (names.length === 0) return "";
  const shown = names.slice(0, 12).map((n) => `  ${n}`).join("\n");
  const more = names.length > 12 ? `\n  … and ${names.length - 12} more` : "";
  return `${names.length} ${what}:\n${shown}${more}`;
}
