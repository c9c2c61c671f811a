/**
 * One cell of the MRI study: one method (with its prior, if any) reconstructing every held-out
 * slice at one R_inf. Its result is cached in `<dir>/<key>.json` (metrics per slice) and
 * `<key>.f32` (the reconstructions), written atomically, JSON last, so a finished cell is never
 * recomputed and an interrupted one is; the key holds a hash of everything that determines it.
 *
 * @module
 */
import type { Backend } from "../../src/core/backend.ts";
import { writeFileAtomic } from "../../src/io/atomic.ts";
import type { ImageMetrics } from "../../src/metrics/batch.ts";
import { mriBatchMetricsFromArrays } from "../../src/metrics/mri.ts";
import type { LoadedModel, ModelInfo } from "../transfer/models.ts";
import { seedOf } from "../transfer/problems.ts";
import {
  type HeldOut,
  type MriMethod,
  mriTraining,
  type ReconSettings,
  reconstruct,
} from "./recon.ts";

/** Bumped whenever the way a cell is computed changes (invalidates every cache). */
export const MRI_CELL_VERSION = 1;

/** Everything that determines a cell's result. */
export interface MriCellSpec {
  /** MRI_CELL_VERSION. */
  version: number;
  /** The method. */
  method: MriMethod;
  /** The prior's name (null for the classical methods). */
  model: string | null;
  /** SHA-256 of its weights. */
  modelDigest: string | null;
  /** Its training acceleration (1: fully sampled). */
  rTrain: number | null;
  /** The inference acceleration. */
  rInf: number;
  /** DPS steps (0 where no sampler runs). */
  steps: number;
  /** Seed of M_inf, M̃ and the initial noise. */
  seed: number;
  /** ACS width of M_inf. */
  acs: number;
  /** L1-wavelet's λ (0 for the others). */
  lambda: number;
  /** Slices per sampler run (the initial noise is drawn per batch). */
  batch: number;
  /** The held-out slice indices. */
  slices: number[];
  /** SHA-256 of those slices. */
  dataDigest: string;
}

/** A finished cell. */
export interface MriCellResult {
  /** The cache key. */
  key: string;
  /** What was computed. */
  spec: MriCellSpec;
  /** Network evaluations per slice. */
  nfe: number;
  /** Metrics of each slice (magnitudes, docs/method.md §6). */
  perSlice: ImageMetrics[];
  /** Wall-clock seconds. */
  seconds: number;
  /** The backend it ran on. */
  backend: string;
}

/**
 * The spec of a cell.
 *
 * @param method the method
 * @param model its prior (null for the classical methods)
 * @param rInf the inference acceleration
 * @param s the settings
 * @param data the held-out slices
 * @returns the spec
 */
export function mriCellSpec(
  method: MriMethod,
  model: ModelInfo | null,
  rInf: number,
  s: ReconSettings,
  data: HeldOut,
): MriCellSpec {
  const dps = method === "A-DPS" || method === "FS-DPS";
  return {
    version: MRI_CELL_VERSION,
    method,
    model: model?.name ?? null,
    modelDigest: model?.digest ?? null,
    rTrain: model ? mriTraining(model.config).r : null,
    rInf,
    steps: dps ? s.steps : 0,
    seed: s.seed,
    acs: s.acs,
    lambda: method === "L1-wavelet" ? s.lambda : 0,
    // Only DPS draws its initial noise per batch; the other methods' results do not depend on it.
    batch: dps ? s.batch : data.slices.length,
    slices: data.slices,
    dataDigest: data.digest,
  };
}

/**
 * The cache key: readable parts plus a hash of the whole spec.
 *
 * @param spec the spec
 * @returns e.g. "mri-r4_A-DPS_R6_1a2b3c4d"
 */
export function mriCellKey(spec: MriCellSpec): string {
  const h = seedOf(JSON.stringify(spec)).toString(16).padStart(8, "0");
  return `${spec.model ?? "none"}_${spec.method}_R${spec.rInf}_${h}`;
}

/**
 * The cached result of a cell, or null if it has not finished (or was computed otherwise, or
 * its reconstructions are missing).
 *
 * @param dir the cells folder
 * @param spec the spec
 * @returns the result or null
 */
export async function readMriCell(dir: string, spec: MriCellSpec): Promise<MriCellResult | null> {
  let r: MriCellResult;
  try {
    r = JSON.parse(
      await Deno.readTextFile(`${dir}/${mriCellKey(spec)}.json`),
      // JSON has no ∞: a perfect reconstruction's PSNR was written as null.
      (k, v) => (k === "psnr" && v === null ? Infinity : v),
    );
  } catch {
    return null;
  }
  if (JSON.stringify(r.spec) !== JSON.stringify(spec)) return null;
  // A cell is done only with its reconstructions (the grids need them; a clone without the
  // ignored .f32 files recomputes).
  const f32 = await Deno.stat(`${dir}/${r.key}.f32`).catch(() => null);
  return f32?.isFile ? r : null;
}

/**
 * The reconstructions of a finished cell, [N, 2, H, W].
 *
 * @param dir the cells folder
 * @param key the cell key
 * @returns the values, or null if missing
 */
export async function readMriReconstructions(
  dir: string,
  key: string,
): Promise<Float32Array | null> {
  try {
    const b = await Deno.readFile(`${dir}/${key}.f32`);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  } catch {
    return null;
  }
}

/**
 * Runs a cell: every held-out slice reconstructed at R_inf, metrics on magnitudes; writes the
 * cache files and returns the result.
 *
 * @param dir the cells folder
 * @param spec the cell
 * @param model its prior (null for the classical methods)
 * @param data the held-out slices
 * @param s the settings
 * @param backend where to compute
 * @param onSlices progress: slices done
 * @returns the result
 */
export async function runMriCell(
  dir: string,
  spec: MriCellSpec,
  model: LoadedModel | null,
  data: HeldOut,
  s: ReconSettings,
  backend: Backend,
  onSlices?: (done: number) => void,
): Promise<MriCellResult> {
  const t0 = performance.now();
  const settings = { ...s, batch: spec.batch };
  const r = await reconstruct(spec.method, model, data, spec.rInf, settings, backend, onSlices);
  const [, h, w] = data.dims;
  const metrics = mriBatchMetricsFromArrays(data.gt, r.x, [data.slices.length, 2, h, w]);
  const result: MriCellResult = {
    key: mriCellKey(spec),
    spec,
    nfe: r.nfe,
    perSlice: metrics.perImage,
    seconds: (performance.now() - t0) / 1000,
    backend: backend.name,
  };
  await writeFileAtomic(`${dir}/${result.key}.f32`, new Uint8Array(r.x.buffer));
  await writeFileAtomic(
    `${dir}/${result.key}.json`,
    new TextEncoder().encode(JSON.stringify(result, null, 1) + "\n"),
  );
  return result;
}
