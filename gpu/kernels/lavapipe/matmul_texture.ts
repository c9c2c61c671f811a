/**
 * The batched matmul reading its operands from rgba32float storage textures, for
 * llvmpipe/lavapipe where a texel load is ~25× cheaper than a storage-buffer load; same maths
 * as matmul.ts, chosen there when `engine.preferTextures` is set and the operands fit.
 *
 * Each operand keeps its memory order: a matrix whose k runs along its rows ("k-contiguous":
 * A, or Bᵀ) has texels of 4 consecutive k; one whose rows are k ("k-major": Aᵀ, or B) has
 * texels of 4 consecutive m (or n). Either way a step of 4 k loads `tm/4 + tn/4` texels per k
 * for a tile of `tm × tn` outputs, and each output sums its products in k order with fma.
 *
 * Layout ("lines"): the operand's padded rows are lines of `texels` texels, `2^lg` lines side by
 * side in a texture row, so a line's place is a mask and a shift (no division). Where the
 * rows are whole texels and K is a multiple of 4 the tensor is copied in as is (a memcpy);
 * otherwise it is copied into a raw texture and one kernel pads the rows with zeros (k to a
 * multiple of 4, and a k-major operand's k rows too), so the K loop has no bounds checks.
 * Rows of a k-contiguous operand past M (or N) are clamped, columns of a k-major one past it
 * read neighbouring texels: both only feed outputs that are never stored. Outputs are stored
 * as vec4 where N is a multiple of 4. docs/perf-notes.md has the measurements behind the tile,
 * the 4-k step and the padding threshold.
 *
 * @module
 */
import type { MatmulLayout } from "../../../src/layout/matmul_layout.ts";
import type { Engine } from "../../engine.ts";
import { groups1d, INDEX } from "../common.ts";
import { RAW_TO_TEXTURE, stageRaw } from "./texture_stage.ts";

/** Outputs per invocation: rows of C (along m) × columns (along n), both multiples of 4. */
export interface MatmulTile {
  /** Rows of C per invocation. */
  tm: number;
  /** Columns of C per invocation. */
  tn: number;
}

/**
 * The default tile: 8×8 beat 8×4, 4×8, 12×8 and 16×8 at 32×64×64×64 (attention) by 5–20% and
 * was within 7% of the best at 1024³.
 */
const TILE: MatmulTile = { tm: 8, tn: 8 };

/** Workgroup is 8×8 invocations (x along n, a multiple of 8 for llvmpipe's SIMD lanes). */
const WG = 8;

/** Most workgroups along z (the batch) in one dispatch. */
const MAX_Z = 65535;

/** Fewest texels per texture row we aim for (as the raw textures of texture_stage.ts). */
const MIN_WIDTH = 64;

/** How one operand sits in its texture. */
export interface LineLayout {
  /** Rows are k (texels run along m or n) rather than m or n (texels run along k). */
  kMajor: boolean;
  /** Matrices stored (1 when shared by every batch). */
  planes: number;
  /** Rows of one stored matrix. */
  rows: number;
  /** Floats per stored row. */
  cols: number;
  /** Lines (padded rows) per matrix. */
  prows: number;
  /** Texels per line. */
  texels: number;
  /** log2 of the lines per texture row. */
  lg: number;
  /** Texture width (texels). */
  width: number;
  /** Texture height. */
  height: number;
  /** The buffer's own order is this layout: a copy suffices, no padding kernel. */
  direct: boolean;
}

/**
 * Plans the texture layout of an operand of `planes` matrices of rows × cols floats, or null
 * when it exceeds `maxDim` texels in either direction. The layout is the buffer's own order
 * (`direct`) where rows are whole texels, K is a multiple of 4 and the rows fit a copy's
 * 256-byte row pitch; otherwise a padded one.
 *
 * @param kMajor whether rows are k
 * @param planes matrices stored
 * @param rows rows of each
 * @param cols floats per row
 * @param K the summed dimension
 * @param maxDim the adapter's maxTextureDimension2D
 * @returns the layout, or null
 */
export function lineLayout(
  kMajor: boolean,
  planes: number,
  rows: number,
  cols: number,
  K: number,
  maxDim: number,
): LineLayout | null {
  const aligned = cols % 4 === 0 && K % 4 === 0;
  return (aligned ? fitLines(kMajor, planes, rows, cols, true, maxDim) : null) ??
    fitLines(kMajor, planes, rows, cols, false, maxDim);
}

