/**
 * conv2d kernels that read their operands from rgba32float storage textures (see
 * texture_stage.ts), for llvmpipe/lavapipe where a texel load is ~25× cheaper than a
 * storage-buffer load. Same maths as conv2d.ts (stride 1, zero padding k//2, NCHW, weights
 * [Cout, Cin, k, k]); chosen there when `engine.preferTextures` is set.
 * - gather (forward, and input gradient with channels swapped and taps flipped): the input
 *   is staged without a border (for widths on a multiple of 4 by copies alone) and the loads
 *   outside the image are masked to zero; each invocation computes a tile of `co` output
 *   channels × `py` rows × `px` pixels, loading each input row of its window once per input
 *   channel and 4 output channels' weights per texel;
 * - weight gradient: dy staged without border (zeros past the right edge add nothing), x with
 *   its border; each invocation sums `co` output × `ci` input channels × k² taps over a chunk
 *   of rows, 4 pixels per step, sliding the x window by one texel; chunk partials are then
 *   summed by the reduction kernel.
 *
 * @module
 */
import type { Engine } from "../../engine.ts";
import type { Conv2dGpuDims } from "../conv2d.ts";
import { groups1d, INDEX } from "../common.ts";
import { sumChunksGpu } from "../reduce.ts";
import {
  type PlaneLayout,
  planeLayout,
  RAW_TO_TEXTURE,
  stagePlanes,
  stageRaw,
} from "./texture_stage.ts";

/** A gather tile: output channels (multiple of 4) × rows × pixels (multiple of 4). */
export interface GatherTile {
  /** Output channels per invocation (multiple of 4: one weight texel each). */
  co: number;
  /** Output rows per invocation. */
  py: number;
  /** Adjacent output pixels per invocation (multiple of 4). */
  px: number;
}

/** A weight-gradient tile: output × input channels per invocation, pixels per step. */
export interface WeightGradTile {
  /** Output channels per invocation. */
  co: number;
  /** Input channels per invocation. */
  ci: number;
  /** Pixels of a row per loop step (multiple of 4: one dy texel per output channel each). */
  px: number;
}

/**
 * Weight-gradient invocations we aim for before splitting images into row blocks: fewer means
 * fewer partial sums to add, more keeps every core busy (1024 beat 256 and 4096 here).
 */
const TARGET_INVOCATIONS = 1024;

const codes = new Map<string, string>();

function cached(key: string, make: () => string): string {
  let code = codes.get(key);
  if (!code) codes.set(key, code = make());
  return code;
}

/**
 * The gather tile for an h×w output with o channels: 4 channels × 2 rows × 16 pixels on wide
 * images (the fastest of 1–4 rows × 8–32 pixels × 4–8 channels at 32² and 16²), 8 × 2 × 8 on
 * 8-pixel rows, 4 × 4 × 4 below; one 16-pixel row of 8 channels for flattened 1×1
 * convolutions (15–25% faster than 4 channels at 4 of the U-Net's 5 shapes, even at the fifth).
 *
 * @param h output height (1 for a flattened 1×1 convolution)
 * @param w output width
 * @param o output channels
 * @returns the tile
 */
export function gatherTile(h: number, w: number, o: number): GatherTile {
  if (h === 1) return { co: o > 4 ? 8 : 4, py: 1, px: 16 };
  if (w >= 16) return { co: 4, py: 2, px: 16 };
  if (w >= 8) return { co: o > 4 ? 8 : 4, py: Math.min(2, h), px: 8 };
  return { co: 4, py: Math.min(4, h), px: 4 };
}

function swizzle(j: number): string {
  return "xyzw"[j];
}

