/**
 * 3×3 convolutions by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray 2016) through
 * rgba32float textures: the texture path's choice, over the direct kernels of
 * conv2d_texture.ts, where it measured faster (64 channels or more on both sides, 32 for the
 * weight gradient; docs/perf-notes.md). Same maths as the gather: out[n, o] = (bias) +
 * Σ_i in[n, i] ⋆ W(o, i), W = w for the forward, w with channels swapped and taps flipped for
 * the input gradient.
 *
 * With d a 6×6 input patch (zero outside the image) and g a 3×3 filter, a 4×4 output tile is
 * Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, the points 0, ±1, ±2, ∞. Summed over input channels, the
 * element-wise product becomes, for each of the 36 points ξ, one matrix product over the
 * tiles t: M[ξ] = V[ξ] · U[ξ] with V[ξ][t][i] = (Bᵀ d B)ξ and U[ξ][i][o] = (G g Gᵀ)ξ. So a call
 * is: the filter transform (U), the input transform (V), the texture matmul (36 products of
 * 1/4 the direct FLOPs), and the output transform (y = Aᵀ M A + bias per tile). The transforms
 * handle 4 channels per invocation and store vec4s, the 8 lanes of a SIMD register on 8
 * neighbouring tiles (their patches share cache lines), a workgroup's registers on the next
 * channel quads of the same tiles (so a cache line of V or dM is written at once); integer
 * quotients go through a float division (u32 `/` is scalar on llvmpipe), exact below 2²⁰.
 *
 * @module
 */
import { type MatmulLayout, planMatmul } from "../../../src/layout/matmul_layout.ts";
import type { Engine } from "../../engine.ts";
import { groups1d, INDEX } from "../common.ts";
import type { Conv2dGpuDims } from "../conv2d.ts";
import type { GatherDims } from "./conv2d_texture.ts";
import { sumChunksGpu } from "../reduce.ts";
import { matmulTexture, matmulTextureFits, type MatmulTile } from "./matmul_texture.ts";
import { RAW_LOAD, stageRaw } from "./texture_stage.ts";

/** Input transform Bᵀ. */
const BT = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
];
/** Filter transform G. */
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];
/** Output transform Aᵀ. */
const AT = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 2, -2, 0],
  [0, 1, 1, 4, 4, 0],
  [0, 1, -1, 8, -8, 1],
];

/**
 * The matmul tile for products with `n` output columns: 16×8 beat the default 8×8 by 15–25%
 * (K = 32–256) where n ≥ 64; below that 16×4, so the 8 SIMD lanes along n all have columns
 * (1.3–1.4× at n = 32).
 */
function tileFor(n: number): MatmulTile {
  return { tm: 16, tn: n >= 64 ? 8 : 4 };
}

/**
 * Bound on the dividends of the float-division quotient: below 2²⁰ its error, within WGSL's
 * 2.5 ulp for f32 division, stays under the 0.5/b margin to the next integer.
 */
export const FDIV_LIMIT = 2 ** 20;

/** WGSL for Σ c[i]·terms[i]: zero coefficients dropped, ±1 as additions and subtractions. */
function combination(c: number[], terms: string[]): string {
  const parts = c.flatMap((v, i) =>
    v === 0 ? [] : [v === 1 ? `+ ${terms[i]}` : v === -1 ? `- ${terms[i]}` : `+ ${v} * ${terms[i]}`]
  );
  const e = parts.join(" ");
  return e.startsWith("+ ") ? e.slice(2) : `-${e.slice(2)}`;
}

/**
 * WGSL `let`s named `${name}${i}_${j}` = (L · X · Rᵀ)[i][j] with X[r][c] = `at(r, c)`, by
 * rows first, then columns.
 */
function sandwich(
  L: number[][],
  R: number[][],
  at: (r: number, c: number) => string,
  name: string,
) {
  const lines: string[] = [];
  for (let i = 0; i < L.length; i++) {
    for (let c = 0; c < R[0].length; c++) {
      lines.push(`let ${name}t${i}_${c} = ${combination(L[i], L[i].map((_, r) => at(r, c)))};`);
    }
  }
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < R.length; j++) {
      const row = R[j].map((_, c) => `${name}t${i}_${c}`);
      lines.push(`let ${name}${i}_${j} = ${combination(R[j], row)};`);
    }
  }
  return lines.join("\n  ");
}

