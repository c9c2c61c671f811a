/**
 * Reconstruction of held-out MRI slices by every method of the study (Aali et al. 2024, §4–6;
 * docs/method.md §5–6): A-DPS (an ambient prior), FS-DPS (a prior trained on fully sampled
 * images), A-OS, zero-filled, SENSE and L1-wavelet, with one inference mask M_inf per
 * (slice, R_inf) and, for ambient priors, one M̃ of the training kind per run. Several slices
 * go through one sampler run (a batch); batch b's initial noise has seed `drawSeed(seed, b)`.
 *
 * @module
 */
import { mriAdps, mriAos, mriFsDps } from "../../src/api.ts";
import type { Backend } from "../../src/core/backend.ts";
import { tidy } from "../../src/core/scope.ts";
import type { Tensor } from "../../src/core/tensor.ts";
import { FastMriFile } from "../../src/data/fastmri.ts";
import { columnMasks } from "../../src/mri/masks.ts";
import { MultiCoilFourier } from "../../src/operators/multi_coil_fourier.ts";
import { l1WaveletCs } from "../../src/recon/l1_wavelet.ts";
import { senseCg, zeroFilled } from "../../src/recon/sense.ts";
import type { DpsResult } from "../../src/sampling/dps.ts";
import { drawSeed, spreadOfDraws } from "../../src/sampling/posterior_samples.ts";
import type { TrainConfig } from "../../src/train/config.ts";
import { UsageError } from "../cli.ts";
import type { LoadedModel } from "../transfer/models.ts";

/** The methods, in the order of the tables. */
export const MRI_METHODS = [
  "A-DPS",
  "FS-DPS",
  "A-OS",
  "zero-filled",
  "SENSE",
  "L1-wavelet",
] as const;
/** One method. */
export type MriMethod = (typeof MRI_METHODS)[number];
/** The methods that need a prior. */
export const PRIOR_METHODS: readonly MriMethod[] = ["A-DPS", "FS-DPS", "A-OS"];

/** Held-out slices read into memory (planar complex, the fastMRI layout of src/data/fastmri.ts). */
export interface HeldOut {
  /** The file. */
  path: string;
  /** The slice indices read, in order (each slice's masks follow its index). */
  slices: number[];
  /** [C, H, W]. */
  dims: [number, number, number];
  /** k-space [N, C, 2, H, W]. */
  kspace: Float32Array;
  /** Coil maps [N, C, 2, H, W]. */
  maps: Float32Array;
  /** Ground-truth images [N, 2, H, W]. */
  gt: Float32Array;
  /** SHA-256 (hex) of the k-space, maps and ground truth of these slices. */
  digest: string;
  /** The file's `data` attribute (e.g. "simulated k-space"). */
  label: string;
}

/**
 * Reads held-out slices: a fastMRI-layout file with maps and ground truth, or a folder holding
 * `held-out.h5` (as `deno task mri:simulate` writes).
 *
 * @param data the file or folder
 * @param slices slice indices (default: all)
 * @returns the slices
 */