function gatherSource(k: number, t: GatherTile, bias: boolean, vec4Out: boolean): string {
  const rowsIn = t.py + k - 1;
  const pad = (k - 1) >> 1;
  // The window starts `lead` texels left of x0, so padded column c is window float c + shift.
  const lead = Math.ceil(pad / 4);
  const shift = 4 * lead - pad;
  const texels = ((t.px + k - 2 + shift) >> 2) + 1;
  const cq = t.co / 4;
  const body: string[] = [];
  // Rows and texel columns outside the image read as zero; addresses stay inside the plane.
  const edges: string[] = [];
  for (let r = 0; r < rowsIn; r++) {
    edges.push(
      `let iy${r} = i32(y0) + ${r - pad};`,
      `let ok${r} = iy${r} >= 0 && iy${r} < i32(p.H);`,
      `let ro${r} = u32(clamp(iy${r}, 0, i32(p.H) - 1)) * p.texels;`,
    );
  }
  for (let j = 0; j < texels; j++) {
    edges.push(
      `let cx${j} = i32(x0 / 4u) + ${j - lead};`,
      `let okx${j} = cx${j} >= 0 && cx${j} < i32(p.texels);`,
      `let cc${j} = u32(clamp(cx${j}, 0, i32(p.texels) - 1));`,
    );
  }
  for (let r = 0; r < rowsIn; r++) {
    for (let j = 0; j < texels; j++) {
      body.push(
        `let t${r}_${j} = select(vec4f(0.0), textureLoad(xt, vec2u(pb + ro${r} + cc${j}, ty)), ` +
          `ok${r} && okx${j});`,
      );
    }
    const v = (c: number) => `t${r}_${(c + shift) >> 2}.${swizzle((c + shift) & 3)}`;
    for (let py = 0; py < t.py; py++) {
      const ky = r - py;
      if (ky < 0 || ky >= k) continue;
      body.push("{");
      for (let kx = 0; kx < k; kx++) {
        for (let j = 0; j < cq; j++) {
          body.push(
            `let w${ky}_${kx}_${j} = textureLoad(wt, vec2u(${
              ky * k + kx
            }u * p.cog + wx + ${j}u, ci));`,
          );
        }
      }
      for (let px = 0; px < t.px; px++) {
        for (let j = 0; j < cq; j++) {
          // Explicit fma: llvmpipe does not contract a + w·v on its own (~3% faster).
          let e = `a${py}_${px}_${j}`;
          for (let kx = 0; kx < k; kx++) e = `fma(w${ky}_${kx}_${j}, vec4f(${v(px + kx)}), ${e})`;
          body.push(`a${py}_${px}_${j} = ${e};`);
        }
      }
      body.push("}");
    }
  }
  const decl: string[] = [];
  for (let py = 0; py < t.py; py++) {
    for (let px = 0; px < t.px; px++) {
      for (let j = 0; j < cq; j++) decl.push(`var a${py}_${px}_${j} = a_init${j};`);
    }
  }
  const writes: string[] = [];
  // Rows of 4 pixels go out as one vec4 where the width allows (4× fewer stores and checks).
  const run = vec4Out ? 4 : 1;
  for (let py = 0; py < t.py; py++) {
    for (let px = 0; px < t.px; px += run) {
      for (let o = 0; o < t.co; o++) {
        const c = swizzle(o & 3);
        const lanes = Array.from({ length: run }, (_, q) => `a${py}_${px + q}_${o >> 2}.${c}`);
        const at = `ob + ${o}u * hw + ${py}u * p.W + ${px}u`;
        writes.push(
          `if (y0 + ${py}u < p.H && x0 + ${px}u < p.W && o0 + ${o}u < p.O) { ` +
            (vec4Out
              ? `out[(${at}) / 4u] = vec4f(${lanes.join(", ")}); }`
              : `out[${at}] = ${lanes[0]}; }`),
        );
      }
    }
  }
  const inits = Array.from({ length: cq }, (_, j) => {
    if (!bias) return `let a_init${j} = vec4f(0.0);`;
    const ch = (c: number) => `bias[n * p.biasStride + min(o0 + ${4 * j + c}u, p.O - 1u)]`;
    return `let a_init${j} = vec4f(${[0, 1, 2, 3].map(ch).join(", ")});`;
  });
  const b = bias ? 1 : 0;
  return /* wgsl */ `
struct P { total: u32, I: u32, O: u32, H: u32, W: u32, xg: u32, yg: u32, cg: u32, cog: u32,
           planeTexels: u32, texels: u32, rowEnd: u32, perRow: u32, biasStride: u32 }
@group(0) @binding(0) var<uniform> p: P;
${bias ? "@group(0) @binding(1) var<storage, read> bias: array<f32>;" : ""}
@group(0) @binding(${1 + b}) var<storage, read_write> out: array<${vec4Out ? "vec4f" : "f32"}>;
@group(0) @binding(${2 + b}) var xt: texture_storage_2d<rgba32float, read>;
@group(0) @binding(${3 + b}) var wt: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.total) { return; }
  let x0 = (i % p.xg) * ${t.px}u;
  var r = i / p.xg;
  let y0 = (r % p.yg) * ${t.py}u;
  r = r / p.yg;
  let g = r % p.cg;
  let n = r / p.cg;
  let o0 = g * ${t.co}u;
  let wx = g * ${cq}u;
  let plane = n * p.I;
  var pb = (plane % p.perRow) * p.planeTexels;
  var ty = plane / p.perRow;
  ${edges.join("\n  ")}
  ${inits.join("\n  ")}
  ${decl.join("\n  ")}
  for (var ci = 0u; ci < p.I; ci++) {
    ${body.join("\n    ")}
    // Next plane: the next slot of this texture row, or the first of the next row.
    let wrap = pb + p.planeTexels >= p.rowEnd;
    pb = select(pb + p.planeTexels, 0u, wrap);
    ty += select(0u, 1u, wrap);
  }
  let hw = p.H * p.W;
  let ob = (n * p.O + o0) * hw + y0 * p.W + x0;
  ${writes.join("\n  ")}
}`;
}

