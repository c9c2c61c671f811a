/**
 * fastMRI multi-coil HDF5 files through h5wasm: `kspace` [slices, coils, H, W] complex64,
 * `reconstruction_rss` [slices, H, W] and the `ismrmrd_header` XML (Aali et al. 2024, §4:
 * the paper's data). Simulated data (scripts/mri-simulate.ts) uses the same layout plus
 * `maps` and `ground_truth`; h5wasm cannot write HDF5 compound types, so files written
 * here store complex arrays as float32 with a trailing (Re, Im) dim, which the reader also
 * takes (numpy: `a[..., 0] + 1j * a[..., 1]`).
 *
 * @module
 */
import h5wasm from "h5wasm/node";
import { interleavedFromPlanar } from "./cfl.ts";

/** Complex slices in the package's planar layout. */
export interface FastMriInfo {
  /** Number of slices. */
  slices: number;
  /** Number of coils C. */
  coils: number;
  /** Rows H (read-out). */
  height: number;
  /** Columns W (phase encode). */
  width: number;
  /** The ismrmrd_header XML. */
  header: string;
  /** File attributes (e.g. acquisition, or `data: "simulated k-space"`). */
  attrs: Record<string, unknown>;
  /** Whether `maps`, `ground_truth` and `reconstruction_rss` exist. */
  has: { maps: boolean; groundTruth: boolean; rss: boolean };
}

/** What {@link writeFastMri} stores (planar complex: Re plane, then Im plane). */
export interface FastMriContents {
  /** k-space [slices, C, 2, H, W]. */
  kspace: Float32Array;
  /** [slices, C, H, W]. */
  dims: [number, number, number, number];
  /** Root-sum-of-squares images [slices, H, W]. */
  rss: Float32Array;
  /** The ismrmrd_header XML. */
  header: string;
  /** Coil maps [slices, C, 2, H, W] (optional). */
  maps?: Float32Array;
  /** Ground-truth complex images [slices, 2, H, W] (optional). */
  groundTruth?: Float32Array;
  /** String attributes of the file. */
  attrs?: Record<string, string>;
  /** gzip level 1–9 of the arrays, chunked per slice (committed fixtures); default none. */
  gzip?: number;
}

type H5File = InstanceType<typeof h5wasm.File>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

/**
 * An open fastMRI-layout file; read slices on demand, then `close()`.
 *
 * @example
 * ```ts ignore
 * import { FastMriFile } from "./fastmri.ts";
 * const f = await FastMriFile.open("file_brain_AXT2_200_2000019.h5");
 * const k = f.kspace(0); // [C, 2, H, W] planar complex
 * f.close();
 * ```
 */
export class FastMriFile implements Disposable {
  /** Sizes, header and attributes. */
  readonly info: FastMriInfo;
  readonly #file: H5File;
  readonly #path: string;

  private constructor(file: H5File, path: string, info: FastMriInfo) {
    this.#file = file;
    this.#path = path;
    this.info = info;
  }

