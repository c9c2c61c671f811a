/**
 * A small PNG writer (8-bit grayscale or RGB, no interlace, filter 0, zlib from the web
 * platform's `CompressionStream("deflate")`) and image grids for samples in [−1, 1].
 *
 * @module
 */

import { writeFileAtomic } from "./atomic.ts";

/** An 8-bit image, pixels interleaved row-major ([height, width, channels]). */
export interface RasterImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 (grayscale) or 3 (RGB). */
  channels: 1 | 3;
  /** height × width × channels bytes. */
  pixels: Uint8Array;
}

/** Options of {@link imageGrid}. */
export interface GridOptions {
  /** Images per row; default ⌈√n⌉. */
  cols?: number;
  /** Pixels of padding between images and around the grid; default 2. */
  pad?: number;
  /** Value of the padding and empty cells, in the images' [−1, 1] units; default 1 (white). */
  padValue?: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** CRC-32 (polynomial 0xEDB88320) of every byte value, as PNG chunks use. */
const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 as in PNG, zlib and gzip.
 *
 * @param bytes input
 * @returns the checksum as an unsigned 32-bit integer
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Encodes an 8-bit grayscale or RGB image as PNG.
 *
 * @param img width, height, channels and interleaved pixels
 * @returns the PNG file bytes
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 * const png = await encodePng({ width: 2, height: 1, channels: 1, pixels: new Uint8Array([0, 255]) });
 * await Deno.writeFile("two_pixels.png", png);
 * ```
 */
export async function encodePng(img: RasterImage): Promise<Uint8Array> {
  const { width, height, channels, pixels } = img;
  if (channels !== 1 && channels !== 3) throw new Error(`encodePng: ${channels} channels`);
  if (!(width >= 1 && height >= 1 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new Error(`encodePng: size ${width}×${height}`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new Error(`encodePng: ${pixels.length} bytes for ${width}×${height}×${channels}`);
  }
  // Every scanline starts with its filter type byte (0 = None).
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // colour type: grayscale or truecolour
  // Bytes 10-12: compression 0 (deflate), filter method 0, no interlace.
  const idat = await deflate(raw);
  const chunks = [
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(8 + chunks.reduce((a, c) => a + c.length, 0));
  out.set(PNG_SIGNATURE, 0);
  let at = 8;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Tiles images in [−1, 1] into one 8-bit image, row by row, with padding around each (as
 * torchvision's `make_grid`). Values are clipped to [−1, 1] and mapped to
 * round((x + 1) · 127.5); NaN becomes 0.
 *
 * @param data images, [n, C, H, W] row-major, C = 1 or 3
 * @param shape [n, C, H, W]
 * @param opts columns, padding and padding value
 * @returns the grid as an interleaved 8-bit image
 */
export function imageGrid(
  data: Float32Array,
  shape: readonly number[],
  opts: GridOptions = {},
): RasterImage {
  if (shape.length !== 4) throw new Error(`imageGrid: shape [${shape}] is not [n, C, H, W]`);
  const [n, c, h, w] = shape;
  if (c !== 1 && c !== 3) throw new Error(`imageGrid: ${c} channels (need 1 or 3)`);
  if (data.length !== n * c * h * w) {
    throw new Error(`imageGrid: ${data.length} values for [${shape}]`);
  }
  if (n < 1) throw new Error("imageGrid: no images");
  const { cols: colsOpt, pad = 2, padValue = 1 } = opts;
  const cols = Math.min(colsOpt ?? Math.ceil(Math.sqrt(n)), n);
  if (!(Number.isInteger(cols) && cols >= 1)) throw new Error(`imageGrid: cols ${colsOpt}`);
  if (!(Number.isInteger(pad) && pad >= 0)) throw new Error(`imageGrid: pad ${pad}`);
  const rows = Math.ceil(n / cols);
  const width = pad + cols * (w + pad);
  const height = pad + rows * (h + pad);
  const pixels = new Uint8Array(width * height * c).fill(toByte(padValue));
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (w + pad);
    const y0 = pad + Math.floor(i / cols) * (h + pad);
    for (let ch = 0; ch < c; ch++) {
      const plane = (i * c + ch) * h * w;
      for (let y = 0; y < h; y++) {
        const row = ((y0 + y) * width + x0) * c + ch;
        for (let x = 0; x < w; x++) pixels[row + x * c] = toByte(data[plane + y * w + x]);
      }
    }
  }
  return { width, height, channels: c, pixels };
}

/**
 * Writes images in [−1, 1] as one PNG grid, atomically (temporary file, then rename).
 *
 * @param path destination `.png`
 * @param data images, [n, C, H, W] row-major, C = 1 or 3
 * @param shape [n, C, H, W]
 * @param opts columns, padding and padding value
 */
export async function writePngGrid(
  path: string,
  data: Float32Array,
  shape: readonly number[],
  opts: GridOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await encodePng(imageGrid(data, shape, opts)));
}

/** [−1, 1] → 0..255, clipped and rounded; NaN → 0. */
function toByte(x: number): number {
  if (!(x > -1)) return 0;
  if (x >= 1) return 255;
  return Math.round((x + 1) * 127.5);
}

/** A PNG chunk: length, type, data, CRC of type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** zlib (RFC 1950) compression, the stream format PNG's IDAT holds. */
async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
