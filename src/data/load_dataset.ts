/**
 * Loading a training set from disk: Fashion-MNIST from its IDX files, CelebA or any image
 * folder through `sharp` (a native package, which is why this is not in dataset.ts: the
 * method's entry point must import without it).
 *
 * @module
 */
import { UsageError } from "../core/usage_error.ts";
import type { DataSpec, ImageDataset } from "./dataset.ts";
import { FASHION_MNIST_DIR, fashionMnistToTensorData, readIdxImages } from "./idx.ts";
import { readCelebA, readImageFolder } from "./image_folder.ts";

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
 * import { loadDataset } from "./load_dataset.ts";
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
  if (spec.kind === "mri") {
    throw new Error("loadDataset: k-space slices stream through openMriTrainData (src/mri)");
  }
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
