/**
 * Posterior spread in the study (`--posterior-samples K`): for a cell, K draws of its sampler
 * on the same measurements (src/sampling/posterior_samples.ts), their mean and per-pixel std, and how
 * well the std predicts the mean's error: the per-image correlation of std with |mean − x|
 * and the coverage of mean ± 2 std. Cached beside the cell as `<key>_k<K>.json` and `.f32`.
 *
 * @module
 */
import type { Backend } from "../../src/core/backend.ts";
import { writeFileAtomic } from "../../src/io/atomic.ts";
import { batchMetricsFromArrays } from "../../src/metrics/batch.ts";
import { posteriorSamples } from "../../src/sampling/posterior_samples.ts";
import { cellBatch, cellKey, type CellSpec, type StudySettings } from "./cells.ts";
import type { LoadedModel } from "./models.ts";

/** Truth values at or below this are the data range's floor (−1, the images' background). */
const FLOOR = -1 + 1e-6;

/** How well one image's std predicts its error. */
export interface SpreadCalibration {
  /** Pearson correlation of std and |mean − x| over the pixels (NaN if either is constant). */
  corr: number;
  /** Fraction of pixels with |mean − x| ≤ 2 std. */
  coverage: number;
  /** The same over the foreground: pixels whose truth is above the data range's floor (−1). */
  foregroundCoverage: number;
}

/** A cell's posterior spread. */
export interface SpreadResult {
  /** The cell's key. */
  key: string;
  /** Number of draws. */
  k: number;
  /** PSNR of the posterior mean, per image (data range 2). */
  psnr: number[];
  /** Calibration per image. */
  calibration: SpreadCalibration[];
  /** Network evaluations per image, all draws. */
  nfe: number;
  /** Wall-clock seconds. */
  seconds: number;
}

/** A spread with its maps, [count, C, H, W] each. */
export interface SpreadMaps extends SpreadResult {
  /** Posterior mean. */
  mean: Float32Array;
  /** Per-pixel std. */
  std: Float32Array;
}

/**
 * Per-image calibration of a posterior std against the error of the mean.
 *
 * @param truth the images [count·per]
 * @param mean the posterior means
 * @param std the per-pixel stds
 * @param per values per image
 * @returns one entry per image
 * @example
 * ```ts
 * import { spreadCalibration } from "./spread.ts";
 * const [c] = spreadCalibration([0, 0], [1, 2], [1, 2], 2); // corr 1, coverage 1
 * ```
 */
export function spreadCalibration(
  truth: ArrayLike<number>,
  mean: ArrayLike<number>,
  std: ArrayLike<number>,
  per: number,
): SpreadCalibration[] {
  const out: SpreadCalibration[] = [];
  for (let o = 0; o < truth.length; o += per) {
    let se = 0, sd = 0, inside = 0, fore = 0, foreInside = 0;
    for (let i = o; i < o + per; i++) {
      se += std[i];
      sd += Math.abs(mean[i] - truth[i]);
      const covered = Math.abs(mean[i] - truth[i]) <= 2 * std[i];
      if (covered) inside++;
      // A background every draw and the truth share (−1) is covered trivially: report it apart.
      if (truth[i] > FLOOR) {
        fore++;
        if (covered) foreInside++;
      }
    }
    const ms = se / per, me = sd / per;
    let cov = 0, vs = 0, ve = 0;
    for (let i = o; i < o + per; i++) {
      const a = std[i] - ms, b = Math.abs(mean[i] - truth[i]) - me;
      cov += a * b;
      vs += a * a;
      ve += b * b;
    }
    out.push({
      corr: vs > 0 && ve > 0 ? cov / Math.sqrt(vs * ve) : NaN,
      coverage: inside / per,
      foregroundCoverage: fore > 0 ? foreInside / fore : NaN,
    });
  }
  return out;
}

const files = (dir: string, key: string, k: number) => `${dir}/${key}_k${k}`;

