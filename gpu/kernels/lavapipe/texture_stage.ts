/**
 * Staging a stack of 2-D planes (a [planes, h, w] buffer, e.g. NCHW with planes = N·C) into an
 * rgba32float storage texture, with zero borders, so kernels can read it through texel loads
 * (on llvmpipe ~25× cheaper than storage-buffer loads) without bounds checks:
 * - each plane becomes `rows` padded rows of `texels` texels (4 floats each): `top` zero rows,
 *   the h image rows shifted right by `left` zero columns, zeros after, zero rows below;
 * - a texture row holds `perRow` whole planes side by side, so stepping to the next plane
 *   is an add and a wrap, never a division.
 *
 * A layout without borders is the buffer in order: copies alone. Otherwise three steps,
 * because a copy can neither add borders nor shift rows by a column, while a kernel reading
 * the buffer pays ~18 cycles a float (6 ms per million floats here): the buffer is first
 * copied as is into a "raw" texture (a memcpy, ~25× cheaper), then a kernel rearranges that
 * texture through cheap texel loads into the padded rows, stored in a buffer (textureStore
 * costs more than a buffer store and a copy), and a last copy moves them into the texture.
 *
 * @module
 */
import type { Engine } from "../../engine.ts";
import { groups1d, INDEX } from "../common.ts";

/** Where each float of a [planes, h, w] tensor sits in a staged texture. */
export interface PlaneLayout {
  /** Planes in the source buffer. */
  planes: number;
  /** Source plane height. */
  h: number;
  /** Source plane width. */
  w: number;
  /** Zero rows above each plane. */
  top: number;
  /** Zero floats left of each row. */
  left: number;
  /** Padded rows per plane (top + h + zero rows below). */
  rows: number;
  /** Texels (4 floats) per padded row. */
  texels: number;
  /** Texels per padded plane (rows · texels). */
  planeTexels: number;
  /** Planes per texture row. */
  perRow: number;
  /** Texture width in texels (perRow · planeTexels). */
  width: number;
  /** Texture height (texture rows). */
  height: number;
}

/**
 * Lays out `planes` planes of h×w floats with `top` zero rows and `left` zero columns in
 * front, each padded plane at least `rows` rows by `cols` floats; null if the texture would
 * exceed `maxDim` texels in either direction.
 *
 * @param planes number of planes
 * @param h plane height
 * @param w plane width
 * @param top zero rows above the image rows
 * @param left zero floats before each image row
 * @param rows padded rows per plane (≥ top + h)
 * @param cols padded floats per row (≥ left + w); rounded up to whole texels
 * @param maxDim the adapter's maxTextureDimension2D
 * @returns the layout, or null when it does not fit
 */
export function planeLayout(
  planes: number,
  h: number,
  w: number,
  top: number,
  left: number,
  rows: number,
  cols: number,
  maxDim: number,
): PlaneLayout | null {
  const texels = Math.ceil(Math.max(cols, left + w) / 4);
  rows = Math.max(rows, top + h);
  const planeTexels = rows * texels;
  if (planeTexels > maxDim || planes < 1) return null;
  const perRow = Math.min(planes, Math.floor(maxDim / planeTexels));
  const height = Math.ceil(planes / perRow);
  if (height > maxDim) return null;
  return {
    planes,
    h,
    w,
    top,
    left,
    rows,
    texels,
    planeTexels,
    perRow,
    width: perRow * planeTexels,
    height,
  };
}

/** Texels per row of a raw texture at least: 1 KiB, a multiple of a copy's 256-byte pitch. */
const RAW_WIDTH = 64;

/** A buffer's floats copied in order into a texture, `1 << shift` texels per row. */
export interface RawTexture {
  /** The texture; float f sits in texel f >> 2, at (texel & mask, texel >> shift). */
  texture: GPUTexture;
  /** log2 of the texels per row. */
  shift: number;
}

