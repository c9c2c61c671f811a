/**
 * A NIfTI-1 reader (`.nii`, `.nii.gz`): the 348-byte header, then the voxels. Enough for
 * the anatomical volumes the simulated k-space is made from (docs/mri-physics/).
 *
 * @module
 */

/** A NIfTI volume with its voxels as floats (scl_slope and scl_inter applied). */
export interface NiftiVolume {
  /** Sizes of the used dims, x fastest: e.g. [nx, ny, nz]. */
  dims: number[];
  /** Voxel sizes in mm (or the file's units) of those dims. */
  pixdim: number[];
  /** The NIfTI datatype code of the stored voxels (2 = uint8, 4 = int16, 16 = float32, …). */
  datatype: number;
  /** Voxels in file order (x fastest, then y, then z). */
  data: Float32Array;
}

const READERS: Record<number, [number, (v: DataView, o: number, le: boolean) => number]> = {
  2: [1, (v, o) => v.getUint8(o)],
  4: [2, (v, o, le) => v.getInt16(o, le)],
  8: [4, (v, o, le) => v.getInt32(o, le)],
  16: [4, (v, o, le) => v.getFloat32(o, le)],
  64: [8, (v, o, le) => v.getFloat64(o, le)],
  256: [1, (v, o) => v.getInt8(o)],
  512: [2, (v, o, le) => v.getUint16(o, le)],
  768: [4, (v, o, le) => v.getUint32(o, le)],
};

/**
 * Parses NIfTI-1 bytes (gzip-compressed or not).
 *
 * @param bytes the file's contents
 * @param name the file name, for errors
 * @returns the volume
 * @example
 * ```ts ignore
 * import { readNifti } from "./nifti.ts";
 * const v = await readNifti("/usr/share/mricron/templates/ch2better.nii.gz");
 * console.log(v.dims); // [301, 370, 316]
 * ```
 */
export async function parseNifti(bytes: Uint8Array, name = "NIfTI"): Promise<NiftiVolume> {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes, name);
  if (bytes.length < 348) throw new Error(`${name}: not a NIfTI-1 file (${bytes.length} bytes)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = v.getInt32(0, true) === 348;
  if (!le && v.getInt32(0, false) !== 348) {
    throw new Error(`${name}: not a NIfTI-1 file (sizeof_hdr is not 348)`);
  }
  const magic = String.fromCharCode(...bytes.subarray(344, 347));
  if (magic !== "n+1") {
    throw new Error(
      `${name}: not a single-file NIfTI-1 (magic "${magic}"; .hdr/.img pairs are not read)`,
    );
  }
  const rank = v.getInt16(40, le);
  if (!(rank >= 1 && rank <= 7)) throw new Error(`${name}: dim[0] = ${rank} is not in 1..7`);
  const dims = Array.from({ length: rank }, (_, k) => v.getInt16(42 + 2 * k, le));
  if (dims.some((d) => d < 1)) throw new Error(`${name}: bad dims [${dims}]`);
  const pixdim = Array.from({ length: rank }, (_, k) => v.getFloat32(80 + 4 * k, le));
  const datatype = v.getInt16(70, le);
  const reader = READERS[datatype];
  if (!reader) throw new Error(`${name}: NIfTI datatype ${datatype} is not supported`);
  const [bytesPer, get] = reader;
  const offset = Math.round(v.getFloat32(108, le));
  const count = dims.reduce((a, b) => a * b, 1);
  if (offset < 348 || offset + count * bytesPer > bytes.length) {
    throw new Error(
      `${name}: ${count} voxels of ${bytesPer} bytes at offset ${offset} do not fit in ` +
        `${bytes.length} bytes (truncated file?)`,
    );
  }
  // A slope of 0 means "no scaling" (NIfTI-1 standard).
  const slope = v.getFloat32(112, le) || 1;
  const inter = v.getFloat32(116, le) || 0;
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = get(v, offset + i * bytesPer, le) * slope + inter;
  return { dims, pixdim, datatype, data };
}

/**
 * Reads a NIfTI-1 file.
 *
 * @param path a `.nii` or `.nii.gz` file
 * @returns the volume
 */
export async function readNifti(path: string): Promise<NiftiVolume> {
  return parseNifti(await Deno.readFile(path), path);
}

async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${name}: gzip data is corrupt (${(e as Error).message})`);
  }
}