/**
 * Weight packing: texel (tap·cog + g, ci) holds W(4g..4g+3, ci, tap), zeros past O. One
 * invocation per (ci, tap) writes its cog texels (the divisions, scalar here, once each).
 */
const PACK = /* wgsl */ `
struct P { total: u32, cog: u32, O: u32, wo: u32, wi: u32, kk: u32, flip: u32, rawShift: u32 }
${RAW_TO_TEXTURE}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.total) { return; }
  let ci = i / p.kk;
  let tap = i % p.kk;
  let src = ci * p.wi + select(tap, p.kk - 1u - tap, p.flip == 1u);
  for (var g = 0u; g < p.cog; g++) {
    var v = vec4f(0.0);
    for (var c = 0u; c < 4u; c++) {
      let o = g * 4u + c;
      if (o < p.O) { v[c] = raw(o * p.wo + src); }
    }
    textureStore(dst, vec2u(tap * p.cog + g, ci), v);
  }
}`;

/** Sizes of one gather: out[n, o] = Σ_i in[n, i] ⋆ W(o, i). */
export interface GatherDims {
  /** Batch size. */
  n: number;
  /** Channels read (Cin for the forward, Cout for the input gradient). */
  i: number;
  /** Channels written. */
  o: number;
  /** Height. */
  h: number;
  /** Width. */
  w: number;
  /** Kernel size (odd). */
  k: number;
}

/** Whether `floats` floats fit one raw texture (stageRaw) of at most maxDim² texels. */
function rawFits(floats: number, maxDim: number): boolean {
  return floats <= 4 * maxDim * maxDim;
}

/**
 * The input layout a gather reads, or null if it exceeds the texture limits: the planes
 * without a border (the kernel masks what lies outside the image), so for widths on a multiple
 * of 4 the staged texture is the buffer copied as it is.
 */
function gatherLayout(s: GatherDims, maxDim: number): PlaneLayout | null {
  return planeLayout(s.n * s.i, s.h, s.w, 0, 0, s.h, s.w, maxDim);
}

/** 1×1 convolutions see each plane as one row, so tiles never straddle short rows. */
function flatten<T extends { h: number; w: number; k: number }>(s: T): T {
  return s.k === 1 && s.h > 1 ? { ...s, h: 1, w: s.h * s.w } : s;
}

