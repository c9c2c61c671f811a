/**
 * One cell of the study: a model reconstructing one problem at one seed and one number of
 * DPS steps. Its result is cached in `<dir>/cells/<key>.json` (metrics) and `<key>.f32`
 * (the reconstructions), written JSON last, so a finished cell is never recomputed and an
 * interrupted one is; the key holds a hash of everything that determines the result.
 *
 * @module
 */
import { adps, fsDps, type PosteriorOptions } from "../../src/api.ts";
import type { Backend } from "../../src/core/backend.ts";
import { writeFileAtomic } from "../../src/io/atomic.ts";
import { batchMetricsFromArrays, type ImageMetrics } from "../../src/metrics/batch.ts";
import { clip } from "../../src/ops/elementwise.ts";
import type { LinearOperator } from "../../src/operators/linear_operator.ts";
import type { NoiseSpace } from "../../src/operators/measure.ts";
import { tidy } from "../../src/core/scope.ts";
import type { Tensor } from "../../src/core/tensor.ts";
import type { LoadedModel, ModelInfo } from "./models.ts";
import { buildOperator, measure, type Problem, problemId, seedOf } from "./problems.ts";

/** Bumped whenever the way a cell is computed changes (invalidates every cache). */
export const CELL_VERSION = 2;

/**
 * Where the study follows the paper's reference code and where it may differ; each field is a
 * flag of transfer-cs (docs/method.md, "Reference settings and package flags").
 */
export interface MethodSettings {
  /** y = A(x + σ_y n) ("image", the reference's) or A x + σ_y n ("measurement"). */
  noise: NoiseSpace;
  /** A-DPS's M̃: one per image, seeded by the image (the reference's), or one per batch. */
  mask: "per-image" | "per-batch";
  /** The likelihood step at both Heun stages (the reference's) or at the first only. */
  secondStageLikelihood: boolean;
  /** ‖A D − y‖ per sample, or over the whole batch (the reference's natural-image code). */
  norm: "sample" | "batch";
  /** Boxes anywhere, crossing the border (the reference's), or inside the image. */
  boxPlacement: "anywhere" | "inside";
}

/** The reference's settings, the study's defaults. */
export const REFERENCE_METHOD: MethodSettings = {
  noise: "image",
  mask: "per-image",
  secondStageLikelihood: true,
  norm: "sample",
  boxPlacement: "anywhere",
};

/** The settings shared by every cell of a run. */
export interface StudySettings {
  /** Likelihood step ζ per problem kind. */
  zeta: Record<Problem["kind"], number>;
  /** Measurement noise σ_y in [−1, 1] units. */
  sigmaY: number;
  /** Smallest nonzero noise level of the DPS schedule (the paper: 0.002). */
  sigmaMin: number;
  /** Images per DPS batch. */
  batch: number;
  /** Noise convention, M̃, likelihood stages, norm and box placement. */
  method: MethodSettings;
  /** SHA-256 of the held-out images (hex). */
  imagesDigest: string;
  /** Number of held-out images. */
  count: number;
  /** Image shape [C, H, W]. */
  shape: [number, number, number];
}

/** Everything that determines a cell's result. */
export interface CellSpec {
  /** CELL_VERSION. */
  version: number;
  /** Model name. */
  model: string;
  /** SHA-256 of its weights. */
  modelDigest: string;
  /** Ambient model (A-DPS) or clean (FS-DPS). */
  ambient: boolean;
  /** Training erasure p. */
  p: number;
  /** Training further erasure δ. */
  delta: number;
  /** The problem. */
  problem: Problem;
  /** Experiment seed (operator, noise, M̃ and DPS initial noise). */
  seed: number;
  /** DPS (Heun) steps. */
  steps: number;
  /** ζ. */
  zeta: number;
  /** σ_y. */
  sigmaY: number;
  /** σ_min of the schedule. */
  sigmaMin: number;
  /** Images per batch (the initial noise is drawn per batch). */
  batch: number;
  /** Noise convention, M̃, likelihood stages, norm and box placement. */
  method: MethodSettings;
  /** Held-out images: count and digest. */
  count: number;
  /** SHA-256 of the images. */
  imagesDigest: string;
}

/** A finished cell. */
export interface CellResult {
  /** The cache key. */
  key: string;
  /** What was computed. */
  spec: CellSpec;
  /** Network evaluations per image (2·steps − 1 with Heun). */
  nfe: number;
  /** VJPs through the network per image. */
  vjps: number;
  /** Metrics averaged over the images. */
  mean: ImageMetrics;
  /** Metrics of each image. */
  perImage: ImageMetrics[];
  /** Wall-clock seconds the cell took. */
  seconds: number;
  /** The backend it ran on. */
  backend: string;
  /** ISO time it finished. */
  finished: string;
}

/**
 * The spec of a cell.
 *
 * @param model the model
 * @param problem the problem
 * @param seed experiment seed
 * @param steps DPS steps
 * @param s shared settings
 * @returns the spec
 */
export function cellSpec(
  model: ModelInfo,
  problem: Problem,
  seed: number,
  steps: number,
  s: StudySettings,
): CellSpec {
  return {
    version: CELL_VERSION,
    model: model.name,
    modelDigest: model.digest,
    ambient: model.config.ambient,
    p: model.config.corruption.p,
    delta: model.config.corruption.delta,
    problem,
    seed,
    steps,
    zeta: s.zeta[problem.kind],
    sigmaY: s.sigmaY,
    sigmaMin: s.sigmaMin,
    batch: s.batch,
    method: s.method,
    count: s.count,
    imagesDigest: s.imagesDigest,
  };
}

