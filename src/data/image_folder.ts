/**
 * Folders of JPEG / PNG / WebP images (CelebA, FFHQ, AFHQ as users have them on disk), decoded
 * with `sharp` (libvips) into one `[n, C, size, size]` array in [−1, 1].
 *
 * The pipeline follows EDM's `dataset_tool.py`, which Ambient Diffusion uses to prepare its
 * datasets: drop alpha, centre crop (offsets rounded down), resize with Lanczos-3, then
 * `x / 127.5 − 1`. Grayscale uses ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B, as PIL's
 * `convert("L")`), computed here in floating point after the RGB resize.
 *
 * @module
 */

import sharp from "sharp";
import { UsageError } from "../core/usage_error.ts";

/** File extensions read (case-insensitive); other files in the folder are ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = ["jpg", "jpeg", "png", "webp"];

/** Number of images sharp decodes at once (libvips runs them on its own thread pool). */
const CONCURRENCY = 8;

/** Options of {@link readImageFolder}. */
export interface ImageFolderOptions {
  /** Output height and width in pixels. */
  size: number;
  /** 1 (ITU-R 601 luma) or 3 (RGB). */
  channels: 1 | 3;
  /**
   * Centre crop before resizing: a side length in pixels (images smaller than it are skipped),
   * or `"center-square"` for the largest centred square. Without it the whole image is
   * stretched to `size × size`.
   */
  crop?: number | "center-square";
  /** At most this many images (the first ones by file name that decode). */
  limit?: number;
  /** Called once per skipped file with its path and the reason. */
  onSkip?: (file: string, reason: string) => void;
  /** Called after each batch of files with the files looked at and the files to look at. */
  onProgress?: (done: number, total: number) => void;
}

/** Images read from a folder. */
export interface ImageFolder {
  /** Number of images in `data`. */
  count: number;
  /** Pixels, [count, channels, size, size] row-major, in [−1, 1]. */
  data: Float32Array;
  /** Paths of the images in `data`, in order (sorted by file name). */
  files: string[];
  /** Number of image files that could not be decoded or were too small for the crop. */
  skipped: number;
}

/** Options of {@link readCelebA}. */
export interface CelebAOptions {
  /** At most this many images (CelebA has 202 599; all of them take ~10 GB as f32). */
  limit?: number;
  /** Called once per skipped file with its path and the reason. */
  onSkip?: (file: string, reason: string) => void;
  /** Called after each batch of files with the files looked at and the files to look at. */
  onProgress?: (done: number, total: number) => void;
}

/** CelebA's aligned images are 178 × 218; the centred 178 × 178 square holds the face. */
export const CELEBA_CROP = 178;
/** Resolution of the CelebA experiments (EDM / Ambient Diffusion CelebA-64). */
export const CELEBA_SIZE = 64;

/**
 * Reads every image of a folder (not its subfolders), sorted by file name, centre-cropped,
 * resized and scaled to [−1, 1]. Files that fail to decode (corrupt, truncated, or that libvips
 * warns about) are skipped, counted and reported through `onSkip`.
 *
 * @param dir folder holding `.jpg`, `.jpeg`, `.png` or `.webp` files
 * @param opts output size, channels, crop, limit and skip callback
 * @returns the images as one array, their paths and the number skipped
 * @example
 * ```ts
 * import { readImageFolder } from "./image_folder.ts";
 * const { count, data } = await readImageFolder("photos", {
 *   size: 64,
 *   channels: 3,
 *   crop: "center-square",
 *   limit: 1000,
 * });
 * // data is [count, 3, 64, 64] in [-1, 1]
 * ```
 */
export async function readImageFolder(dir: string, opts: ImageFolderOptions): Promise<ImageFolder> {
  const { size, channels, crop, limit = Infinity, onSkip, onProgress } = opts;
  if (!Number.isInteger(size) || size < 1) throw new Error(`readImageFolder: size ${size}`);
  if (channels !== 1 && channels !== 3) {
    throw new Error(`readImageFolder: channels must be 1 or 3, got ${channels}`);
  }
  if (typeof crop === "number" && (!Number.isInteger(crop) || crop < 1)) {
    throw new Error(`readImageFolder: crop ${crop} is not a positive integer`);
  }
  if (!(limit >= 0)) throw new Error(`readImageFolder: limit ${limit}`);
  const paths = await listImages(dir);
  const per = channels * size * size;
  const capacity = Math.min(limit, paths.length);
  let data = new Float32Array(capacity * per);
  const files: string[] = [];
  let skipped = 0;
  // Decode in ordered batches so results stay in file-name order and `limit` stops early.
  for (let start = 0; start < paths.length && files.length < capacity; start += CONCURRENCY) {
    const batch = paths.slice(start, start + CONCURRENCY);
    const results = await Promise.all(batch.map((p) => decodeOne(p, size, crop)));
    for (let i = 0; i < batch.length && files.length < capacity; i++) {
      const r = results[i];
      if (typeof r === "string") {
        skipped++;
        onSkip?.(batch[i], r);
        continue;
      }
      writeChw(r, channels, size, data.subarray(files.length * per, (files.length + 1) * per));
      files.push(batch[i]);
    }
    onProgress?.(Math.min(start + CONCURRENCY, paths.length), paths.length);
  }
  if (files.length === 0 && capacity > 0) {
    throw new UsageError(
      `${dir}: none of the ${paths.length} image files could be read ` +
        `(${skipped} skipped as corrupt, unreadable or smaller than the crop)`,
    );
  }
  if (files.length < capacity) data = data.slice(0, files.length * per);
  return { count: files.length, data, files, skipped };
}