/**
 * The cached spread of a cell, or null; its calibration is recomputed from the cached maps, so
 * a report always uses the current definition.
 *
 * @param dir the cells folder
 * @param spec the cell
 * @param k number of draws
 * @param images held-out images [count, C, H, W] (the truth of the calibration)
 * @returns the spread with its maps, or null if missing
 */
export async function readSpread(
  dir: string,
  spec: CellSpec,
  k: number,
  images: Float32Array,
): Promise<SpreadMaps | null> {
  const base = files(dir, cellKey(spec), k);
  try {
    const r: SpreadResult = JSON.parse(
      await Deno.readTextFile(`${base}.json`),
      // JSON has no NaN: an undefined correlation was written as null.
      (key, v) => (key === "corr" && v === null ? NaN : v),
    );
    const b = await Deno.readFile(`${base}.f32`);
    const maps = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const half = maps.length / 2;
    const mean = maps.subarray(0, half), std = maps.subarray(half);
    const calibration = spreadCalibration(images.subarray(0, half), mean, std, half / spec.count);
    return { ...r, calibration, mean, std };
  } catch {
    return null;
  }
}

/**
 * K posterior draws of every batch of a cell, exactly as the cell samples it (draw 0 is the
 * cell's own reconstruction), each clipped to [−1, 1]; writes the cache and returns it.
 *
 * @param dir the cells folder
 * @param spec the cell
 * @param k number of draws (≥ 2)
 * @param model the cell's model
 * @param images held-out images [count, C, H, W]
 * @param s shared settings
 * @param backend where to compute
 * @param onBatch called after each batch with the number of images drawn so far (progress)
 * @returns the spread with its maps
 */
export async function runSpread(
  dir: string,
  spec: CellSpec,
  k: number,
  model: LoadedModel,
  images: Float32Array,
  s: StudySettings,
  backend: Backend,
  onBatch?: (imagesDone: number) => void,
): Promise<SpreadMaps> {
  const t0 = performance.now();
  const per = s.shape[0] * s.shape[1] * s.shape[2];
  const maps = new Float32Array(2 * spec.count * per);
  const half = spec.count * per;
  let nfe = 0;
  for (let start = 0, b = 0; start < spec.count; start += spec.batch, b++) {
    const batch = cellBatch(spec, s, images, backend, b);
    using op = batch.op, y = batch.y;
    const r = posteriorSamples(model, op, y, { ...batch.options, k, clip: [-1, 1] });
    using mean = r.mean, std = r.std;
    const [m, sd] = await backend.readMany([mean, std]);
    maps.set(m, start * per);
    maps.set(sd, half + start * per);
    nfe = r.nfe;
    onBatch?.(Math.min(start + spec.batch, spec.count));
  }
  const mean = maps.subarray(0, half), std = maps.subarray(half);
  const truth = images.subarray(0, half);
  const metrics = batchMetricsFromArrays(truth, mean, [spec.count, ...s.shape], { dataRange: 2 });
  const result: SpreadResult = {
    key: cellKey(spec),
    k,
    psnr: metrics.perImage.map((m) => m.psnr),
    calibration: spreadCalibration(truth, mean, std, per),
    nfe,
    seconds: (performance.now() - t0) / 1000,
  };
  const base = files(dir, result.key, k);
  await writeFileAtomic(`${base}.f32`, new Uint8Array(maps.buffer));
  await writeFileAtomic(
    `${base}.json`,
    new TextEncoder().encode(JSON.stringify(result, null, 1) + "\n"),
  );
  return { ...result, mean, std };
}

