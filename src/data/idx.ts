/**
 * The IDX format of MNIST and Fashion-MNIST: a big-endian magic (two zero bytes, a type byte,
 * the number of dimensions), one big-endian u32 per dimension, then the raw values row-major.
 * Files may be gzipped (detected by the 1f 8b magic) and are then inflated with the web
 * platform's `DecompressionStream`.
 *
 * @module
 */
import { UsageError } from "../core/usage_error.ts";

/** Where Debian's `dataset-fashion-mnist` package installs the four files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** IDX type byte for unsigned 8-bit values: the only type MNIST-like files use. */
const UBYTE = 0x08;
/** Magic of an image file: ubyte, 3 dimensions [count, rows, cols]. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic of a label file: ubyte, 1 dimension [count]. */
export const IDX_LABELS_MAGIC = 0x00000801;

/** A decoded IDX array of unsigned bytes. */
export interface IdxArray {
  /** Dimensions as stored, e.g. [count, rows, cols]. */
  dims: number[];
  /** Values, row-major. */
  data: Uint8Array;
}

/** An IDX image file: `count` images of `rows × cols` bytes (0 = background). */
export interface IdxImages {
  /** Number of images. */
  count: number;
  /** Image height. */
  rows: number;
  /** Image width. */
  cols: number;
  /** Pixels, [count, rows, cols] row-major. */
  data: Uint8Array;
}

/** An IDX label file: one class index per image. */
export interface IdxLabels {
  /** Number of labels. */
  count: number;
  /** Class indices (0–9 for Fashion-MNIST). */
  data: Uint8Array;
}

/**
 * Whether bytes start with the gzip magic 1f 8b.
 *
 * @param bytes file contents
 * @returns true for a gzip stream
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Inflates a gzip stream.
 *
 * @param bytes gzip bytes
 * @param name file name for the error message
 * @returns the decompressed bytes
 */
export async function gunzip(bytes: Uint8Array, name = "input"): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new UsageError(`${name}: corrupt or truncated gzip stream (${(e as Error).message})`);
  }
}

/**
 * Compresses bytes with gzip (the web platform's `CompressionStream`).
 *
 * @param bytes raw bytes
 * @returns gzip bytes
 */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Parses an uncompressed IDX file of unsigned bytes.
 *
 * @param bytes file contents (already inflated)
 * @param expectMagic the magic the caller needs, e.g. {@link IDX_IMAGES_MAGIC}
 * @param name file name for error messages
 * @returns dimensions and values
 */
export function decodeIdx(bytes: Uint8Array, expectMagic: number, name = "input"): IdxArray {
  const fail = (why: string): never => {
    throw new UsageError(`${name}: not a valid IDX file: ${why}`);
  };
  if (bytes.length < 4) fail(`only ${bytes.length} bytes, shorter than the 4-byte magic`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectMagic) {
    const hex = (m: number) => `0x${m.toString(16).padStart(8, "0")}`;
    const why = bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== UBYTE
      ? "not an IDX file of unsigned bytes"
      : `${bytes[3]}-dimensional`;
    fail(`magic ${hex(magic)} (${why}), expected ${hex(expectMagic)}`);
  }
  const ndim = bytes[3];
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) fail(`truncated header (${bytes.length} of ${headerLen} bytes)`);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerLen;
  if (have < size) fail(`truncated: [${dims}] needs ${size} data bytes, file has ${have}`);
  if (have > size) fail(`${have - size} trailing bytes after [${dims}]`);
  return { dims, data: bytes.slice(headerLen) };
}

/**
 * Serialises an IDX file of unsigned bytes (uncompressed).
 *
 * @param dims dimensions, e.g. [count, rows, cols]
 * @param data values, row-major; length must be the product of dims
 * @returns the file bytes
 */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`encodeIdx: ${data.length} bytes for [${dims}]`);
  const out = new Uint8Array(4 + 4 * dims.length + size);
  const view = new DataView(out.buffer);
  view.setUint32(0, (UBYTE << 8) | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/**
 * Reads a file, inflating it if gzipped; a missing file says which dataset provides it.
 *
 * @param path file path
 * @returns the (inflated) bytes
 */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new UsageError(
      `${path}: no such file; expected an IDX file (MNIST / Fashion-MNIST, gzipped or not). ` +
        `On Debian, \`apt-get install dataset-fashion-mnist\` provides ${FASHION_MNIST_DIR}/`,
    );
  }
  return isGzip(bytes) ? await gunzip(bytes, path) : bytes;
}

/**
 * Reads an IDX image file (magic 0x00000803), gzipped or not.
 *
 * @param path e.g. `/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz`
 * @returns count, rows, cols and the pixels
 * @example
 * ```ts
 * import { fashionMnistToTensorData, readIdxImages } from "./idx.ts";
 * const images = await readIdxImages("fixtures/fmnist/t10k-images-idx3-ubyte.gz");
 * const x = fashionMnistToTensorData(images); // [count, 1, 32, 32] in [-1, 1]
 * ```
 */
export async function readIdxImages(path: string): Promise<IdxImages> {
  const { dims, data } = decodeIdx(await readMaybeGzip(path), IDX_IMAGES_MAGIC, path);
  return { count: dims[0], rows: dims[1], cols: dims[2], data };
}

/**
 * Reads an IDX label file (magic 0x00000801), gzipped or not.
 *
 * @param path e.g. `/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz`
 * @returns count and the labels
 */
export async function readIdxLabels(path: string): Promise<IdxLabels> {
  const { dims, data } = decodeIdx(await readMaybeGzip(path), IDX_LABELS_MAGIC, path);
  return { count: dims[0], data };
}

/**
 * Reads one split of Fashion-MNIST (images and labels, which must agree in count).
 *
 * @param split "train" (60 000 images) or "t10k" (10 000 images)
 * @param dir folder holding `<split>-images-idx3-ubyte.gz` and `<split>-labels-idx1-ubyte.gz`
 * @returns images and labels
 */
export async function readFashionMnist(
  split: "train" | "t10k",
  dir: string = FASHION_MNIST_DIR,
): Promise<{ images: IdxImages; labels: IdxLabels }> {
  const images = await readIdxImages(`${dir}/${split}-images-idx3-ubyte.gz`);
  const labels = await readIdxLabels(`${dir}/${split}-labels-idx1-ubyte.gz`);
  if (images.count !== labels.count) {
    throw new Error(`${dir}: ${split} has ${images.count} images but ${labels.count} labels`);
  }
  return { images, labels };
}

/**
 * Converts images to network input: [n, 1, rows + 2·pad, cols + 2·pad] floats in [−1, 1]
 * (pixel / 127.5 − 1), padded with −1 (the background), so 28×28 becomes 32×32 by default.
 *
 * @param images decoded images
 * @param opts pad: border width on every side (default 2)
 * @returns row-major data of shape [count, 1, rows + 2·pad, cols + 2·pad]
 */
export function fashionMnistToTensorData(
  images: IdxImages,
  opts: { pad?: number } = {},
): Float32Array {
  const pad = opts.pad ?? 2;
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`pad must be an integer ≥ 0, got ${pad}`);
  const { count, rows, cols, data } = images;
  const h = rows + 2 * pad, w = cols + 2 * pad;
  const out = new Float32Array(count * h * w).fill(-1);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < rows; y++) {
      const src = (n * rows + y) * cols;
      const dst = (n * h + y + pad) * w + pad;
      for (let x = 0; x < cols; x++) out[dst + x] = data[src + x] / 127.5 - 1;
    }
  }
  return out;
}