/**
 * Reads the aligned CelebA images as in the Ambient Diffusion / EDM CelebA-64 preparation:
 * centre crop 178 × 178 of each 178 × 218 image, Lanczos resize to 64 × 64, RGB in [−1, 1].
 *
 * @param dir the `img_align_celeba` folder (or a folder that contains it)
 * @param opts limit and skip callback
 * @returns the images as [count, 3, 64, 64], their paths and the number skipped
 */
export async function readCelebA(dir: string, opts: CelebAOptions = {}): Promise<ImageFolder> {
  const nested = `${dir.replace(/\/+$/, "")}/img_align_celeba`;
  if (await isDir(nested)) dir = nested;
  else if (!(await isDir(dir))) {
    const file = await Deno.stat(dir).then((s) => s.isFile, () => false);
    if (file) throw new UsageError(`not a folder: ${dir} is a file; pass the img_align_celeba one`);
    throw new UsageError(
      `CelebA folder not found: ${dir}. ` +
        `CelebA cannot be downloaded by this package. Download the "img_align_celeba" folder of ` +
        `Align&Cropped CelebA (img_align_celeba.zip, 202 599 JPEGs of 178×218, from ` +
        `https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html), unzip it, and pass it with ` +
        `--data <img_align_celeba folder>. ` +
        `Without CelebA, try \`deno task train:fmnist-inpaint\` (Fashion-MNIST, available offline).`,
    );
  }
  return await readImageFolder(dir, {
    size: CELEBA_SIZE,
    channels: 3,
    crop: CELEBA_CROP,
    limit: opts.limit,
    onSkip: opts.onSkip,
    onProgress: opts.onProgress,
  });
}

/** Decoded pixels: height = width = size, 3 interleaved uint8 channels (RGB). */
type Rgb = Uint8Array;

/** Decodes, crops and resizes one file; a string is the reason it was skipped. */
async function decodeOne(
  path: string,
  size: number,
  crop: number | "center-square" | undefined,
): Promise<Rgb | string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
  try {
    let img = sharp(bytes, { failOn: "warning" });
    const { width, height } = await img.metadata();
    if (!width || !height) return "no image dimensions";
    if (crop !== undefined) {
      const side = crop === "center-square" ? Math.min(width, height) : crop;
      if (side > width || side > height) {
        return `${width}×${height} is smaller than the ${side}×${side} crop`;
      }
      const left = Math.floor((width - side) / 2);
      const top = Math.floor((height - side) / 2);
      img = img.extract({ left, top, width: side, height: side });
    }
    const { data, info } = await img
      .removeAlpha()
      .resize(size, size, { fit: "fill", kernel: "lanczos3" })
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size || info.height !== size) {
      return `decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`;
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}

/** Converts interleaved RGB bytes to planar [C, size, size] in [−1, 1]. */
function writeChw(rgb: Rgb, channels: 1 | 3, size: number, out: Float32Array): void {
  const hw = size * size;
  for (let p = 0; p < hw; p++) {
    const r = rgb[3 * p], g = rgb[3 * p + 1], b = rgb[3 * p + 2];
    if (channels === 3) {
      out[p] = r / 127.5 - 1;
      out[hw + p] = g / 127.5 - 1;
      out[2 * hw + p] = b / 127.5 - 1;
    } else out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 127.5 - 1;
  }
}

/** Image file paths of a folder sorted by name (code-unit order, independent of locale). */
async function listImages(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const ext = e.name.slice(e.name.lastIndexOf(".") + 1).toLowerCase();
      if (!e.isDirectory && e.name.includes(".") && IMAGE_EXTENSIONS.includes(ext)) {
        names.push(e.name);
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`image folder not found: ${dir}`);
    if (e instanceof Deno.errors.NotADirectory) {
      throw new UsageError(`not a folder: ${dir} is a file; pass the folder of images`);
    }
    throw e;
  }
  if (names.length === 0) {
    throw new UsageError(
      `${dir}: no image files (.${IMAGE_EXTENSIONS.join(", .")}) in this folder`,
    );
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const base = dir.replace(/\/+$/, "");
  return names.map((n) => `${base}/${n}`);
}

/** Whether a path is an existing folder. */
async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