export async function readHeldOut(data: string, slices?: readonly number[]): Promise<HeldOut> {
  const stat = await Deno.stat(data).catch(() => {
    throw new UsageError(
      `--data ${data} does not exist (make one: deno task mri:simulate --out DIR)`,
    );
  });
  const path = stat.isDirectory ? `${data}/held-out.h5` : data;
  using f = await FastMriFile.open(path).catch((e) => {
    throw new UsageError(`--data: ${(e as Error).message}`);
  });
  const { coils: c, height: h, width: w, has, attrs } = f.info;
  if (!has.maps || !has.groundTruth) {
    throw new UsageError(`${path} has no maps or ground_truth: give simulated held-out slices`);
  }
  const list = slices ? [...slices] : Array.from({ length: f.info.slices }, (_, i) => i);
  for (const s of list) {
    if (!(Number.isInteger(s) && s >= 0 && s < f.info.slices)) {
      throw new UsageError(`--slices: ${s} is not a slice of ${path} (0…${f.info.slices - 1})`);
    }
  }
  const per = c * 2 * h * w;
  const kspace = new Float32Array(list.length * per);
  const maps = new Float32Array(list.length * per);
  const gt = new Float32Array(list.length * 2 * h * w);
  list.forEach((s, i) => {
    kspace.set(f.kspace(s), i * per);
    maps.set(f.maps(s), i * per);
    gt.set(f.groundTruth(s), i * 2 * h * w);
  });
  const bytes = new Uint8Array(kspace.byteLength + maps.byteLength + gt.byteLength);
  bytes.set(new Uint8Array(kspace.buffer));
  bytes.set(new Uint8Array(maps.buffer), kspace.byteLength);
  bytes.set(new Uint8Array(gt.buffer), kspace.byteLength + maps.byteLength);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const digest = [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
  const label = String(attrs.data ?? "k-space");
  return { path, slices: list, dims: [c, h, w], kspace, maps, gt, digest, label };
}

/**
 * The acceleration and ACS width a prior was trained with (R = 1: fully sampled).
 *
 * @param config the model's training configuration
 * @returns R_train and the ACS width of its masks
 */
export function mriTraining(config: TrainConfig): { r: number; acs: number } {
  const { data } = config;
  if (data.kind !== "mri") {
    throw new UsageError(`${config.name}: not an MRI prior (it was trained on ${data.kind} data)`);
  }
  return { r: data.r, acs: data.acs };
}

/** How the slices are reconstructed. */
export interface ReconSettings {
  /** DPS steps (the reference's 500). */
  steps: number;
  /** Seed of M_inf, M̃ and the initial noise. */
  seed: number;
  /** ACS width of the inference masks M_inf. */
  acs: number;
  /** L1-wavelet's λ. */
  lambda: number;
  /** Slices per sampler run. */
  batch: number;
}

/**
 * The inference masks M_inf of slices at R_inf: one fixed mask per (slice, R_inf), seeded.
 *
 * @param width W
 * @param slices slice indices
 * @param rInf the inference acceleration
 * @param s the settings (seed, ACS)
 * @returns N·W values
 */
export function inferenceMasks(
  width: number,
  slices: readonly number[],
  rInf: number,
  s: Pick<ReconSettings, "seed" | "acs">,
): Float32Array {
  return columnMasks(width, slices, { r: rInf, acs: s.acs, seed: s.seed });
}

/** One batch: its operator A_inf = M_inf F S and measurements y = M_inf ⊙ k (caller disposes). */
export interface ReconBatch extends Disposable {
  /** A_inf of the batch's slices. */
  op: MultiCoilFourier;
  /** Their measured k-space [n, C, 2, H, W]. */
  y: Tensor;
  /** Where the batch starts among the slices. */
  start: number;
  /** The DPS seed of the batch. */
  seed: number;
}

/**
 * The operator and measurements of batch b.
 *
 * @param data the held-out slices
 * @param rInf the inference acceleration
 * @param s the settings
 * @param backend where to compute
 * @param b the batch
 * @returns the batch (dispose it)
 */
export function reconBatch(
  data: HeldOut,
  rInf: number,
  s: ReconSettings,
  backend: Backend,
  b: number,
): ReconBatch {
  const [c, h, w] = data.dims;
  const per = c * 2 * h * w;
  const start = b * s.batch;
  const slices = data.slices.slice(start, start + s.batch);
  const n = slices.length;
  const mask = inferenceMasks(w, slices, rInf, s);
  const k = data.kspace.subarray(start * per, (start + n) * per);
  const maps = backend.fromArray(data.maps.subarray(start * per, (start + n) * per), [
    n,
    c,
    2,
    h,
    w,
  ]);
  const op = new MultiCoilFourier(maps, backend.fromArray(mask, [n, w]));
  const y = backend.fromArray(k.map((v, j) => v * mask[Math.floor(j / per) * w + (j % w)]), [
    n,
    c,
    2,
    h,
    w,
  ]);
  const dispose = () => {
    y.dispose();
    op.dispose();
  };
  return { op, y, start, seed: drawSeed(s.seed, b), [Symbol.dispose]: dispose };
}

/** A reconstruction of every slice. */
export interface Reconstruction {
  /** The images [N, 2, H, W]. */
  x: Float32Array;
  /** Network evaluations per slice (0 for the classical methods). */
  nfe: number;
}

/** One posterior draw of a DPS method on a batch. */
function dpsDraw(
  method: MriMethod,
  prior: LoadedModel,
  batch: ReconBatch,
  s: ReconSettings,
  seed: number,
): DpsResult {
  if (method === "FS-DPS") return mriFsDps(prior, batch.op, batch.y, { seed, steps: s.steps });
  const t = mriTraining(prior.config);
  return mriAdps(prior, batch.op, batch.y, {
    seed,
    steps: s.steps,
    rTrain: t.r,
    acs: t.acs,
    // One M̃ of the training kind per run, the same for every batch and draw.
    maskSeed: s.seed,
  });
}

/** The method's reconstruction of one batch (caller disposes). */
function reconstructBatch(
  method: MriMethod,
  prior: LoadedModel | null,
  batch: ReconBatch,
  s: ReconSettings,
): { x: Tensor; nfe: number } {
  const { op, y } = batch;
  if (method === "zero-filled") return { x: tidy(() => zeroFilled(op, y)), nfe: 0 };
  if (method === "SENSE") return { x: tidy(() => senseCg(op, y, { iterations: 30 })), nfe: 0 };
  if (method === "L1-wavelet") {
    return { x: tidy(() => l1WaveletCs(op, y, { lambda: s.lambda, iterations: 100 })), nfe: 0 };
  }
  if (!prior) throw new UsageError(`${method} needs a prior (--model)`);
  if (method === "A-OS") return { x: mriAos(prior, op, y), nfe: 1 };
  const r = dpsDraw(method, prior, batch, s, batch.seed);
  return { x: r.x, nfe: r.nfe };
}

/**
 * Checks that a method fits a prior: A-DPS and A-OS need an ambient one, FS-DPS a clean one.
 *
 * @param method the method
 * @param prior the prior (null for the classical methods)
 */
export function checkMethod(method: MriMethod, prior: LoadedModel | null): void {
  if (!PRIOR_METHODS.includes(method)) return;
  if (!prior) throw new UsageError(`${method} needs a prior (--model)`);
  const ambient = method !== "FS-DPS";
  if (prior.config.ambient !== ambient) {
    throw new UsageError(
      `${method} needs ${ambient ? "an ambient" : "a fully sampled (R = 1)"} prior; ` +
        `${prior.path} is ${prior.config.ambient ? "ambient" : "fully sampled"}`,
    );
  }
}

/**
 * Reconstructs every held-out slice at R_inf with one method, a batch at a time.
 *
 * @param method the method
 * @param prior the prior for A-DPS / FS-DPS / A-OS (null otherwise)
 * @param data the held-out slices
 * @param rInf the inference acceleration
 * @param s the settings
 * @param backend where to compute
 * @param onBatch progress: slices done
 * @returns the images [N, 2, H, W] and the NFE per slice
 */
export async function reconstruct(
  method: MriMethod,
  prior: LoadedModel | null,
  data: HeldOut,
  rInf: number,
  s: ReconSettings,
  backend: Backend,
  onBatch?: (done: number) => void,
): Promise<Reconstruction> {
  checkMethod(method, prior);
  const [, h, w] = data.dims;
  const n = data.slices.length;
  const x = new Float32Array(n * 2 * h * w);
  let nfe = 0;
  for (let b = 0; b * s.batch < n; b++) {
    using batch = reconBatch(data, rInf, s, backend, b);
    const r = reconstructBatch(method, prior, batch, s);
    x.set(await r.x.toArray(), batch.start * 2 * h * w);
    r.x.dispose();
    nfe = r.nfe;
    onBatch?.(Math.min(n, (b + 1) * s.batch));
  }
  return { x, nfe };
}

/** K posterior draws of every slice: per-pixel mean and std [N, 2, H, W]. */
export interface MriSpread {
  /** Posterior mean. */
  mean: Float32Array;
  /** Per-pixel std of the Re and Im planes. */
  std: Float32Array;
  /** NFE per slice, all draws. */
  nfe: number;
}

/**
 * K posterior draws of a DPS method for every slice (draw 0 is `reconstruct`'s), with the
 * same y, M_inf and M̃ and different sampler seeds (src/sampling/posterior_samples.ts).
 *
 * @param method A-DPS or FS-DPS
 * @param prior its prior
 * @param data the held-out slices
 * @param rInf the inference acceleration
 * @param s the settings
 * @param k draws
 * @param backend where to compute
 * @returns the mean and std of the draws
 */
export async function posteriorSpread(
  method: MriMethod,
  prior: LoadedModel,
  data: HeldOut,
  rInf: number,
  s: ReconSettings,
  k: number,
  backend: Backend,
): Promise<MriSpread> {
  if (method !== "A-DPS" && method !== "FS-DPS") {
    throw new UsageError(`--posterior-samples: ${method} is not a posterior sampler`);
  }
  checkMethod(method, prior);
  const [, h, w] = data.dims;
  const per = 2 * h * w;
  const n = data.slices.length;
  const mean = new Float32Array(n * per), std = new Float32Array(n * per);
  let nfe = 0;
  for (let b = 0; b * s.batch < n; b++) {
    using batch = reconBatch(data, rInf, s, backend, b);
    const r = spreadOfDraws((seed) => dpsDraw(method, prior, batch, s, seed), {
      k,
      seed: batch.seed,
    });
    using m = r.mean, sd = r.std;
    const [mv, sv] = await backend.readMany([m, sd]);
    mean.set(mv, batch.start * per);
    std.set(sv, batch.start * per);
    nfe = r.nfe;
  }
  return { mean, std, nfe };
}
