/**
 * The safetensors format (an 8-byte little-endian header length, a JSON header, then raw
 * little-endian tensor bytes), for checkpoints that load in PyTorch under the same names.
 *
 * @module
 */

/** One tensor in a safetensors file (f32 only: what this package stores). */
export interface NamedArray {
  /** Shape. */
  shape: number[];
  /** Values, row-major. */
  data: Float32Array;
}

/** Contents of a safetensors file. */
export interface SafeTensors {
  /** Tensors by name. */
  tensors: Map<string, NamedArray>;
  /** String metadata (`__metadata__`). */
  metadata: Record<string, string>;
}

/**
 * Serialises tensors and metadata.
 *
 * @param st tensors and metadata
 * @param options dtype of the stored values: "F32" (default) or "F16" (each rounded to a half)
 * @returns the file bytes
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({
 *   tensors: new Map([["w", { shape: [2], data: new Float32Array([1, 2]) }]]),
 *   metadata: { step: "3" },
 * });
 * console.log(decodeSafetensors(bytes).metadata.step); // "3"
 * ```
 */
export function encodeSafetensors(
  st: SafeTensors,
  options: { dtype?: "F32" | "F16" } = {},
): Uint8Array {
  const dtype = options.dtype ?? "F32";
  const size = dtype === "F16" ? 2 : 4;
  const header: Record<string, unknown> = { __metadata__: st.metadata };
  let offset = 0;
  for (const [name, t] of st.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new Error(`safetensors: ${name} has ${t.data.length} values for [${t.shape}]`);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * size] };
    offset += n * size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of st.tensors.values()) {
    // F16: each value rounded to the nearest half (small shipped models, half the bytes).
    const data = dtype === "F16" ? Float16Array.from(t.data) : t.data;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/**
 * Parses a safetensors file (F32, F16 and BF16 tensors are read as f32).
 *
 * @param bytes the file
 * @returns tensors and metadata
 * @example
 * ```ts
 * import { decodeSafetensors } from "./safetensors.ts";
 * const file = "fixtures/models/fmnist-clean/network-ema.safetensors";
 * const st = decodeSafetensors(await Deno.readFile(file));
 * for (const [name, t] of st.tensors) console.log(name, t.shape);
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): SafeTensors {
  const fail = (why: string): never => {
    throw new Error(`not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail("shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(view.getBigUint64(0, true));
  if (hlen > bytes.length - 8) {
    fail(`header length ${hlen} exceeds the file (${bytes.length} bytes)`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  } catch {
    return fail("header is not JSON (truncated or corrupt file?)");
  }
  const base = 8 + hlen;
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const tensors = new Map<string, NamedArray>();
  for (const [name, h] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [s, e] = h.data_offsets;
    if (base + e > bytes.length) fail(`${name} runs past the end of the file (truncated?)`);
    const n = h.shape.reduce((a, b) => a * b, 1);
    const raw = bytes.slice(base + s, base + e);
    tensors.set(name, { shape: h.shape, data: toF32(raw, h.dtype, n, name) });
  }
  return { tensors, metadata };
}

function toF32(raw: Uint8Array, dtype: string, n: number, name: string): Float32Array {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(n);
  const need = { F32: 4, F16: 2, BF16: 2 }[dtype];
  if (!need) {
    throw new Error(`safetensors: ${name} has dtype ${dtype}; only F32, F16, BF16 are read`);
  }
  if (raw.length !== n * need) {
    throw new Error(`safetensors: ${name} has ${raw.length} bytes for ${n} ${dtype}`);
  }
  for (let i = 0; i < n; i++) {
    if (dtype === "F32") out[i] = v.getFloat32(i * 4, true);
    else if (dtype === "BF16") {
      out[i] = new Float32Array(new Uint32Array([v.getUint16(i * 2, true) << 16]).buffer)[0];
    } else out[i] = halfToFloat(v.getUint16(i * 2, true));
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