/**
 * Whether the texture gather fits this adapter's texture limits for these sizes.
 *
 * @param engine the engine
 * @param s sizes: batch, input and output channels, height, width, kernel size
 * @returns true when both textures fit
 */
export function gatherFits(engine: Engine, s: GatherDims): boolean {
  const f = flatten(s);
  const t = gatherTile(f.h, f.w, f.o);
  const maxDim = engine.device.limits.maxTextureDimension2D;
  const cog = Math.ceil(s.o / t.co) * (t.co / 4);
  return gatherLayout(f, maxDim) !== null && s.k * s.k * cog <= maxDim && s.i <= maxDim &&
    rawFits(s.n * s.i * s.h * s.w, maxDim) && rawFits(s.o * s.i * s.k * s.k, maxDim);
}

/**
 * Records out = (bias) + Σ_i in ⋆ W through textures; `flip` selects the input-gradient
 * reading of w (channels swapped, taps flipped). The bias is [o], or [n, o] with `biasPerImage`.
 *
 * @param engine the engine
 * @param label op name and shapes for errors
 * @param input [n, i, h, w] buffer
 * @param weight the conv weight buffer [cout, cin, k, k]
 * @param bias [o] or null
 * @param out [n, o, h, w] buffer
 * @param s sizes of the gather (i, o are its own input/output channels)
 * @param flip true for the input gradient
 * @param biasPerImage the bias holds one row of o values per image
 * @param tile tile override (benchmarks)
 */
export function gatherTexture(
  engine: Engine,
  label: string,
  input: GPUBuffer,
  weight: GPUBuffer,
  bias: GPUBuffer | null,
  out: GPUBuffer,
  s: GatherDims,
  flip: boolean,
  biasPerImage = false,
  tile?: GatherTile,
): void {
  const f = flatten(s);
  const t = tile ?? gatherTile(f.h, f.w, f.o);
  const maxDim = engine.device.limits.maxTextureDimension2D;
  const layout = gatherLayout(f, maxDim);
  if (!layout) throw new Error(`${label}: too large for the texture path`);
  const kk = s.k * s.k;
  const cg = Math.ceil(s.o / t.co);
  const cog = cg * (t.co / 4);
  // Forward reads w[o, i]; the input gradient reads w[i, o] (channels swapped).
  const [wo, wi] = flip ? [kk, s.o * kk] : [s.i * kk, kk];
  const wraw = stageRaw(engine, weight, s.o * s.i * kk);
  const wtex = engine.allocTexture(kk * cog, s.i);
  engine.dispatch({
    label: `${label} (pack weights)`,
    code: PACK,
    inputs: [],
    outputs: [],
    textures: [wraw.texture],
    textureOutputs: [wtex],
    uniforms: { u: [kk * s.i, cog, s.o, wo, wi, kk, flip ? 1 : 0, wraw.shift] },
    groups: groups1d(kk * s.i),
  });
  engine.releaseTexture(wraw.texture);
  const xtex = stagePlanes(engine, input, layout, label);
  const vec4Out = f.w % 4 === 0;
  const code = cached(
    `gather/${s.k}/${t.co}/${t.py}/${t.px}/${bias !== null}/${vec4Out}`,
    () => gatherSource(s.k, t, bias !== null, vec4Out),
  );
  const xg = Math.ceil(f.w / t.px);
  const yg = Math.ceil(f.h / t.py);
  const total = s.n * cg * yg * xg;
  engine.dispatch({
    label,
    code,
    inputs: bias ? [bias] : [],
    outputs: [out],
    textures: [xtex, wtex],
    uniforms: {
      u: [
        total,
        s.i,
        s.o,
        f.h,
        f.w,
        xg,
        yg,
        cg,
        cog,
        layout.planeTexels,
        layout.texels,
        layout.width,
        layout.perRow,
        biasPerImage ? s.o : 0,
      ],
    },
    groups: groups1d(total),
  });
  engine.releaseTexture(xtex);
  engine.releaseTexture(wtex);
}

