/**
 * Loading a training set from disk: Fashion-MNIST from its IDX files, CelebA or any image
 * folder through `sharp` (a native package, which is why this is not in dataset.ts: the
 * method's entry point must import without it).
 *
 * @module
 */
import type { DataSpec, ImageDataset } from "./dataset.ts";
import { FASHION_MNIST_DIR, fashionMnistToTensorData, readIdxImages } from "./idx.ts";
import { readCelebA, readImageFolder } from "./image_folder.ts";

/**
 * Loads a data set.
 *
 * @param spec which data
 * @returns the images
 * @example
 * ```ts
 * import { loadDataset } from "./load_dataset.ts";
 * const ds = await loadDataset({ kind: "fmnist", dir: "fixtures/fmnist" });
 * console.log(ds.count, ds.shape); // 512 [1, 32, 32]
 * ```
 */
export async function loadDataset(spec: DataSpec): Promise<ImageDataset> {
  if (spec.kind === "fmnist") {
    const dir = spec.dir ?? FASHION_MNIST_DIR;
    const split = spec.split ?? "train";
    const images = await readIdxImages(`${dir}/${split}-images-idx3-ubyte.gz`);
    const n = Math.min(images.count, spec.limit ?? Infinity);
    const data = fashionMnistToTensorData(images).subarray(0, n * 32 * 32);
    return {
      description: `Fashion-MNIST ${split} (${n} images) from ${dir}`,
      count: n,
      shape: [1, 32, 32],
      data,
    };
  }
  const r = spec.kind === "celeba"
    ? await readCelebA(spec.dir, { limit: spec.limit })
    : await readImageFolder(spec.dir, {
      size: spec.size,
      channels: spec.channels,
      crop: "center-square",
      limit: spec.limit,
    });
  if (r.skipped > 0) console.warn(`skipped ${r.skipped} unreadable image(s) in ${spec.dir}`);
  const c = r.data.length / (r.count * (spec.kind === "celeba" ? 64 * 64 : spec.size * spec.size));
  const side = spec.kind === "celeba" ? 64 : spec.size;
  return {
    description: `${spec.kind === "celeba" ? "CelebA" : "images"} (${r.count}) from ${spec.dir}`,
    count: r.count,
    shape: [c, side, side],
    data: r.data,
  };
}