  /**
   * Opens a file and checks its layout.
   *
   * @param path an .h5 file
   * @returns the open file
   */
  static async open(path: string): Promise<FastMriFile> {
    const head = await readHead(path);
    if (!isHdf5(head)) throw new Error(`${path}: not an HDF5 file (no HDF5 signature)`);
    await h5wasm.ready;
    const file = new h5wasm.File(path, "r");
    try {
      const keys = file.keys();
      for (const k of ["kspace", "ismrmrd_header"]) {
        if (!keys.includes(k)) {
          throw new Error(
            `${path}: no "${k}" dataset (a fastMRI multi-coil file has kspace [slices, coils, ` +
              `H, W] complex64 and ismrmrd_header); it has: ${keys.join(", ") || "nothing"}`,
          );
        }
      }
      const ks = file.get("kspace") as H5Dataset;
      const shape = (ks.shape ?? []).map(Number);
      const complex = isComplex(ks);
      const rank = complex ? 4 : 5;
      if (shape.length !== rank || (!complex && shape[4] !== 2)) {
        throw new Error(
          `${path}: kspace is [${shape}] ${complex ? "complex" : ks.dtype}; need [slices, ` +
            `coils, H, W] complex64 (or float32 [slices, coils, H, W, 2])`,
        );
      }
      const [slices, coils, height, width] = shape;
      const has = {
        maps: keys.includes("maps"),
        groundTruth: keys.includes("ground_truth"),
        rss: keys.includes("reconstruction_rss"),
      };
      const expect: [string, boolean, number[]][] = [
        ["maps", has.maps, [slices, coils, height, width, 2]],
        ["ground_truth", has.groundTruth, [slices, height, width, 2]],
        ["reconstruction_rss", has.rss, [slices, height, width]],
      ];
      for (const [name, present, want] of expect) {
        const got = present ? ((file.get(name) as H5Dataset).shape ?? []).map(Number) : want;
        if (`${got}` !== `${want}`) {
          throw new Error(`${path}: ${name} is [${got}], but kspace [${shape}] needs [${want}]`);
        }
      }
      const header = String((file.get("ismrmrd_header") as H5Dataset).value);
      const attrs: Record<string, unknown> = {};
      for (const [k, a] of Object.entries(file.attrs)) attrs[k] = a.value;
      return new FastMriFile(file, path, { slices, coils, height, width, header, attrs, has });
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /**
   * One slice of k-space, planar; throws on NaN or Inf.
   *
   * @param slice index
   * @returns [C, 2, H, W] values
   */
  kspace(slice: number): Float32Array {
    const { coils, height, width } = this.info;
    const k = this.#read("kspace", slice, [coils, height, width]);
    for (let i = 0; i < k.length; i++) {
      if (!Number.isFinite(k[i])) {
        throw new Error(`${this.#path}: kspace slice ${slice} holds NaN or Inf (value ${i})`);
      }
    }
    return k;
  }

  /**
   * One slice of coil maps (simulated files; `bart ecalib` output stored beside real data).
   *
   * @param slice index
   * @returns [C, 2, H, W] values
   */
  maps(slice: number): Float32Array {
    const { coils, height, width } = this.info;
    return this.#read("maps", slice, [coils, height, width]);
  }

  /**
   * One ground-truth complex image.
   *
   * @param slice index
   * @returns [2, H, W] values
   */
  groundTruth(slice: number): Float32Array {
    return this.#read("ground_truth", slice, [this.info.height, this.info.width]);
  }

  /**
   * One root-sum-of-squares image.
   *
   * @param slice index
   * @returns [H, W] values
   */
  rss(slice: number): Float32Array {
    this.#need("reconstruction_rss", this.info.has.rss, slice);
    const d = this.#file.get("reconstruction_rss") as H5Dataset;
    return Float32Array.from(d.slice([[slice, slice + 1]]) as ArrayLike<number>);
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #need(name: string, present: boolean, slice: number): void {
    if (!present) throw new Error(`${this.#path}: no "${name}" dataset`);
    if (!(Number.isInteger(slice) && slice >= 0 && slice < this.info.slices)) {
      throw new Error(`${this.#path}: slice ${slice} is outside 0..${this.info.slices - 1}`);
    }
  }

  /** Slice `slice` of a complex dataset [slices, ...inner], as planar [...outer, 2, H, W]. */
  #read(name: string, slice: number, inner: number[]): Float32Array {
    const present = name === "kspace" ||
      (name === "maps" ? this.info.has.maps : this.info.has.groundTruth);
    this.#need(name, present, slice);
    const d = this.#file.get(name) as H5Dataset;
    const raw = d.slice([[slice, slice + 1]]) as unknown;
    const count = inner.reduce((a, b) => a * b, 1);
    const hw = inner[inner.length - 1] * inner[inner.length - 2];
    const out = new Float32Array(2 * count);
    // Complex64 comes back as [re, im] pairs; float32 [..., 2] as one interleaved array.
    const pairs = isComplex(d) ? raw as [number, number][] : null;
    const flat = pairs ? null : raw as ArrayLike<number>;
    for (let i = 0; i < count; i++) {
      const o = Math.floor(i / hw) * 2 * hw + (i % hw);
      out[o] = pairs ? pairs[i][0] : flat![2 * i];
      out[o + hw] = pairs ? pairs[i][1] : flat![2 * i + 1];
    }
    return out;
  }
}

/**
 * Writes a fastMRI-layout file atomically (a temporary name, then renamed). Complex
 * arrays are stored as float32 [..., 2] (see the module note).
 *
 * @param path destination .h5
 * @param c k-space, RSS, header, optional maps and ground truth
 */
export async function writeFastMri(path: string, c: FastMriContents): Promise<void> {
  const [s, coils, h, w] = c.dims;
  const sizes: [string, Float32Array | undefined, number][] = [
    ["kspace", c.kspace, s * coils * 2 * h * w],
    ["rss", c.rss, s * h * w],
    ["maps", c.maps, s * coils * 2 * h * w],
    ["groundTruth", c.groundTruth, s * 2 * h * w],
  ];
  for (const [name, a, n] of sizes) {
    if (a && a.length !== n) {
      throw new Error(`${path}: ${name} has ${a.length} values, dims [${c.dims}] need ${n}`);
    }
  }
  await h5wasm.ready;
  const tmp = `${path}.${Deno.pid}.tmp`;
  const f = new h5wasm.File(tmp, "w");
  try {
    const packed = (shape: number[]) =>
      c.gzip ? { chunks: [1, ...shape.slice(1)], compression: c.gzip } : {};
    const put = (name: string, data: Float32Array, shape: number[]) =>
      f.create_dataset({ name, data, shape, dtype: "<f", ...packed(shape) });
    put("kspace", interleavedFromPlanar(c.kspace, s * coils, h * w), [s, coils, h, w, 2]);
    put("reconstruction_rss", c.rss, [s, h, w]);
    if (c.maps) put("maps", interleavedFromPlanar(c.maps, s * coils, h * w), [s, coils, h, w, 2]);
    if (c.groundTruth) {
      put("ground_truth", interleavedFromPlanar(c.groundTruth, s, h * w), [s, h, w, 2]);
    }
    f.create_dataset({ name: "ismrmrd_header", data: c.header });
    for (const [k, v] of Object.entries(c.attrs ?? {})) f.create_attribute(k, v);
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}

/** The first 2 KiB of a file (where the HDF5 superblock may start). */
async function readHead(path: string): Promise<Uint8Array> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path);
  } catch {
    throw new Error(`${path}: no such file`);
  }
  try {
    const buf = new Uint8Array(2056);
    let n = 0;
    for (let r: number | null = 0; r !== null && n < buf.length; n += r ?? 0) {
      r = await f.read(buf.subarray(n));
    }
    return buf.subarray(0, n);
  } finally {
    f.close();
  }
}

/** The superblock signature \x89HDF\r\n\x1a\n at offset 0, 512, 1024 or 2048. */
function isHdf5(head: Uint8Array): boolean {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  return [0, 512, 1024, 2048].some((o) => sig.every((b, i) => head[o + i] === b));
}

function isComplex(d: H5Dataset): boolean {
  const m = d.metadata as { compound_type?: { members: { name: string }[] } };
  const names = m.compound_type?.members.map((x) => x.name).join(",");
  return names === "r,i";
}
