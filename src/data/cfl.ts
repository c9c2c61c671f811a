/**
 * BART's `.cfl`/`.hdr` pairs: a text header "# Dimensions" with up to 16 sizes, and the
 * raw complex64 values (Re, Im interleaved, first dim fastest). The exchange format with
 * the `bart` tool our reconstructions are checked against (docs/mri-physics/).
 *
 * @module
 */
import { writeFileAtomic } from "../io/atomic.ts";

/** A complex array as BART stores it. */
export interface Cfl {
  /** Sizes, first dim fastest; trailing 1s trimmed. */
  dims: number[];
  /** Interleaved Re, Im values: 2·∏dims floats. */
  data: Float32Array;
}

/**
 * Reads `base.hdr` and `base.cfl`.
 *
 * @param base path without the extension
 * @returns the dims and the complex values
 * @example
 * ```ts ignore
 * import { readCfl } from "./cfl.ts";
 * const { dims, data } = await readCfl("fixtures/mri/bart/pics_l1"); // dims [H, W]
 * ```
 */
export async function readCfl(base: string): Promise<Cfl> {
  const hdrPath = `${base}.hdr`;
  const text = await Deno.readTextFile(hdrPath);
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.trim() === "# Dimensions");
  const fields = at < 0 ? [] : (lines[at + 1] ?? "").trim().split(/\s+/);
  const dims = fields.map(Number);
  if (at < 0 || dims.length === 0 || dims.some((d) => !(Number.isInteger(d) && d >= 1))) {
    throw new Error(`${hdrPath}: not a BART header (need "# Dimensions" then positive sizes)`);
  }
  while (dims.length > 1 && dims[dims.length - 1] === 1) dims.pop();
  const count = dims.reduce((a, b) => a * b, 1);
  const cflPath = `${base}.cfl`;
  const bytes = await Deno.readFile(cflPath);
  if (bytes.length !== count * 8) {
    throw new Error(
      `${cflPath}: ${bytes.length} bytes, but ${hdrPath} dims [${dims}] need ${count * 8}`,
    );
  }
  const data = new Float32Array(2 * count);
  new Uint8Array(data.buffer).set(bytes);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error(`${cflPath}: big-endian hosts are not supported`);
  }
  return { dims, data };
}

/**
 * Writes `base.hdr` and `base.cfl` (each atomically).
 *
 * @param base path without the extension
 * @param dims sizes, first dim fastest
 * @param data interleaved Re, Im values, 2·∏dims of them
 */
export async function writeCfl(
  base: string,
  dims: readonly number[],
  data: Float32Array,
): Promise<void> {
  const count = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !(Number.isInteger(d) && d >= 1)) || data.length !== 2 * count) {
    throw new Error(`${base}.cfl: ${data.length} floats do not fill complex dims [${dims}]`);
  }
  const padded = [...dims, ...Array(Math.max(0, 16 - dims.length)).fill(1)];
  await writeFileAtomic(
    `${base}.cfl`,
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  await writeFileAtomic(
    `${base}.hdr`,
    new TextEncoder().encode(`# Dimensions\n${padded.join(" ")}\n`),
  );
}

/**
 * BART's interleaved complex (Re, Im pairs) → the package's planar [n, 2, HW] layout.
 *
 * @param data 2·n·hw interleaved values
 * @param n number of images (coils)
 * @param hw pixels per image
 * @returns planar values
 */
export function planarFromInterleaved(
  data: ArrayLike<number>,
  n: number,
  hw: number,
): Float32Array {
  return reorder(data, n, hw, true);
}

/**
 * The package's planar [n, 2, HW] layout → interleaved (Re, Im) pairs, as BART and
 * HDF5 complex arrays store them.
 *
 * @param planar 2·n·hw planar values
 * @param n number of images (coils)
 * @param hw pixels per image
 * @returns interleaved values
 */
export function interleavedFromPlanar(
  planar: ArrayLike<number>,
  n: number,
  hw: number,
): Float32Array {
  return reorder(planar, n, hw, false);
}

/** Moves each value between index 2·(i·hw + p) + part and (2i + part)·hw + p. */
function reorder(src: ArrayLike<number>, n: number, hw: number, toPlanar: boolean): Float32Array {
  const out = new Float32Array(2 * n * hw);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < hw; p++) {
      for (const part of [0, 1]) {
        const inter = 2 * (i * hw + p) + part;
        const plane = (2 * i + part) * hw + p;
        if (toPlanar) out[plane] = src[inter];
        else out[inter] = src[plane];
      }
    }
  }
  return out;
}
