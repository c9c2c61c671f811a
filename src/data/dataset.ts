/**
 * Training data as the loop sees it: every image in memory as [count, C, H, W] floats in
 * [−1, 1], and batches drawn by a seeded per-step rule so a resumed run sees the same data.
 *
 * @module
 */
import { UsageError } from "../cli.ts";
import { Rng } from "../rng.ts";
import { FASHION_MNIST_DIR, fashionMnistToTensorData, readIdxImages } from "./idx.ts";

/** Where the images come from. */
export type DataSpec =
  | { kind: "fmnist"; dir?: string; split?: "train" | "t10k"; limit?: number }
  | { kind: "celeba"; dir: string; limit?: number }
  | { kind: "folder"; dir: string; size: number; channels: 1 | 3; limit?: number };

/** Images in memory. */
export interface ImageDataset {
  /** Human-readable description for logs. */
  description: string;
  /** Number of images. */
  count: number;
  /** [C, H, W] of one image. */
  shape: [number, number, number];
  /** All images, row-major [count, C, H, W], in [−1, 1]. */
  data: Float32Array;
}

/**
 * The [C, H, W] of one image of a data set, known before it is read.
 *
 * @param spec which data
 * @returns the image shape the loader will return
 * @example
 * ```ts
 * import { dataShape } from "./dataset.ts";
 * dataShape({ kind: "fmnist" }); // [1, 32, 32]
 * ```
 */
export function dataShape(spec: DataSpec): [number, number, number] {
  if (spec.kind === "fmnist") return [1, 32, 32];
  if (spec.kind === "celeba") return [3, 64, 64];
  return [spec.channels, spec.size, spec.size];
}

/** Options of {@link loadDataset}. */
export interface LoadOptions {
  /** Called as image files are decoded (folders only): files looked at, files in all. */
  onProgress?: (done: number, total: number) => void;
}

/** Skipped files named in the warning; the rest are counted. */
const SKIPS_NAMED = 3;

/**
 * Loads a data set; an empty one is an error.
 *
 * @param spec which data
 * @param opts progress callback
 * @returns the images
 * @example
 * ```ts
 * import { loadDataset } from "./dataset.ts";
 * const ds = await loadDataset({ kind: "fmnist", dir: "fixtures/fmnist" });
 * console.log(ds.count, ds.shape); // 512 [1, 32, 32]
 * ```
 */
export async function loadDataset(spec: DataSpec, opts: LoadOptions = {}): Promise<ImageDataset> {
  if (spec.limit !== undefined && !(Number.isInteger(spec.limit) && spec.limit >= 1)) {
    throw new UsageError(`limit must be a positive integer (images to load), got ${spec.limit}`);
  }
  if (spec.kind === "fmnist") {
    const dir = spec.dir ?? FASHION_MNIST_DIR;
    const split = spec.split ?? "train";
    const file = `${dir}/${split}-images-idx3-ubyte.gz`;
    const images = await readIdxImages(file);
    if (images.count === 0) throw new UsageError(`${file} holds no images: nothing to train on`);
    const n = Math.min(images.count, spec.limit ?? Infinity);
    const data = fashionMnistToTensorData(images).subarray(0, n * 32 * 32);
    return {
      description: `Fashion-MNIST ${split} (${n} images) from ${dir}`,
      count: n,
      shape: [1, 32, 32],
      data,
    };
  }
  const { readCelebA, readImageFolder } = await import("./image_folder.ts");
  const skips: string[] = [];
  const onSkip = (file: string, why: string) => skips.push(`${file} (${why})`);
  const { onProgress } = opts;
  const r = spec.kind === "celeba"
    ? await readCelebA(spec.dir, { limit: spec.limit, onSkip, onProgress })
    : await readImageFolder(spec.dir, {
      size: spec.size,
      channels: spec.channels,
      crop: "center-square",
      limit: spec.limit,
      onSkip,
      onProgress,
    });
  if (r.skipped > 0) {
    const more = r.skipped > SKIPS_NAMED ? `, and ${r.skipped - SKIPS_NAMED} more` : "";
    console.warn(
      `skipped ${r.skipped} unreadable image(s) in ${spec.dir}: ` +
        skips.slice(0, SKIPS_NAMED).join(", ") + more,
    );
  }
  const c = r.data.length / (r.count * (spec.kind === "celeba" ? 64 * 64 : spec.size * spec.size));
  const side = spec.kind === "celeba" ? 64 : spec.size;
  return {
    description: `${spec.kind === "celeba" ? "CelebA" : "images"} (${r.count}) from ${spec.dir}`,
    count: r.count,
    shape: [c, side, side],
    data: r.data,
  };
}

/**
 * The data-set indices of the batch at `step`: uniform with replacement, seeded by
 * (seed, step) alone, so a resumed run draws exactly the batches it would have drawn.
 *
 * @param count data-set size
 * @param batch batch size
 * @param seed experiment seed
 * @param step training step (1-based)
 * @returns the indices
 */
export function batchIndices(count: number, batch: number, seed: number, step: number): number[] {
  const rng = new Rng(seed * 1_000_003 + step);
  return Array.from({ length: batch }, () => rng.int(count));
}

/**
 * Gathers the images `indices` into one [N, C, H, W] array.
 *
 * @param ds the data set
 * @param indices which images
 * @returns the batch
 */
export function gatherBatch(ds: ImageDataset, indices: readonly number[]): Float32Array {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const out = new Float32Array(indices.length * per);
  indices.forEach((k, i) => out.set(ds.data.subarray(k * per, (k + 1) * per), i * per));
  return out;
}