/** vec4f of f(0..3). */
function vec4Of(f: (c: number) => string): string {
  return `vec4f(${[0, 1, 2, 3].map(f).join(", ")})`;
}

/**
 * WGSL `fdiv(a, b)` = ⌊a / b⌋ through a float division (vectorised, where u32 `/` is scalar
 * here); exact for a < FDIV_LIMIT.
 */
export const FDIV = "fn fdiv(a: u32, b: u32) -> u32 { return u32((f32(a) + 0.5) / f32(b)); }";

/**
 * WGSL for every kernel here: the float quotient, `tex(t)` (texel t of the raw texture
 * `rawTex`, uniform field rawShift) and the entry point's head. Without `quad`, one invocation
 * per i < p.count. With `quad` (the name of a channel-quad index below the uniform field
 * `quads`), invocations cover 8 tiles × quads at a time: the 8 lanes of a SIMD register take
 * 8 neighbouring tiles t (their patches share cache lines) and the workgroup's next registers
 * the next quads of the same tiles (so the vec4s of a stored cache line are written together,
 * not T invocations apart); t < T (uniform field), with its image n, tile row ty and column tx
 * (uniform fields th, tw).
 */
function head(quad?: string): string {
  const start = quad
    ? `
  let g = fdiv(i >> 3u, p.quads);
  let ${quad} = (i >> 3u) - g * p.quads;
  let t = g * 8u + (i & 7u);
  if (t >= p.T) { return; }
  let tiles = p.th * p.tw;
  let n = fdiv(t, tiles);
  let j = t - n * tiles;
  let ty = fdiv(j, p.tw);
  let tx = j - ty * p.tw;`
    : `
  if (i >= p.count) { return; }`;
  return `${FDIV}
fn tex(t: u32) -> vec4f {
  let m = (1u << p.rawShift) - 1u;
  return textureLoad(rawTex, vec2u(t & m, t >> p.rawShift));
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}${start}`;
}

/**
 * U[ξ][i][o] = (G g Gᵀ)ξ, vec4 over o; invocation = i · O/4 + o/4. g(a, b) is w at
 * o·wo + i·wi + tap, the tap flipped for the input gradient (as the gather's weight packing).
 */
const FILTER = /* wgsl */ `
struct P { O4: u32, wo: u32, wi: u32, flip: u32, count: u32, rawShift: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> u: array<vec4f>;
@group(0) @binding(2) var rawTex: texture_storage_2d<rgba32float, read>;
${RAW_LOAD}
${head()}
  let ci = fdiv(i, p.O4);
  let oq = i - ci * p.O4;
  let base = oq * 4u * p.wo + ci * p.wi;
  ${
  Array.from({ length: 9 }, (_, tap) =>
    `let g${tap / 3 | 0}_${tap % 3} = ${
      vec4Of((c) =>
        `raw(base + ${c}u * p.wo + select(${tap}u, ${8 - tap}u, p.flip == 1u))`
      )
    };`).join("\n  ")
}
  ${sandwich(G, G, (r, c) => `g${r}_${c}`, "f")}
  let s = p.count;
  ${Array.from({ length: 36 }, (_, x) => `u[i + ${x}u * s] = f${x / 6 | 0}_${x % 6};`).join("\n  ")}
}`;