function fitLines(
  kMajor: boolean,
  planes: number,
  rows: number,
  cols: number,
  direct: boolean,
  maxDim: number,
): LineLayout | null {
  const texels = Math.ceil(cols / 4);
  // A step reads 4 k rows at once: whole groups of 4 lines per matrix and per texture row.
  const prows = kMajor ? Math.ceil(rows / 4) * 4 : rows;
  let lg = kMajor ? 2 : 0;
  // A copy needs rows of a multiple of 256 bytes (16 texels).
  while (direct && (texels << lg) % 16 !== 0) lg++;
  while ((texels << lg) < MIN_WIDTH && (texels << (lg + 1)) <= maxDim) lg++;
  const lines = planes * prows;
  while (Math.ceil(lines / 2 ** lg) > maxDim && (texels << (lg + 1)) <= maxDim) lg++;
  const width = texels * 2 ** lg;
  const height = Math.ceil(lines / 2 ** lg);
  if (width > maxDim || height > maxDim || lines < 1 || texels < 1) return null;
  return { kMajor, planes, rows, cols, prows, texels, lg, width, height, direct };
}

/** The layouts of A and B for a product. */
function layouts(l: MatmulLayout, maxDim: number): [LineLayout | null, LineLayout | null] {
  // sak = 1 means A's rows run along k (for M = 1 both readings are the same memory).
  const aK = l.sak !== 1;
  const bK = l.sbk !== 1;
  const aPlanes = l.sab === 0 ? 1 : l.batch;
  const bPlanes = l.sbb === 0 ? 1 : l.batch;
  return [
    lineLayout(aK, aPlanes, aK ? l.K : l.M, aK ? l.M : l.K, l.K, maxDim),
    lineLayout(bK, bPlanes, bK ? l.K : l.N, bK ? l.N : l.K, l.K, maxDim),
  ];
}

/**
 * Whether the texture matmul fits this adapter's texture limits (and has work to do).
 *
 * @param engine the engine
 * @param l sizes and strides
 * @returns true when both operands fit their textures
 */
export function matmulTextureFits(engine: Engine, l: MatmulLayout): boolean {
  if (l.batch < 1 || l.M < 1 || l.N < 1 || l.K < 1) return false;
  const maxDim = engine.device.limits.maxTextureDimension2D;
  // A padded operand is first copied into one raw texture (stageRaw): at most maxDim² texels.
  const fits = (s: LineLayout | null) =>
    s !== null && (s.direct || s.planes * s.rows * s.cols <= 4 * maxDim * maxDim);
  const [a, b] = layouts(l, maxDim);
  return fits(a) && fits(b);
}

/** FLOPs from which padding an operand (a raw copy and one more dispatch each) pays here. */
const PAD_MIN_FLOPS = 2e6;

/**
 * Whether the texture matmul should beat the buffer kernel: always where both operands are
 * copied as is; where one needs the padding pass, from PAD_MIN_FLOPS on (at 0.2–1 MFLOP the
 * extra dispatches made it 0.4–1.1× the buffer kernel's speed, at 16 MFLOP 3.5×).
 *
 * @param l sizes and strides
 * @returns true when the texture path should be taken
 */
export function matmulTexturePays(l: MatmulLayout): boolean {
  const aligned = l.K % 4 === 0 && (l.sak === 1 || l.M % 4 === 0) &&
    (l.sbk === 1 || l.N % 4 === 0);
  return aligned || 2 * l.batch * l.M * l.N * l.K >= PAD_MIN_FLOPS;
}

const PAD = /* wgsl */ `
struct P { lines: u32, prows: u32, R: u32, C: u32, T: u32, lg: u32, rawShift: u32 }
${RAW_TO_TEXTURE}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.lines) { return; }
  // One line per invocation: integer division is scalar on llvmpipe, so only here.
  let r = i % p.prows;
  let x0 = (i & ((1u << p.lg) - 1u)) * p.T;
  let y = i >> p.lg;
  if (r >= p.R) {
    for (var t = 0u; t < p.T; t++) { textureStore(dst, vec2u(x0 + t, y), vec4f(0.0)); }
    return;
  }
  // Texel t holds floats f0 + 4t .. f0 + 4t + 3 of the row: two raw texels shifted by
  // sh = f0 mod 4, the second one reused as the next first; zeros past the row's end.
  let f0 = ((i / p.prows) * p.R + r) * p.C;
  let sh = f0 & 3u;
  let rt = f0 >> 2u;
  let m = (1u << p.rawShift) - 1u;
  var lo = textureLoad(rawTex, vec2u(rt & m, rt >> p.rawShift));
  for (var t = 0u; t < p.T; t++) {
    let q = rt + t + 1u;
    let hi = textureLoad(rawTex, vec2u(q & m, q >> p.rawShift));
    var v = lo;
    if (sh == 1u) { v = vec4f(lo.yzw, hi.x); }
    if (sh == 2u) { v = vec4f(lo.zw, hi.xy); }
    if (sh == 3u) { v = vec4f(lo.w, hi.xyz); }
    v = select(vec4f(0.0), v, vec4u(t * 4u) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.C));
    textureStore(dst, vec2u(x0 + t, y), v);
    lo = hi;
  }
}`;