/**
 * WGSL that defines `fn raw(f: u32) -> f32`, float f of a raw texture bound as `rawTex`,
 * with `p.rawShift` in the uniform struct.
 */
export const RAW_LOAD = /* wgsl */ `
fn raw(f: u32) -> f32 {
  let t = f >> 2u;
  let m = (1u << p.rawShift) - 1u;
  return textureLoad(rawTex, vec2u(t & m, t >> p.rawShift))[f & 3u];
}`;

/**
 * WGSL bindings of a kernel that reads a raw texture through `raw(f)` and writes the texture
 * `dst`: the uniform struct `P` (with `rawShift`) at 0, `rawTex` at 1, `dst` at 2.
 */
export const RAW_TO_TEXTURE = /* wgsl */ `
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var rawTex: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
${RAW_LOAD}`;

/**
 * Records a copy of the first `floats` floats of `src` into a pooled texture, in order
 * (release it with `engine.releaseTexture`). Reads up to 3 floats past `floats`, which the
 * pool's 16-byte size classes keep inside the buffer.
 *
 * @param engine the engine
 * @param src the buffer
 * @param floats how many floats to copy
 * @returns the texture and its row shift
 */
export function stageRaw(engine: Engine, src: GPUBuffer, floats: number): RawTexture {
  const texels = Math.max(1, Math.ceil(floats / 4));
  const maxDim = engine.device.limits.maxTextureDimension2D;
  let shift = Math.log2(RAW_WIDTH);
  while (Math.ceil(texels / 2 ** shift) > maxDim && 2 ** (shift + 1) <= maxDim) shift++;
  const width = 2 ** shift;
  const rows = Math.ceil(texels / width);
  if (rows > maxDim) throw new Error(`${floats} floats do not fit one texture`);
  const texture = engine.allocTexture(width, rows);
  const full = Math.floor(texels / width);
  engine.copyToTexture(src, texture, width, full, width * 16);
  engine.copyToTexture(src, texture, texels - full * width, 1, width * 16, full * width * 16, full);
  return { texture, shift };
}

/**
 * The rearranging kernel. `viaBuffer`: it writes a buffer with the texture's rows `pitch`
 * texels apart, copied into the texture afterwards (textureStore costs ~10 cycles a texel per
 * lane here, a buffer store and the copy less); else it stores into the texture itself.
 */
function stageSource(viaBuffer: boolean): string {
  const store = (v: string) =>
    viaBuffer ? `dst[at + t] = ${v};` : `textureStore(dst, vec2u(tx + t, ty), ${v});`;
  return /* wgsl */ `
struct P { total: u32, rows: u32, planeTexels: u32, texels: u32, perRow: u32, H: u32, W: u32,
           top: u32, left: u32, rawShift: u32, pitch: u32 }
${
    viaBuffer
      ? `@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@group(0) @binding(2) var rawTex: texture_storage_2d<rgba32float, read>;`
      : RAW_TO_TEXTURE
  }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.total) { return; }
  // One padded row per invocation: integer division is scalar on llvmpipe, so only here.
  let plane = i / p.rows;
  let prow = i % p.rows;
  let tx = (plane % p.perRow) * p.planeTexels + prow * p.texels;
  let ty = plane / p.perRow;
  let at = ty * p.pitch + tx;
  let y = i32(prow) - i32(p.top);
  if (y < 0 || y >= i32(p.H)) {
    for (var t = 0u; t < p.texels; t++) { ${store("vec4f(0.0)")} }
    return;
  }
  // Output texel t holds source floats f0 + 4t .. f0 + 4t + 3 of this row (f0 may be < 0):
  // two raw texels shifted by sh = f0 mod 4, the second one reused as the next first.
  let f0 = i32((plane * p.H + u32(y)) * p.W) - i32(p.left);
  let sh = u32(f0 & 3);
  let rt = f0 >> 2u;
  let m = (1u << p.rawShift) - 1u;
  var lo = textureLoad(rawTex, vec2u(u32(max(rt, 0)) & m, u32(max(rt, 0)) >> p.rawShift));
  for (var t = 0u; t < p.texels; t++) {
    let q = u32(max(rt + i32(t) + 1, 0));
    let hi = textureLoad(rawTex, vec2u(q & m, q >> p.rawShift));
    var v = lo;
    if (sh == 1u) { v = vec4f(lo.yzw, hi.x); }
    if (sh == 2u) { v = vec4f(lo.zw, hi.xy); }
    if (sh == 3u) { v = vec4f(lo.w, hi.xyz); }
    let x = vec4i(i32(t * 4u) - i32(p.left)) + vec4i(0, 1, 2, 3);
    v = select(vec4f(0.0), v, x >= vec4i(0) & x < vec4i(i32(p.W)));
    ${store("v")}
    lo = hi;
  }
}`;
}