/** V[ξ][t][i] (vec4 over i) from the raw-staged input; invocations over (tile, i/4) as head's. */
const INPUT = /* wgsl */ `
struct P { quads: u32, H: u32, W: u32, th: u32, tw: u32, count: u32, rawShift: u32, T: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> v: array<vec4f>;
@group(0) @binding(2) var rawTex: texture_storage_2d<rgba32float, read>;
${head("cq")}
  let vi = t * p.quads + cq;
  let W4 = p.W / 4u;
  let plane = p.H * W4;
  let img0 = (n * p.quads + cq) * 4u * plane + tx;
  // Patch rows 4ty − 1 … 4ty + 4: the tile's texel, the last float of the one before and the
  // first of the one after, zero outside the image.
  ${
  Array.from({ length: 6 }, (_, r) =>
    `let y${r} = i32(ty * 4u) + ${r - 1};
  let ok${r} = y${r} >= 0 && y${r} < i32(p.H);
  let o${r} = u32(clamp(y${r}, 0, i32(p.H) - 1)) * W4;`).join("\n  ")
}
  ${
  Array.from({ length: 4 }, (_, c) =>
    Array.from({ length: 6 }, (_, r) =>
      `let b${c}_${r} = img0 + ${c}u * plane + o${r};
  let m${c}_${r} = select(vec4f(0.0), tex(b${c}_${r}), ok${r});
  let l${c}_${r} = select(0.0, tex(b${c}_${r} - 1u).w, ok${r} && tx > 0u);
  let r${c}_${r} = select(0.0, tex(b${c}_${r} + 1u).x, ok${r} && tx + 1u < p.tw);`).join("\n  "))
    .join("\n  ")
}
  ${
  Array.from({ length: 6 }, (_, r) =>
    [
      `let d${r}_0 = ${vec4Of((c) => `l${c}_${r}`)};`,
      ...[0, 1, 2, 3].map((x) => `let d${r}_${x + 1} = ${vec4Of((c) => `m${c}_${r}[${x}]`)};`),
      `let d${r}_5 = ${vec4Of((c) => `r${c}_${r}`)};`,
    ].join("\n  ")).join("\n  ")
}
  ${sandwich(BT, BT, (r, c) => `d${r}_${c}`, "e")}
  let s = p.count;
  ${
  Array.from({ length: 36 }, (_, x) => `v[vi + ${x}u * s] = e${x / 6 | 0}_${x % 6};`).join("\n  ")
}
}`;

/**
 * out = Aᵀ M A (+ bias) per tile from the raw-staged M[ξ][t][o] (texels over o); invocations
 * over (tile, o/4) as head's; stores rows of 4 pixels of 4 channels.
 */
function outputSource(bias: boolean): string {
  return /* wgsl */ `
struct P { quads: u32, H: u32, W: u32, th: u32, tw: u32, count: u32, rawShift: u32,
           biasStride4: u32, T: u32 }
@group(0) @binding(0) var<uniform> p: P;
${bias ? "@group(0) @binding(1) var<storage, read> bias: array<vec4f>;" : ""}
@group(0) @binding(${bias ? 2 : 1}) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(${bias ? 3 : 2}) var rawTex: texture_storage_2d<rgba32float, read>;
${head("oq")}
  let mi = t * p.quads + oq;
  let s = p.count;
  ${
    Array.from({ length: 36 }, (_, x) => `let q${x / 6 | 0}_${x % 6} = tex(mi + ${x}u * s);`).join(
      "\n  ",
    )
  }
  ${sandwich(AT, AT, (r, c) => `q${r}_${c}`, "z")}
  ${bias ? "let b = bias[n * p.biasStride4 + oq];" : ""}
  let W4 = p.W / 4u;
  let plane = p.H * W4;
  let base = (n * p.quads + oq) * 4u * plane + ty * 4u * W4 + tx;
  ${
    Array.from({ length: 16 }, (_, x) => {
      const [c, r] = [x >> 2, x & 3];
      const row = vec4Of((q) => `z${r}_${q}[${c}]`);
      return `out[base + ${c}u * plane + ${r}u * W4] = ${row}${bias ? ` + b[${c}]` : ""};`;
    }).join("\n  ")
  }
}`;
}
const OUTPUT = [outputSource(false), outputSource(true)];

/** A = (Aᵀ)ᵀ and Gᵀ: the output and filter transforms' adjoints, for the weight gradient. */
const A = AT[0].map((_, r) => AT.map((row) => row[r]));
const GT = G[0].map((_, a) => G.map((row) => row[a]));

/**
 * The output transform's adjoint: dM[ξ][t][o] = (A dY Aᵀ)ξ for the 4×4 tiles of dy (vec4
 * over o), and with `sums` each tile's Σ dY into S[t][o] for the bias gradient; invocations
 * over (tile, o/4) as head's.
 */