/**
 * Records the copy of an operand into a pooled texture laid out as `s` (release it with
 * `engine.releaseTexture`): a copy when its order already is the layout, else a raw copy and
 * the padding kernel.
 *
 * @param engine the engine
 * @param src the operand's buffer
 * @param s its layout
 * @param label op name for errors
 * @returns the texture
 */
export function stageLines(
  engine: Engine,
  src: GPUBuffer,
  s: LineLayout,
  label: string,
): GPUTexture {
  const tex = engine.allocTexture(s.width, s.height);
  if (s.direct) {
    const total = s.planes * s.prows * s.texels;
    const full = Math.floor(total / s.width);
    engine.copyToTexture(src, tex, s.width, full, s.width * 16);
    engine.copyToTexture(
      src,
      tex,
      total - full * s.width,
      1,
      s.width * 16,
      full * s.width * 16,
      full,
    );
    return tex;
  }
  const raw = stageRaw(engine, src, s.planes * s.rows * s.cols);
  const lines = s.planes * s.prows;
  engine.dispatch({
    label: `${label} (pad [${s.planes},${s.rows},${s.cols}] into a texture)`,
    code: PAD,
    inputs: [],
    outputs: [],
    textures: [raw.texture],
    textureOutputs: [tex],
    uniforms: { u: [lines, s.prows, s.rows, s.cols, s.texels, s.lg, raw.shift] },
    groups: groups1d(lines),
  });
  engine.releaseTexture(raw.texture);
  return tex;
}

function swizzle(j: number): string {
  return "xyzw"[j];
}

/**
 * WGSL for one operand (`x` = "a" or "b", tile `size` along `dim` = m or n): its set-up before
 * the K loop, its texel loads in a step of 4 k, and the name of its value at (index, kk).
 */
function operandCode(x: string, kMajor: boolean, size: number, dim: string, limit: string) {
  const setup = [`let ${x}Mask = (1u << p.${x}Lg) - 1u;`, `let ${x}Base = t * p.${x}Stride;`];
  const loads: string[] = [];
  if (kMajor) {
    setup.push(
      `let ${x}Col = ${dim}0 >> 2u;`,
      `let ${x}T2 = 2u * p.${x}T;`,
      `let ${x}T3 = 3u * p.${x}T;`,
    );
    // Lines of k, k + 1, k + 2, k + 3 share a texture row (4 divides the lines per row).
    loads.push(
      `let ${x}l = ${x}Base + 4u * s;`,
      `let ${x}x = (${x}l & ${x}Mask) * p.${x}T + ${x}Col;`,
      `let ${x}y = ${x}l >> p.${x}Lg;`,
    );
    const off = ["", ` + p.${x}T`, ` + ${x}T2`, ` + ${x}T3`];
    for (let kk = 0; kk < 4; kk++) {
      for (let q = 0; q < size / 4; q++) {
        loads.push(
          `let ${x}${kk}_${q} = textureLoad(${x}t, vec2u(${x}x${off[kk]} + ${q}u, ${x}y));`,
        );
      }
    }
    return {
      setup,
      loads,
      at: (i: number, kk: number) => `${x}${kk}_${i >> 2}.${swizzle(i & 3)}`,
    };
  }
  for (let i = 0; i < size; i++) {
    // Rows past the edge read the last row: their outputs are never stored.
    setup.push(
      `let ${x}l${i} = ${x}Base + min(${dim}0 + ${i}u, ${limit} - 1u);`,
      `let ${x}x${i} = (${x}l${i} & ${x}Mask) * p.${x}T;`,
      `let ${x}y${i} = ${x}l${i} >> p.${x}Lg;`,
    );
    loads.push(`let ${x}${i} = textureLoad(${x}t, vec2u(${x}x${i} + s, ${x}y${i}));`);
  }
  return { setup, loads, at: (i: number, kk: number) => `${x}${i}.${swizzle(kk)}` };
}

