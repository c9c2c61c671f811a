/**
 * Training data as the loop sees it: every image in memory as [count, C, H, W] floats in
 * [−1, 1], and batches drawn by a seeded per-step rule so a resumed run sees the same data.
 * Loading one from disk is `loadDataset` (load_dataset.ts), apart because image folders
 * need the native `sharp`.
 *
 * @module
 */
import { Rng } from "../core/rng.ts";

/** Where the images come from. */
export type DataSpec =
  | { kind: "fmnist"; dir?: string; split?: "train" | "t10k"; limit?: number }
  | { kind: "celeba"; dir: string; limit?: number }
  | { kind: "folder"; dir: string; size: number; channels: 1 | 3; limit?: number }
  | MriDataSpec;

/**
 * Multi-coil k-space slices (Aali et al. 2024, §4): a fastMRI-layout file with coil maps,
 * streamed a batch at a time (src/mri/train_data.ts), each slice under its fixed training
 * mask M at acceleration R (R = 1: fully sampled) with `acs` central columns.
 */
export interface MriDataSpec {
  /** Data kind. */
  kind: "mri";
  /** A folder holding train.h5 (as `deno task mri:simulate` writes it), or an .h5 file. */
  dir: string;
  /** Training acceleration R (1: the fully sampled baseline). */
  r: number;
  /** Central ACS columns of every training mask. */
  acs: number;
  /** [H, W] of the slices. */
  size: [number, number];
  /** Slices to train on (the first ones; default all). */
  limit?: number;
}

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
  if (spec.kind === "mri") return [2, ...spec.size]; // complex images (Re, Im)
  return [spec.channels, spec.size, spec.size];
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