/**
 * The weight-gradient tile: 8 output channels (4 when there are fewer) by 2 input channels,
 * 4 pixels a step; 1×1 convolutions take 4 input channels, since each x texel then feeds
 * only one tap (1.6–2× faster there than 1 channel; 2 instead of 1 gained 5–15% at k = 3,
 * more channels or 8 pixels a step lost to spilled accumulators).
 *
 * @param d sizes
 * @returns the tile
 */
export function weightGradTile(d: Conv2dGpuDims): WeightGradTile {
  return { co: d.cout >= 8 ? 8 : 4, ci: d.k === 1 ? 4 : 2, px: 4 };
}

/** Texels of a padded x row that one step's pixels reach through k taps. */
function xWindow(k: number, px: number): number {
  return Math.ceil((px + k - 1) / 4);
}

function weightGradSource(k: number, t: WeightGradTile, bias: boolean): string {
  const win = xWindow(k, t.px);
  const adv = t.px / 4;
  const keep = win - adv;
  const setup: string[] = [];
  for (let c = 0; c < t.ci; c++) {
    setup.push(
      `let xp${c} = n * p.I + min(c0 + ${c}u, p.I - 1u);`,
      `let xb${c} = (xp${c} % p.xPerRow) * p.xPlaneTexels;`,
      `let xy${c} = xp${c} / p.xPerRow;`,
    );
  }
  for (let o = 0; o < t.co; o++) {
    setup.push(
      `let gp${o} = n * p.O + min(o0 + ${o}u, p.O - 1u);`,
      `let gb${o} = (gp${o} % p.gPerRow) * p.gPlaneTexels;`,
      `let gy${o} = gp${o} / p.gPerRow;`,
    );
  }
  const rowStart: string[] = [];
  const step: string[] = [];
  const shift: string[] = [];
  for (let c = 0; c < t.ci; c++) {
    for (let ky = 0; ky < k; ky++) {
      rowStart.push(`let xr${c}_${ky} = xb${c} + (y + ${ky}u) * p.xTexels;`);
      for (let j = 0; j < keep; j++) {
        rowStart.push(`m${c}_${ky}_${j} = textureLoad(xt, vec2u(xr${c}_${ky} + ${j}u, xy${c}));`);
      }
      for (let j = keep; j < win; j++) {
        step.push(
          `m${c}_${ky}_${j} = textureLoad(xt, vec2u(xr${c}_${ky} + st + ${j}u, xy${c}));`,
        );
      }
      // Slide the window: texels this step loaded last are the next step's first.
      for (let j = 0; j < keep; j++) shift.push(`m${c}_${ky}_${j} = m${c}_${ky}_${j + adv};`);
    }
  }
  const decl: string[] = [];
  for (let c = 0; c < t.ci; c++) {
    for (let ky = 0; ky < k; ky++) {
      for (let j = 0; j < win; j++) decl.push(`var m${c}_${ky}_${j} = vec4f(0.0);`);
    }
  }
  const fmas: string[] = [];
  const writes: string[] = [];
  for (let o = 0; o < t.co; o++) {
    for (let j = 0; j < adv; j++) {
      step.push(`let g${o}_${j} = textureLoad(gt, vec2u(gb${o} + gr + st + ${j}u, gy${o}));`);
      // The bias gradient Σ dy rides on the loads this step makes anyway.
      if (bias) step.push(`bs${o} += dot(g${o}_${j}, vec4f(1.0));`);
    }
    if (bias) {
      decl.push(`var bs${o} = 0.0;`);
      writes.push(
        `if (c0 == 0u && o0 + ${o}u < p.O) { bout[chunk * p.O + o0 + ${o}u] = bs${o}; }`,
      );
    }
  }
  for (let o = 0; o < t.co; o++) {
    for (let c = 0; c < t.ci; c++) {
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const a = `a${o}_${c}_${ky * k + kx}`;
          decl.push(`var ${a} = 0.0;`);
          let e = a;
          for (let px = 0; px < t.px; px++) {
            const q = px + kx;
            const g = `g${o}_${px >> 2}.${swizzle(px & 3)}`;
            e = `fma(${g}, m${c}_${ky}_${q >> 2}.${swizzle(q & 3)}, ${e})`;
          }
          fmas.push(`${a} = ${e};`);
          writes.push(
            `if (o0 + ${o}u < p.O && c0 + ${c}u < p.I) { ` +
              `out[ob + (${o}u * p.I + ${c}u) * ${k * k}u + ${ky * k + kx}u] = ${a}; }`,
          );
        }
      }
    }
  }
  const b = bias ? 1 : 0;
  return /* wgsl */ `
struct P { total: u32, I: u32, O: u32, H: u32, N: u32, cig: u32, cg: u32, blocks: u32,
           rows: u32, imgs: u32, outs: u32, steps: u32, xTexels: u32, xPlaneTexels: u32,
           xPerRow: u32, gTexels: u32, gPlaneTexels: u32, gPerRow: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${bias ? "@group(0) @binding(2) var<storage, read_write> bout: array<f32>;" : ""}
@group(0) @binding(${2 + b}) var xt: texture_storage_2d<rgba32float, read>;
@group(0) @binding(${3 + b}) var gt: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.total) { return; }
  let c0 = (i % p.cig) * ${t.ci}u;
  var r = i / p.cig;
  let o0 = (r % p.cg) * ${t.co}u;
  let chunk = r / p.cg;
  // A chunk is a block of rows of one image, or whole images.
  var n0 = chunk * p.imgs;
  var n1 = min(n0 + p.imgs, p.N);
  var y0 = 0u;
  var y1 = p.H;
  if (p.blocks > 1u) {
    n0 = chunk / p.blocks;
    n1 = n0 + 1u;
    y0 = (chunk % p.blocks) * p.rows;
    y1 = min(y0 + p.rows, p.H);
  }
  ${decl.join("\n  ")}
  for (var n = n0; n < n1; n++) {
    ${setup.join("\n    ")}
    for (var y = y0; y < y1; y++) {
      let gr = y * p.gTexels;
      ${rowStart.join("\n      ")}
      for (var s = 0u; s < p.steps; s++) {
        let st = s * ${adv}u;
        ${step.join("\n        ")}
        ${fmas.join("\n        ")}
        ${shift.join("\n        ")}
      }
    }
  }
  let ob = chunk * p.outs + (o0 * p.I + c0) * ${k * k}u;
  ${writes.join("\n  ")}
}`;
}