/** Stores of row i of the tile: scalars, or vec4s where N is a multiple of 4 (cheaper here). */
function storeRow(i: number, tn: number, vec4: boolean): string {
  const row: string[] = [];
  if (vec4) {
    for (let q = 0; q < tn / 4; q++) {
      const v = [0, 1, 2, 3].map((j) => `c${i}_${4 * q + j}`).join(", ");
      row.push(`if (n0 + ${4 * q}u < p.N) { out[o${i} + ${q}u] = vec4f(${v}); }`);
    }
  } else {
    for (let j = 0; j < tn; j++) {
      row.push(`if (n0 + ${j}u < p.N) { out[o${i} + ${j}u] = c${i}_${j}; }`);
    }
  }
  const o = `(t * p.M + m0 + ${i}u) * p.N + n0`;
  return `if (m0 + ${i}u < p.M) {\n    let o${i} = ${vec4 ? `(${o}) >> 2u` : o};\n    ${
    row.join("\n    ")
  }\n  }`;
}

function mainSource(aK: boolean, bK: boolean, t: MatmulTile, vec4: boolean): string {
  const a = operandCode("a", aK, t.tm, "m", "p.M");
  const b = operandCode("b", bK, t.tn, "n", "p.N");
  const decl: string[] = [];
  const fmas: string[] = [];
  const stores: string[] = [];
  for (let i = 0; i < t.tm; i++) {
    for (let j = 0; j < t.tn; j++) {
      decl.push(`var c${i}_${j} = 0.0;`);
      // Explicit fma, k in order: llvmpipe does not contract a + x·y on its own.
      let e = `c${i}_${j}`;
      for (let kk = 0; kk < 4; kk++) e = `fma(${a.at(i, kk)}, ${b.at(j, kk)}, ${e})`;
      fmas.push(`c${i}_${j} = ${e};`);
    }
    stores.push(storeRow(i, t.tn, vec4));
  }
  return /* wgsl */ `
struct P { M: u32, N: u32, steps: u32, z0: u32, aT: u32, aLg: u32, aStride: u32, bT: u32,
           bLg: u32, bStride: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<${vec4 ? "vec4f" : "f32"}>;
@group(0) @binding(2) var at: texture_storage_2d<rgba32float, read>;
@group(0) @binding(3) var bt: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * ${t.tn}u;
  let m0 = gid.y * ${t.tm}u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  let t = p.z0 + gid.z;
  ${a.setup.join("\n  ")}
  ${b.setup.join("\n  ")}
  ${decl.join("\n  ")}
  for (var s = 0u; s < p.steps; s++) {
    ${a.loads.join("\n    ")}
    ${b.loads.join("\n    ")}
    ${fmas.join("\n    ")}
  }
  ${stores.join("\n  ")}
}`;
}

const codes = new Map<string, string>();

/**
 * Records C[b] = op(A)[b] · op(B)[b] into `c` (contiguous [batch, M, N]) through textures.
 *
 * @param engine the engine
 * @param label op name and shapes, for errors
 * @param a buffer of A
 * @param b buffer of B
 * @param c output buffer
 * @param l sizes and strides
 * @param tile tile override (benchmarks)
 */
export function matmulTexture(
  engine: Engine,
  label: string,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  l: MatmulLayout,
  tile: MatmulTile = TILE,
): void {
  const [la, lb] = layouts(l, engine.device.limits.maxTextureDimension2D);
  if (!la || !lb) throw new Error(`${label}: too large for the texture path`);
  const vec4 = l.N % 4 === 0;
  const key = `${la.kMajor}/${lb.kMajor}/${tile.tm}/${tile.tn}/${vec4}`;
  let code = codes.get(key);
  if (!code) codes.set(key, code = mainSource(la.kMajor, lb.kMajor, tile, vec4));
  const at = stageLines(engine, a, la, label);
  const bt = stageLines(engine, b, lb, label);
  const gx = Math.ceil(l.N / tile.tn / WG);
  const gy = Math.ceil(l.M / tile.tm / WG);
  for (let z0 = 0; z0 < l.batch; z0 += MAX_Z) {
    engine.dispatch({
      label,
      code,
      inputs: [],
      outputs: [c],
      textures: [at, bt],
      uniforms: {
        u: [
          l.M,
          l.N,
          Math.ceil(l.K / 4),
          z0,
          la.texels,
          la.lg,
          la.planes === 1 ? 0 : la.prows,
          lb.texels,
          lb.lg,
          lb.planes === 1 ? 0 : lb.prows,
        ],
      },
      groups: [gx, gy, Math.min(MAX_Z, l.batch - z0)],
    });
  }
  engine.releaseTexture(at);
  engine.releaseTexture(bt);
}