/**
 * The cache key: readable parts plus a hash of the whole spec.
 *
 * @param spec the spec
 * @returns e.g. "clean_cs-m25_seed0_steps300_1a2b3c4d"
 */
export function cellKey(spec: CellSpec): string {
  const h = seedOf(JSON.stringify(spec)).toString(16).padStart(8, "0");
  return `${spec.model}_${problemId(spec.problem)}_seed${spec.seed}_steps${spec.steps}_${h}`;
}

/**
 * The cached result of a cell, or null if it has not finished (or was computed otherwise).
 *
 * @param dir the cells folder
 * @param spec the spec
 * @returns the result or null
 */
export async function readCell(dir: string, spec: CellSpec): Promise<CellResult | null> {
  const key = cellKey(spec);
  let r: CellResult;
  try {
    r = JSON.parse(
      await Deno.readTextFile(`${dir}/${key}.json`),
      // JSON has no ∞: a perfect reconstruction's PSNR was written as null.
      (k, v) => (k === "psnr" && v === null ? Infinity : v),
    );
  } catch {
    return null;
  }
  return JSON.stringify(r.spec) === JSON.stringify(spec) ? r : null;
}

/**
 * The reconstructions of a finished cell, [count, C, H, W] in [−1, 1].
 *
 * @param dir the cells folder
 * @param key the cell key
 * @returns the values, or null if missing
 */
export async function readReconstructions(dir: string, key: string): Promise<Float32Array | null> {
  try {
    const b = await Deno.readFile(`${dir}/${key}.f32`);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  } catch {
    return null;
  }
}

/** One batch of a cell: its operator and measurements (caller disposes) and DPS options. */
export interface CellBatch {
  /** The forward operator of the batch. */
  op: LinearOperator;
  /** Its measurements of the held-out images. */
  y: Tensor;
  /** The sampler's options, M̃ included (adps reads them all, fsDps ignores the masks). */
  options: PosteriorOptions;
}

/**
 * Batch b of a cell exactly as the cell measures and samples it: the operator, noise, DPS
 * seed and M̃ all follow from the experiment seed and the batch (so other runs over the same
 * cell, e.g. posterior draws, see the same y).
 *
 * @param spec the cell
 * @param s shared settings
 * @param images held-out images [count, C, H, W]
 * @param backend where to compute
 * @param b the batch
 * @returns the operator, measurements and options
 */
export function cellBatch(
  spec: CellSpec,
  s: StudySettings,
  images: Float32Array,
  backend: Backend,
  b: number,
): CellBatch {
  const [c, h, w] = s.shape;
  const per = c * h * w;
  const start = b * spec.batch;
  const n = Math.min(spec.batch, spec.count - start);
  const { method } = spec;
  const op = buildOperator(backend, spec.problem, s.shape, spec.seed, b, n, method.boxPlacement);
  const y = tidy(() => {
    const x = backend.fromArray(images.subarray(start * per, (start + n) * per), [n, c, h, w]);
    return measure(op, spec.problem, x, spec.sigmaY, spec.seed, b, method.noise);
  });
  const options: PosteriorOptions = {
    steps: spec.steps,
    zeta: spec.zeta,
    sigmaMin: spec.sigmaMin,
    secondStageLikelihood: method.secondStageLikelihood,
    norm: method.norm,
    seed: seedOf(`dps/${spec.seed}/${b}`),
    mask: method.mask,
    maskSeed: seedOf(`mask/${spec.seed}`),
    images: Array.from({ length: n }, (_, i) => start + i),
  };
  return { op, y, options };
}

/**
 * Runs a cell: measurements of the held-out images, DPS with the model's prior (A-DPS with
 * fixed masks M̃ ~ Bernoulli((1 − p)(1 − δ)) for ambient models, one per image by default;
 * FS-DPS for clean ones), clipping to [−1, 1], metrics with data range 2. Writes the cache
 * files and returns the result.
 *
 * @param dir the cells folder
 * @param spec the cell
 * @param model the loaded model (spec.model)
 * @param images held-out images [count, C, H, W]
 * @param s shared settings
 * @param backend where to compute
 * @returns the result
 */
export async function runCell(
  dir: string,
  spec: CellSpec,
  model: LoadedModel,
  images: Float32Array,
  s: StudySettings,
  backend: Backend,
): Promise<CellResult> {
  const t0 = performance.now();
  const [c, h, w] = s.shape;
  const per = c * h * w;
  const recon = new Float32Array(spec.count * per);
  let nfe = 0, vjps = 0;
  for (let start = 0, b = 0; start < spec.count; start += spec.batch, b++) {
    const batch = cellBatch(spec, s, images, backend, b);
    using op = batch.op, y = batch.y;
    const { options } = batch;
    const out = tidy(() => {
      const r = model.config.ambient ? adps(model, op, y, options) : fsDps(model, op, y, options);
      return { ...r, x: clip(r.x, -1, 1) };
    });
    nfe = out.nfe;
    vjps = out.vjps;
    recon.set(await out.x.toArray(), start * per);
    out.x.dispose();
  }
  const metrics = batchMetricsFromArrays(images.subarray(0, spec.count * per), recon, [
    spec.count,
    c,
    h,
    w,
  ], { dataRange: 2 });
  const result: CellResult = {
    key: cellKey(spec),
    spec,
    nfe,
    vjps,
    mean: metrics.mean,
    perImage: metrics.perImage,
    seconds: (performance.now() - t0) / 1000,
    backend: backend.name,
    finished: new Date().toISOString(),
  };
  await writeFileAtomic(`${dir}/${result.key}.f32`, new Uint8Array(recon.buffer));
  await writeFileAtomic(
    `${dir}/${result.key}.json`,
    new TextEncoder().encode(JSON.stringify(result, null, 1) + "\n"),
  );
  return result;
}