/**
 * How the texture weight gradient splits the batch: whole images per chunk when the
 * channel tiles alone fill the device, else row blocks of single images.
 *
 * @param d sizes
 * @param t tile
 * @param maxChunks upper bound on chunks (tests force 1 to cover the single-pass path)
 * @returns images per chunk, row blocks per image, rows per block and the chunk count
 */
export function weightGradTextureChunks(
  d: Conv2dGpuDims,
  t: WeightGradTile,
  maxChunks = Infinity,
): { imgs: number; blocks: number; rows: number; chunks: number } {
  const tiles = Math.ceil(d.cout / t.co) * Math.ceil(d.cin / t.ci);
  const want = Math.max(1, Math.min(maxChunks, Math.ceil(TARGET_INVOCATIONS / tiles)));
  if (want <= d.n) {
    const imgs = Math.ceil(d.n / want);
    return { imgs, blocks: 1, rows: d.h, chunks: Math.ceil(d.n / imgs) };
  }
  const rows = Math.max(1, Math.ceil(d.h / Math.ceil(want / d.n)));
  const blocks = Math.ceil(d.h / rows);
  return { imgs: 1, blocks, rows, chunks: d.n * blocks };
}

/** Layouts of x (with border) and dy (without) for the texture weight gradient. */
function weightGradLayouts(
  f: Conv2dGpuDims,
  t: WeightGradTile,
  maxDim: number,
): { x: PlaneLayout; g: PlaneLayout; steps: number } | null {
  const pad = (f.k - 1) >> 1;
  // dy rows padded with zeros to whole steps; x rows long enough for the last step's window.
  const steps = Math.ceil(f.w / t.px);
  const g = planeLayout(f.n * f.cout, f.h, f.w, 0, 0, f.h, steps * t.px, maxDim);
  if (!g) return null;
  const cols = steps * t.px + 4 * (xWindow(f.k, t.px) - t.px / 4);
  const x = planeLayout(f.n * f.cin, f.h, f.w, pad, pad, f.h + f.k - 1, cols, maxDim);
  return x && { x, g, steps };
}