/** Mean and sample SD of the finite values, as "m ± sd" (— when none). */
function meanSd(v: readonly number[], digits: number): string {
  const f = v.filter(Number.isFinite);
  if (f.length === 0) return "—";
  const m = f.reduce((a, b) => a + b, 0) / f.length;
  const sd = f.length > 1 ? Math.sqrt(f.reduce((a, b) => a + (b - m) ** 2, 0) / (f.length - 1)) : 0;
  return `${m.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

/** One row of the report's spread table. */
export interface SpreadRow {
  /** Model name. */
  model: string;
  /** Problem id. */
  problem: string;
  /** Its spread. */
  spread: SpreadResult;
  /** PSNR of the single-draw reconstruction (the cell's), per image. */
  cellPsnr: number[];
}

/**
 * The report's section on posterior spread.
 *
 * @param rows one per model × problem
 * @param k draws per measurement
 * @param grids problem id → grid file
 * @returns markdown
 */
export function spreadMarkdown(
  rows: readonly SpreadRow[],
  k: number,
  grids: ReadonlyMap<string, string>,
): string {
  const out = [
    `## Posterior spread (K = ${k} draws)`,
    ``,
    `Each measurement sampled ${k} times with the same y, operator and M̃ and different DPS ` +
    `seeds (draw 0 is the table's reconstruction), each draw clipped to [−1, 1]. ` +
    `"corr" is the Pearson correlation, per image, of the per-pixel std with the error ` +
    `|mean − x| of the posterior mean; "coverage" is the fraction of pixels with ` +
    `|mean − x| ≤ 2 std (a calibrated Gaussian posterior gives about 0.95), "foreground" the ` +
    `same over the pixels whose truth is above −1 (the background every draw agrees on is ` +
    `covered trivially). Mean ± SD over the images.`,
    ``,
    `| model | problem | PSNR of one draw | PSNR of the mean | corr(std, error) | coverage ±2 std | foreground coverage |`,
    `|---|---|---|---|---|---|---|`,
    ...rows.map((r) =>
      `| ${r.model} | ${r.problem} | ${meanSd(r.cellPsnr, 2)} | ${meanSd(r.spread.psnr, 2)} | ` +
      `${meanSd(r.spread.calibration.map((c) => c.corr), 3)} | ` +
      `${meanSd(r.spread.calibration.map((c) => c.coverage), 3)} | ` +
      `${meanSd(r.spread.calibration.map((c) => c.foregroundCoverage), 3)} |`
    ),
    ``,
    `Grids: ground truth, then per model the posterior mean, the std and |mean − x|, the last ` +
    `two on one scale per grid (white = the largest value in the grid, given in the label).`,
    ``,
  ];
  for (const [problem, file] of grids) out.push(`### ${problem}`, ``, `![${problem}](${file})`, ``);
  return out.join("\n");
}

/**
 * The rows of a spread grid: truth, then per model its mean, std and |error| for the first
 * `show` images; std and error share one scale (0 → −1, the largest → 1).
 *
 * @param truth the images
 * @param models name and spread maps per model
 * @param per values per image
 * @param show images per row
 * @returns labelled rows for `writeLabelledGrid`
 */
export function spreadGridRows(
  truth: Float32Array,
  models: readonly { name: string; maps: SpreadMaps }[],
  per: number,
  show: number,
): { label: string; images: Float32Array }[] {
  const n = show * per;
  let top = 0;
  for (const { maps } of models) {
    for (let i = 0; i < n; i++) {
      top = Math.max(top, maps.std[i], Math.abs(maps.mean[i] - truth[i]));
    }
  }
  const scaled = (f: (i: number) => number) =>
    Float32Array.from({ length: n }, (_, i) => top > 0 ? (2 * f(i)) / top - 1 : -1);
  const rows = [{ label: "truth", images: truth.slice(0, n) }];
  for (const { name, maps } of models) {
    rows.push(
      { label: `${name} mean`, images: maps.mean.slice(0, n) },
      { label: `${name} std (0–${top.toFixed(2)})`, images: scaled((i) => maps.std[i]) },
      {
        label: `${name} |error| (0–${top.toFixed(2)})`,
        images: scaled((i) => Math.abs(maps.mean[i] - truth[i])),
      },
    );
  }
  return rows;
}
