/**
 * Data on disk: Fashion-MNIST's IDX files, CelebA and image folders (through the native
 * `sharp`, which is why this is an entry point of its own), the training set in memory and
 * its seeded batches, and PNG grids out.
 *
 * @example
 * ```ts
 * import { batchIndices, gatherBatch, loadDataset } from "./mod.ts";
 * const ds = await loadDataset({ kind: "fmnist", dir: "fixtures/fmnist", limit: 8 });
 * const batch = gatherBatch(ds, batchIndices(ds.count, 4, 0, 1)); // [4, 1, 32, 32]
 * ```
 *
 * @module
 */
export { fashionMnistToTensorData, readFashionMnist, readIdxImages } from "./idx.ts";
export type { IdxArray, IdxImages, IdxLabels } from "./idx.ts";
export {
  batchIndices,
  dataShape,
  type DataSpec,
  gatherBatch,
  type ImageDataset,
  type MriDataSpec,
} from "./dataset.ts";
export { loadDataset, type LoadOptions } from "./load_dataset.ts";
export {
  type CelebAOptions,
  type ImageFolder,
  type ImageFolderOptions,
  readCelebA,
  readImageFolder,
} from "./image_folder.ts";
export {
  encodePng,
  type GridOptions,
  imageGrid,
  type RasterImage,
  writePngGrid,
} from "../io/png.ts";
export { writeFileAtomic } from "../io/atomic.ts";
export { type NiftiVolume, parseNifti, readNifti } from "./nifti.ts";
export {
  type Cfl,
  interleavedFromPlanar,
  planarFromInterleaved,
  readCfl,
  writeCfl,
} from "./cfl.ts";
export { type FastMriContents, FastMriFile, type FastMriInfo, writeFastMri } from "./fastmri.ts";
export { type MriMasking, type MriTrainSlice, readMriSlices } from "../mri/train_batch.ts";
export { mriTrainFile, openMriTrainData, writeMriPriorGrid } from "../mri/train_data.ts";