/**
 * Whether the texture weight gradient fits this adapter's texture limits.
 *
 * @param engine the engine
 * @param d sizes
 * @returns true when both staged textures fit
 */
export function weightGradFits(engine: Engine, d: Conv2dGpuDims): boolean {
  const f = flatten(d);
  const maxDim = engine.device.limits.maxTextureDimension2D;
  return weightGradLayouts(f, weightGradTile(f), maxDim) !== null &&
    rawFits(d.n * Math.max(d.cin, d.cout) * d.h * d.w, maxDim);
}

/**
 * Records dw = Σ_{n, pixels} dy ⊗ shifted x through textures, and db = Σ_{n, pixels} dy when
 * `db` is given: chunk partial sums, then one reduction over the chunks (skipped when one chunk
 * suffices).
 *
 * @param engine the engine
 * @param x input [n, cin, h, w]
 * @param dy output gradient [n, cout, h, w]
 * @param dw weight gradient [cout, cin, k, k]
 * @param db bias gradient [cout], or null to skip it
 * @param d sizes
 * @param label op name and shapes for errors
 * @param maxChunks cap on chunks (tests force 1 to cover the single-pass path)
 * @param tile tile override (benchmarks)
 */
export function weightGradTexture(
  engine: Engine,
  x: GPUBuffer,
  dy: GPUBuffer,
  dw: GPUBuffer,
  db: GPUBuffer | null,
  d: Conv2dGpuDims,
  label: string,
  maxChunks = Infinity,
  tile?: WeightGradTile,
): void {
  const f = flatten(d);
  const t = tile ?? weightGradTile(f);
  const layouts = weightGradLayouts(f, t, engine.device.limits.maxTextureDimension2D);
  if (!layouts) throw new Error(`${label}: too large for the texture path`);
  const { imgs, blocks, rows, chunks } = weightGradTextureChunks(f, t, maxChunks);
  const xtex = stagePlanes(engine, x, layouts.x, label);
  const gtex = stagePlanes(engine, dy, layouts.g, label);
  const bias = db !== null;
  const code = cached(
    `wgrad/${f.k}/${t.co}/${t.ci}/${t.px}/${bias}`,
    () => weightGradSource(f.k, t, bias),
  );
  const cig = Math.ceil(f.cin / t.ci);
  const cg = Math.ceil(f.cout / t.co);
  const outs = f.cout * f.cin * f.k * f.k;
  const total = chunks * cg * cig;
  const target = chunks === 1 ? dw : engine.alloc(chunks * outs * 4);
  const biasTarget = db && (chunks === 1 ? db : engine.alloc(chunks * f.cout * 4));
  const { x: lx, g: lg } = layouts;
  engine.dispatch({
    label,
    code,
    inputs: [],
    outputs: biasTarget ? [target, biasTarget] : [target],
    textures: [xtex, gtex],
    uniforms: {
      u: [
        total,
        f.cin,
        f.cout,
        f.h,
        f.n,
        cig,
        cg,
        blocks,
        rows,
        imgs,
        outs,
        layouts.steps,
        lx.texels,
        lx.planeTexels,
        lx.perRow,
        lg.texels,
        lg.planeTexels,
        lg.perRow,
      ],
    },
    groups: groups1d(total),
  });
  engine.releaseTexture(xtex);
  engine.releaseTexture(gtex);
  if (chunks === 1) return;
  sumChunksGpu(engine, label, target, chunks, outs, dw);
  engine.release(target);
  if (!biasTarget) return;
  sumChunksGpu(engine, `${label} (bias)`, biasTarget, chunks, f.cout, db!);
  engine.release(biasTarget);
}