function gradOutputSource(sums: boolean): string {
  return /* wgsl */ `
struct P { quads: u32, H: u32, W: u32, th: u32, tw: u32, count: u32, rawShift: u32, T: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dm: array<vec4f>;
${sums ? "@group(0) @binding(2) var<storage, read_write> tileSums: array<vec4f>;" : ""}
@group(0) @binding(${sums ? 3 : 2}) var rawTex: texture_storage_2d<rgba32float, read>;
${head("oq")}
  let W4 = p.W / 4u;
  let plane = p.H * W4;
  let base = (n * p.quads + oq) * 4u * plane + ty * 4u * W4 + tx;
  ${
    Array.from({ length: 16 }, (_, x) => {
      const [c, a] = [x >> 2, x & 3];
      return `let y${c}_${a} = tex(base + ${c}u * plane + ${a}u * W4);`;
    }).join("\n  ")
  }
  ${sandwich(A, A, (a, b) => vec4Of((c) => `y${c}_${a}[${b}]`), "g")}
  let mi = t * p.quads + oq;
  let s = p.count;
  ${
    Array.from({ length: 36 }, (_, x) => `dm[mi + ${x}u * s] = g${x / 6 | 0}_${x % 6};`).join(
      "\n  ",
    )
  }
  ${sums ? "tileSums[mi] = g1_1; // A's second row is all ones: the tile's Σ dY" : ""}
}`;
}
const GRAD_OUTPUT = [gradOutputSource(false), gradOutputSource(true)];

/**
 * The filter transform's adjoint: dw[o, i] = Gᵀ dU G from dU[ξ][i][o] (raw-staged, texels
 * over o); invocation = i · O/4 + o/4.
 */
const GRAD_FILTER = /* wgsl */ `
struct P { O4: u32, I: u32, count: u32, rawShift: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var rawTex: texture_storage_2d<rgba32float, read>;
${head()}
  let ci = fdiv(i, p.O4);
  let oq = i - ci * p.O4;
  let s = p.count;
  ${
  Array.from({ length: 36 }, (_, x) => `let q${x / 6 | 0}_${x % 6} = tex(i + ${x}u * s);`).join(
    "\n  ",
  )
}
  ${sandwich(GT, GT, (r, c) => `q${r}_${c}`, "k")}
  let at = (oq * 4u * p.I + ci) * 9u;
  ${
  Array.from({ length: 36 }, (_, x) => {
    const [c, tap] = [x / 9 | 0, x % 9];
    return `dw[at + ${c}u * p.I * 9u + ${tap}u] = k${tap / 3 | 0}_${tap % 3}[${c}];`;
  }).join("\n  ")
}
}`;

/** Invocations of a kernel with head(quad): T tiles rounded up to 8, times the quads. */
function quadInvocations(T: number, quads: number): number {
  return Math.ceil(T / 8) * 8 * quads;
}

/** Tiles of a gather: 4×4 output pixels each. */
function tileCount(s: GatherDims): number {
  return s.n * (s.h / 4) * (s.w / 4);
}

/** The forward's 36 products: M[ξ] = V[ξ] · U[ξ], [T, i] · [i, o]. */
function productLayout(s: GatherDims): MatmulLayout {
  return planMatmul([36, tileCount(s), s.i], [36, s.i, s.o], false, false).layout;
}

/** The weight gradient's 36 products: dU[ξ] = V[ξ]ᵀ · dM[ξ], [i, T] · [T, o]. */
function gradProductLayout(s: GatherDims): MatmulLayout {
  const T = tileCount(s);
  return planMatmul([36, T, s.i], [36, T, s.o], true, false).layout;
}

/**
 * What both directions need: a 3×3 kernel, sides and channel counts on multiples of 4, every
 * temporary within the adapter's binding and texture limits, indices within FDIV_LIMIT.
 */
function sizesFit(engine: Engine, s: GatherDims): boolean {
  if (s.k !== 3 || s.h % 4 || s.w % 4 || s.i % 4 || s.o % 4) return false;
  const T = tileCount(s);
  const maxDim = engine.device.limits.maxTextureDimension2D;
  const maxFloats = engine.device.limits.maxStorageBufferBindingSize / 4;
  const temps = [36 * T * s.i, 36 * s.i * s.o, 36 * T * s.o];
  return temps.every((f) => f <= maxFloats && f <= 4 * maxDim * maxDim) &&
    s.n * s.i * s.h * s.w <= 4 * maxDim * maxDim && s.o * s.i * 9 <= 4 * maxDim * maxDim &&
    T * Math.max(s.i, s.o) / 4 < FDIV_LIMIT && s.i * s.o / 4 < FDIV_LIMIT;
}

/**
 * Whether this gather can run as Winograd F(4×4, 3×3) here: a 3×3 kernel, sides and channel
 * counts on multiples of 4, every temporary within the adapter's binding and texture limits.
 *
 * @param engine the engine
 * @param s sizes of the gather
 * @returns true when winogradTexture accepts these sizes
 */