const STAGE = [stageSource(false), stageSource(true)];

/**
 * Whether a layout adds no zeros (no border, rows of exactly w floats) and its texture rows
 * have a copy's 256-byte pitch, so the staged texture is the buffer copied as it is.
 */
function isContiguous(l: PlaneLayout): boolean {
  return l.top === 0 && l.left === 0 && l.rows === l.h && l.texels * 4 === l.w &&
    l.width % 16 === 0;
}

/**
 * Records the copy of a [planes, h, w] buffer into a pooled texture laid out as `layout`
 * (borders written as zeros; texels past the last plane left undefined). Release the texture with
 * `engine.releaseTexture` once the kernels that read it are recorded.
 *
 * @param engine the engine
 * @param src the source buffer, planes·h·w floats
 * @param layout from `planeLayout`
 * @param label op name for error messages
 * @param viaBuffer write the padded rows through a buffer (default: when it can be bound)
 * @returns the texture
 */
export function stagePlanes(
  engine: Engine,
  src: GPUBuffer,
  layout: PlaneLayout,
  label: string,
  viaBuffer?: boolean,
): GPUTexture {
  const l = layout;
  if (isContiguous(l)) {
    // Texture rows are then runs of whole planes in buffer order: two copies, no kernel.
    const tex = engine.allocTexture(l.width, l.height);
    const full = Math.floor(l.planes / l.perRow);
    const pitch = l.width * 16;
    engine.copyToTexture(src, tex, l.width, full, pitch);
    const rest = l.planes - full * l.perRow;
    engine.copyToTexture(src, tex, rest * l.planeTexels, 1, pitch, full * pitch, full);
    return tex;
  }
  const raw = stageRaw(engine, src, l.planes * l.h * l.w);
  const tex = engine.allocTexture(l.width, l.height);
  const total = l.planes * l.rows;
  // Texture rows in the buffer at a copy's 256-byte pitch, if such a buffer can be bound.
  const pitch = Math.ceil(l.width / 16) * 16;
  viaBuffer ??= pitch * l.height * 16 <= engine.device.limits.maxStorageBufferBindingSize;
  const rowsBuf = viaBuffer ? engine.alloc(pitch * l.height * 16) : null;
  engine.dispatch({
    label: `${label} (stage [${l.planes},${l.h},${l.w}] in a texture)`,
    code: STAGE[viaBuffer ? 1 : 0],
    inputs: [],
    outputs: rowsBuf ? [rowsBuf] : [],
    textures: [raw.texture],
    textureOutputs: rowsBuf ? [] : [tex],
    uniforms: {
      u: [
        total,
        l.rows,
        l.planeTexels,
        l.texels,
        l.perRow,
        l.h,
        l.w,
        l.top,
        l.left,
        raw.shift,
        pitch,
      ],
    },
    groups: groups1d(total),
  });
  if (rowsBuf) {
    engine.copyToTexture(rowsBuf, tex, l.width, l.height, pitch * 16);
    engine.release(rowsBuf);
  }
  engine.releaseTexture(raw.texture);
  return tex;
}