export function winogradFits(engine: Engine, s: GatherDims): boolean {
  return sizesFit(engine, s) && matmulTextureFits(engine, productLayout(s));
}

/**
 * Whether Winograd should beat the direct gather at these sizes, from measurements on
 * lavapipe (docs/perf-notes.md, bench/kernels/winograd.ts): 1.1–1.4× at 64 channels,
 * 1.3–1.5× at 96–128 → 64, 1.5–2× at 128–256 channels, but 0.8–1.05× with 32 channels on
 * either side, where the transforms (a cost per channel and tile) outweigh the 4× fewer
 * multiplications.
 *
 * @param s sizes of the gather
 * @returns true when the Winograd path should be taken
 */
export function winogradPays(s: GatherDims): boolean {
  return Math.min(s.i, s.o) >= 64;
}

/**
 * Whether the Winograd weight gradient should beat the direct one (measured as winogradPays):
 * from 32 channels on both sides (1.1–1.6× at 32, 1.5–2.5× at 64–256), the direct weight
 * gradient being the slowest of the three direct kernels.
 *
 * @param d sizes of the convolution
 * @returns true when the Winograd path should be taken
 */
export function winogradWeightGradPays(d: Conv2dGpuDims): boolean {
  return Math.min(d.cin, d.cout) >= 32;
}

/** Records V[ξ][t][i] = (Bᵀ d B)ξ for the patches of the gather's input; release it after use. */
function inputTransform(engine: Engine, label: string, x: GPUBuffer, s: GatherDims): GPUBuffer {
  const { n, i: c, h, w } = s;
  const T = tileCount(s);
  const v = engine.alloc(36 * T * c * 4);
  const raw = stageRaw(engine, x, n * c * h * w);
  engine.dispatch({
    label: `${label} (Winograd input transform)`,
    code: INPUT,
    inputs: [],
    outputs: [v],
    textures: [raw.texture],
    uniforms: { u: [c / 4, h, w, h / 4, w / 4, T * c / 4, raw.shift, T] },
    groups: groups1d(quadInvocations(T, c / 4)),
  });
  engine.releaseTexture(raw.texture);
  return v;
}

/**
 * Records out = (bias) + Σ_i in ⋆ W for a 3×3 kernel by Winograd F(4×4, 3×3); `flip`
 * selects the input-gradient reading of w (channels swapped, taps flipped). Sizes must pass
 * winogradFits.
 *
 * @param engine the engine
 * @param label op name and shapes for errors
 * @param input [n, i, h, w] buffer
 * @param weight the conv weight buffer [cout, cin, 3, 3]
 * @param bias [o], or [n, o] with `biasPerImage`, or null
 * @param out [n, o, h, w] buffer
 * @param s sizes of the gather (i, o are its own input/output channels)
 * @param flip true for the input gradient
 * @param biasPerImage the bias holds one row of o values per image
 */
export function winogradTexture(
  engine: Engine,
  label: string,
  input: GPUBuffer,
  weight: GPUBuffer,
  bias: GPUBuffer | null,
  out: GPUBuffer,
  s: GatherDims,
  flip: boolean,
  biasPerImage = false,
): void {
  if (!winogradFits(engine, s)) throw new Error(`${label}: not a Winograd F(4×4, 3×3) shape`);
  const T = tileCount(s);
  const [th, tw] = [s.h / 4, s.w / 4];
  const O4 = s.o / 4;
  // Forward reads w[o, i]; the input gradient reads w[i, o] (channels swapped).
  const [wo, wi] = flip ? [9, s.o * 9] : [s.i * 9, 9];
  const u = engine.alloc(36 * s.i * s.o * 4);
  const wraw = stageRaw(engine, weight, s.o * s.i * 9);
  engine.dispatch({
    label: `${label} (Winograd filter transform)`,
    code: FILTER,
    inputs: [],
    outputs: [u],
    textures: [wraw.texture],
    uniforms: { u: [O4, wo, wi, flip ? 1 : 0, s.i * O4, wraw.shift] },
    groups: groups1d(s.i * O4),
  });
  engine.releaseTexture(wraw.texture);
  const v = inputTransform(engine, label, input, s);
  const m = engine.alloc(36 * T * s.o * 4);
  matmulTexture(engine, `${label} (Winograd products)`, v, u, m, productLayout(s), tileFor(s.o));
  engine.release(u);
  engine.release(v);
  const mraw = stageRaw(engine, m, 36 * T * s.o);
  engine.release(m);
  engine.dispatch({
    label: `${label} (Winograd output transform)`,
    code: OUTPUT[bias ? 1 : 0],
    inputs: bias ? [bias] : [],
    outputs: [out],
    textures: [mraw.texture],
    uniforms: { u: [O4, s.h, s.w, th, tw, T * O4, mraw.shift, biasPerImage ? O4 : 0, T] },
    groups: groups1d(quadInvocations(T, O4)),
  });
  engine.releaseTexture(mraw.texture);
}

/** The gather whose adjoint the weight gradient is: x's cin channels into dy's cout. */
function gatherOf(d: Conv2dGpuDims): GatherDims {
  return { n: d.n, i: d.cin, o: d.cout, h: d.h, w: d.w, k: d.k };
}

/**
 * Whether the weight gradient of this convolution can run as Winograd F(4×4, 3×3) here (the
 * same conditions as the gathers, for x's cin and dy's cout channels).
 *
 * @param engine the engine
 * @param d sizes of the convolution
 * @returns true when winogradWeightGrad accepts these sizes
 */
export function winogradWeightGradFits(engine: Engine, d: Conv2dGpuDims): boolean {
  const s = gatherOf(d);
  return sizesFit(engine, s) && matmulTextureFits(engine, gradProductLayout(s));
}

/**
 * Records dw = Σ_n x ⋆ dy (and db = Σ dy) for a 3×3 kernel by Winograd F(4×4, 3×3), the
 * adjoint of the forward: dU[ξ] = V[ξ]ᵀ · dM[ξ] over the tiles, dw = Gᵀ dU G. Sizes must
 * pass winogradWeightGradFits.
 *
 * @param engine the engine
 * @param label op name and shapes for errors
 * @param x [n, cin, h, w] buffer
 * @param dy [n, cout, h, w] buffer
 * @param dw [cout, cin, 3, 3] output buffer
 * @param db [cout] output buffer or null
 * @param d sizes of the convolution
 */
export function winogradWeightGrad(
  engine: Engine,
  label: string,
  x: GPUBuffer,
  dy: GPUBuffer,
  dw: GPUBuffer,
  db: GPUBuffer | null,
  d: Conv2dGpuDims,
): void {
  if (!winogradWeightGradFits(engine, d)) {
    throw new Error(`${label}: not a Winograd F(4×4, 3×3) shape`);
  }
  const s = gatherOf(d);
  const T = tileCount(s);
  const O4 = d.cout / 4;
  const v = inputTransform(engine, label, x, s);
  const dm = engine.alloc(36 * T * d.cout * 4);
  const sums = db && engine.alloc(T * d.cout * 4);
  const graw = stageRaw(engine, dy, d.n * d.cout * d.h * d.w);
  engine.dispatch({
    label: `${label} (Winograd output transform, adjoint)`,
    code: GRAD_OUTPUT[sums ? 1 : 0],
    inputs: [],
    outputs: sums ? [dm, sums] : [dm],
    textures: [graw.texture],
    uniforms: { u: [O4, d.h, d.w, d.h / 4, d.w / 4, T * O4, graw.shift, T] },
    groups: groups1d(quadInvocations(T, O4)),
  });
  engine.releaseTexture(graw.texture);
  if (sums) {
    sumChunksGpu(engine, `${label} (bias)`, sums, T, d.cout, db);
    engine.release(sums);
  }
  const du = engine.alloc(36 * d.cin * d.cout * 4);
  const tile = tileFor(d.cout);
  matmulTexture(engine, `${label} (Winograd products)`, v, dm, du, gradProductLayout(s), tile);
  engine.release(v);
  engine.release(dm);
  const uraw = stageRaw(engine, du, 36 * d.cin * d.cout);
  engine.release(du);
  engine.dispatch({
    label: `${label} (Winograd filter transform, adjoint)`,
    code: GRAD_FILTER,
    inputs: [],
    outputs: [dw],
    textures: [uraw.texture],
    uniforms: { u: [O4, d.cin, d.cin * O4, uraw.shift] },
    groups: groups1d(d.cin * O4),
  });
  engine.releaseTexture(uraw.texture);
}
