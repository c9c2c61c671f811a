/**
 * GroupNorm kernels that read x (and gy) from rgba32float storage textures, for
 * llvmpipe/lavapipe where a texel load is ~25× cheaper than a storage-buffer load; same maths
 * as group_norm.ts, chosen there when `engine.preferTextures` is set and each plane is whole
 * texels (HW a multiple of 4). The tensors are copied as is into raw textures (a memcpy), and
 * every pass has each invocation walk a contiguous strip of texels with its sums in registers
 * (workgroup-memory reductions are as slow as buffer loads here; the elementwise passes on
 * planes of ≥ 64 texels walk each strip with 8 invocations, interleaved):
 * - forward: strips of a (sample, group) give (Σx, Σ(x − strip mean)²); one invocation per
 *   (sample, group) combines them exactly (total mean, then each strip's squares moved to it)
 *   and writes (mean, rstd) and the per-channel affine; then y = A·(x − mean) + B per strip of
 *   a plane, 4 floats a step, the coefficients loaded once per strip;
 * - backward: strips of a (sample, channel) plane give (Σgy, Σgy·n̂); one invocation per
 *   (sample, group) adds them into the channel sums and the dx coefficients (and dscale,
 *   dshift); then dx per strip of a plane. dgamma/dbeta come from the channel sums, recorded
 *   by group_norm.ts as on the buffer path.
 *
 * @module
 */
import type { Engine } from "../../engine.ts";
import { groups1d, INDEX, siluBackwardInPlace, siluInPlace } from "../common.ts";
import type { GroupNormBackwardGpuArgs, GroupNormGpuArgs } from "../group_norm.ts";
import { stageRaw } from "./texture_stage.ts";

/** Strips we aim for per pass: enough 64-wide workgroups to keep every core busy. */
const TARGET_STRIPS = 1024;

/** Fewest texels per strip: shorter ones pay more for their index maths and writes. */
const MIN_TEXELS = 16;

/** Plane size (texels) from which elementwise passes interleave 8 invocations a strip. */
const INTERLEAVE_TEXELS = 64;

/** How `count` segments of `texels` texels each are cut into strips. */
export interface Strips {
  /** Texels per strip (the last strip of a segment may be shorter). */
  T: number;
  /** Strips per segment. */
  per: number;
}

/**
 * Cuts `count` segments of `texels` texels into strips of equal length (but the last of each
 * segment), long enough to amortise each strip's set-up, short enough for TARGET_STRIPS.
 *
 * @param count segments (groups or planes)
 * @param texels texels per segment
 * @param min fewest texels per strip (but whole segments shorter than that)
 * @returns texels per strip and strips per segment
 */
export function strips(count: number, texels: number, min = MIN_TEXELS): Strips {
  const T = Math.min(texels, Math.max(min, Math.ceil((count * texels) / TARGET_STRIPS)));
  return { T, per: Math.ceil(texels / T) };
}

/**
 * Whether the texture kernels take this GroupNorm: planes of whole texels, and x within one
 * raw texture (at most maxDim² texels).
 *
 * @param engine the engine
 * @param dims N, C, HW
 * @returns true if groupNormTexture / groupNormBackwardTexture can run it
 */
export function groupNormTextureFits(
  engine: Engine,
  dims: { N: number; C: number; HW: number },
): boolean {
  const maxDim = engine.device.limits.maxTextureDimension2D;
  const floats = dims.N * dims.C * dims.HW;
  return dims.HW % 4 === 0 && floats > 0 && floats <= 4 * maxDim * maxDim;
}

/** WGSL expression: texel `t` of the raw texture `tex` (`m` = row mask in scope). */
function texel(tex: string, t: string): string {
  return `textureLoad(${tex}, vec2u(${t} & m, ${t} >> p.rawShift))`;
}

/** Per invocation: strip `s` of segment `seg`, texels [t0, t1) of the raw texture. */
const STRIP = /* wgsl */ `
  let seg = i / p.per;
  let s = i - seg * p.per;
  let t0 = seg * p.len + s * p.T;
  let t1 = seg * p.len + min(s * p.T + p.T, p.len);
  let m = (1u << p.rawShift) - 1u;`;

/**
 * Per invocation of an elementwise pass: strip `st` of segment `seg`, walked by 2^p.ls
 * invocations together, this one taking texels t0, t0 + step, … below t1.
 */
const LANE_STRIP = /* wgsl */ `
  let st = i >> p.ls;
  if (st >= p.count) { return; }
  let seg = st / p.per;
  let s = st - seg * p.per;
  let step = 1u << p.ls;
  let t0 = seg * p.len + s * p.T + (i & (step - 1u));
  let t1 = seg * p.len + min(s * p.T + p.T, p.len);
  let m = (1u << p.rawShift) - 1u;`;

/** The strips of an elementwise pass over `count` planes of `texels` texels, and its lanes. */
interface LaneStrips extends Strips {
  /** log2 of the invocations that walk one strip together. */
  ls: number;
}

/**
 * Elementwise strips: on planes of at least INTERLEAVE_TEXELS texels the 8 invocations of one
 * SIMD register walk a strip together, interleaved (lane j takes texels j, j + 8, …), so their
 * stores land side by side (15–25% less CPU for the pass at 32²); smaller planes keep one
 * invocation a strip, where the set-up per strip would dominate.
 */
function laneStrips(count: number, texels: number): LaneStrips {
  if (texels < INTERLEAVE_TEXELS) return { ...strips(count, texels), ls: 0 };
  return { ...strips(count, texels, 8 * MIN_TEXELS), ls: 3 };
}

const PARTIAL_STATS = /* wgsl */ `
struct P { count: u32, per: u32, len: u32, T: u32, rawShift: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> partial: array<vec2f>;
@group(0) @binding(2) var xt: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  ${STRIP}
  var acc = vec4f(0.0);
  for (var t = t0; t < t1; t++) { acc += ${texel("xt", "t")}; }
  let sum = acc.x + acc.y + acc.z + acc.w;
  // Squares about the strip's own mean (texels are cheap to read twice): no cancellation.
  let mean = vec4f(sum / f32(4u * (t1 - t0)));
  var sq = vec4f(0.0);
  for (var t = t0; t < t1; t++) {
    let v = ${texel("xt", "t")} - mean;
    sq = fma(v, v, sq);
  }
  partial[i] = vec2f(sum, sq.x + sq.y + sq.z + sq.w);
}`;

/**
 * WGSL: `pc` = (a, mean, b, 0), the coefficients of plane `pl` (channel `c`) with
 * y = a·(x − mean) + b, from `mean`, `rstd`, `gamma`, `beta` and, with `mod`, `scale` and
 * `shift` in scope. Shared by the forward kernels and a fused SiLU's backward.
 */
export function planeCoefficients(mod: boolean): string {
  const ms = mod ? "let m = 1.0 + scale[pl]; let t = shift[pl];" : "let m = 1.0; let t = 0.0;";
  return `${ms} let pc = vec4f(rstd * gamma[c] * m, mean, beta[c] * m + t, 0.0);`;
}

function combineSource(mod: boolean): string {
  const extra = mod
    ? `@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> shift: array<f32>;`
    : "";
  const o = mod ? 6 : 4;
  return /* wgsl */ `
struct P { count: u32, G: u32, C: u32, Cg: u32, per: u32, len: u32, T: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> partial: array<vec2f>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
${extra}
@group(0) @binding(${o}) var<storage, read_write> stats: array<f32>;
@group(0) @binding(${o + 1}) var<storage, read_write> coef: array<vec4f>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  let n = i / p.G;
  let g = i % p.G;
  let first = i * p.per;
  var sum = 0.0;
  for (var s = 0u; s < p.per; s++) { sum += partial[first + s].x; }
  let L = f32(4u * p.len);
  let mean = sum / L;
  // Σ(x − mean)² = Σ over strips of (their squares + count·(strip mean − mean)²), exactly.
  var m2 = 0.0;
  for (var s = 0u; s < p.per; s++) {
    let q = partial[first + s];
    let k = f32(4u * (min(s * p.T + p.T, p.len) - s * p.T));
    let d = q.x / k - mean;
    m2 += q.y + k * d * d;
  }
  let rstd = inverseSqrt(m2 / L + p.eps);
  stats[2u * i] = mean;
  stats[2u * i + 1u] = rstd;
  for (var c = g * p.Cg; c < (g + 1u) * p.Cg; c++) {
    let pl = n * p.C + c;
    ${planeCoefficients(mod)}
    coef[pl] = pc;
  }
}`;
}

const COMBINE = [combineSource(false), combineSource(true)];

function applySource(silu: boolean): string {
  return /* wgsl */ `
struct P { count: u32, per: u32, len: u32, T: u32, rawShift: u32, ls: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> coef: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
@group(0) @binding(3) var xt: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  ${LANE_STRIP}
  let k = coef[seg];
  let a = vec4f(k.x);
  let mean = vec4f(k.y);
  let b = vec4f(k.z);
  for (var t = t0; t < t1; t += step) {
    var v = fma(a, ${texel("xt", "t")} - mean, b);
    ${siluInPlace(silu)}
    y[t] = v;
  }
}`;
}

const APPLY = [applySource(false), applySource(true)];

/**
 * Records the GroupNorm forward through textures (a copy and three dispatches); same
 * arguments and results as groupNormGpu. Needs groupNormTextureFits.
 *
 * @param engine the engine
 * @param dims N, C, HW, G
 * @param eps variance epsilon
 * @param b the buffers
 */
export function groupNormTexture(
  engine: Engine,
  dims: { N: number; C: number; HW: number; G: number },
  eps: number,
  b: GroupNormGpuArgs,
): void {
  const { N, C, HW, G } = dims;
  const label = `groupNorm [${N},${C},${HW}] groups=${G} (textures)`;
  const raw = stageRaw(engine, b.x, N * C * HW);
  const len = (C / G) * HW / 4;
  const gs = strips(N * G, len);
  const partial = engine.alloc(N * G * gs.per * 2 * 4);
  engine.dispatch({
    label: `${label} (strip sums)`,
    code: PARTIAL_STATS,
    inputs: [],
    outputs: [partial],
    textures: [raw.texture],
    uniforms: { u: [N * G * gs.per, gs.per, len, gs.T, raw.shift] },
    groups: groups1d(N * G * gs.per),
  });
  const coef = engine.alloc(N * C * 4 * 4);
  const mod = b.mod ? [b.mod.scale, b.mod.shift] : [];
  engine.dispatch({
    label: `${label} (stats)`,
    code: COMBINE[b.mod ? 1 : 0],
    inputs: [partial, b.gamma, b.beta, ...mod],
    outputs: [b.stats, coef],
    uniforms: { u: [N * G, G, C, C / G, gs.per, len, gs.T], f: [eps] },
    groups: groups1d(N * G),
  });
  const ps = laneStrips(N * C, HW / 4);
  engine.dispatch({
    label,
    code: APPLY[b.silu ? 1 : 0],
    inputs: [coef],
    outputs: [b.y],
    textures: [raw.texture],
    uniforms: { u: [N * C * ps.per, ps.per, HW / 4, ps.T, raw.shift, ps.ls] },
    groups: groups1d((N * C * ps.per) << ps.ls),
  });
  engine.release(partial);
  engine.release(coef);
  engine.releaseTexture(raw.texture);
}

/** WGSL: the pre-activation coefficients of plane `seg` as vec4s (a fused SiLU's backward). */
const ACT_COEF = /* wgsl */ `
  let k = act[seg];
  let ka = vec4f(k.x);
  let km = vec4f(k.y);
  let kb = vec4f(k.z);`;

/** The binding of `act` (read-only storage, before the outputs) in a SiLU variant. */
function actBinding(silu: boolean, binding: number): string {
  return silu ? `@group(0) @binding(${binding}) var<storage, read> act: array<vec4f>;` : "";
}

function partialGradSource(silu: boolean): string {
  const o = silu ? 1 : 0;
  return /* wgsl */ `
struct P { count: u32, per: u32, len: u32, T: u32, rawShift: u32, C: u32, Cg: u32, G: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
${actBinding(silu, 2)}
@group(0) @binding(${2 + o}) var<storage, read_write> partial: array<vec2f>;
@group(0) @binding(${3 + o}) var xt: texture_storage_2d<rgba32float, read>;
@group(0) @binding(${4 + o}) var gyt: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  ${STRIP}
  let n = seg / p.C;
  let sg = n * p.G + (seg - n * p.C) / p.Cg;
  let mean = vec4f(stats[2u * sg]);
  let rstd = vec4f(stats[2u * sg + 1u]);
  ${silu ? ACT_COEF : ""}
  var a = vec4f(0.0);
  var b = vec4f(0.0);
  for (var t = t0; t < t1; t++) {
    var v = ${texel("gyt", "t")};
    let xv = ${texel("xt", "t")};
    ${siluBackwardInPlace(silu, "fma(ka, xv - km, kb)")}
    a += v;
    b = fma(v, (xv - mean) * rstd, b);
  }
  partial[i] = vec2f(a.x + a.y + a.z + a.w, b.x + b.y + b.z + b.w);
}`;
}

const PARTIAL_GRAD = [partialGradSource(false), partialGradSource(true)];

function gradCoefSource(mod: boolean): string {
  const io = mod
    ? `@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<storage, read_write> sums: array<vec2f>;
@group(0) @binding(7) var<storage, read_write> bcoef: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dscale: array<f32>;
@group(0) @binding(9) var<storage, read_write> dshift: array<f32>;`
    : `@group(0) @binding(5) var<storage, read_write> sums: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> bcoef: array<vec4f>;`;
  const k = `gamma[c]${mod ? " * (1.0 + scale[pl])" : ""}`;
  return /* wgsl */ `
struct P { count: u32, G: u32, C: u32, Cg: u32, per: u32, HW: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> partial: array<vec2f>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
${io}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  let n = i / p.G;
  let g = i % p.G;
  let mean = stats[2u * i];
  let rstd = stats[2u * i + 1u];
  var m1 = 0.0;
  var m2 = 0.0;
  for (var c = g * p.Cg; c < (g + 1u) * p.Cg; c++) {
    let pl = n * p.C + c;
    var s = vec2f(0.0);
    for (var j = pl * p.per; j < (pl + 1u) * p.per; j++) { s += partial[j]; }
    sums[pl] = s;
    let k = ${k};
    m1 += k * s.x;
    m2 += k * s.y;
  }
  let L = f32(p.Cg * p.HW);
  m1 = m1 / L;
  m2 = m2 / L;
  for (var c = g * p.Cg; c < (g + 1u) * p.Cg; c++) {
    let pl = n * p.C + c;
    let k = ${k};
    bcoef[pl] = vec4f(rstd * k, -rstd * rstd * m2, mean, -rstd * m1);
    ${
    mod
      ? `let s = sums[pl];
    dscale[pl] = gamma[c] * s.y + beta[c] * s.x;
    dshift[pl] = s.x;`
      : ""
  }
  }
}`;
}

const GRAD_COEF = [gradCoefSource(false), gradCoefSource(true)];

function dxSource(silu: boolean): string {
  const o = silu ? 1 : 0;
  return /* wgsl */ `
struct P { count: u32, per: u32, len: u32, T: u32, rawShift: u32, ls: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> bcoef: array<vec4f>;
${actBinding(silu, 2)}
@group(0) @binding(${2 + o}) var<storage, read_write> dx: array<vec4f>;
@group(0) @binding(${3 + o}) var xt: texture_storage_2d<rgba32float, read>;
@group(0) @binding(${4 + o}) var gyt: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  ${LANE_STRIP}
  let bk = bcoef[seg];
  let a = vec4f(bk.x);
  let b = vec4f(bk.y);
  let mean = vec4f(bk.z);
  let c = vec4f(bk.w);
  ${silu ? ACT_COEF : ""}
  for (var t = t0; t < t1; t += step) {
    var v = ${texel("gyt", "t")};
    let xv = ${texel("xt", "t")};
    ${siluBackwardInPlace(silu, "fma(ka, xv - km, kb)")}
    dx[t] = fma(a, v, fma(b, xv - mean, c));
  }
}`;
}

const DX = [dxSource(false), dxSource(true)];

/**
 * Records the GroupNorm backward through textures but dgamma/dbeta (two copies and three
 * dispatches): dx, dscale and dshift as groupNormBackwardGpu, and the per-(sample, channel)
 * sums (Σgy, Σgy·n̂) they come from into `sums`. Needs groupNormTextureFits.
 *
 * @param engine the engine
 * @param dims N, C, HW, G
 * @param b the buffers (dgamma, dbeta not written)
 * @param sums output [N, C, 2]
 * @param act a fused SiLU's pre-activation coefficients [N·C] (a, mean, b, 0), or null
 */
export function groupNormBackwardTexture(
  engine: Engine,
  dims: { N: number; C: number; HW: number; G: number },
  b: GroupNormBackwardGpuArgs,
  sums: GPUBuffer,
  act: GPUBuffer | null,
): void {
  const { N, C, HW, G } = dims;
  const label = `groupNorm.backward [${N},${C},${HW}] groups=${G} (textures)`;
  const mod = b.scale !== null && b.dmod !== null;
  const xr = stageRaw(engine, b.x, N * C * HW);
  const gyr = stageRaw(engine, b.gy, N * C * HW);
  const ps = strips(N * C, HW / 4);
  const partial = engine.alloc(N * C * ps.per * 2 * 4);
  engine.dispatch({
    label: `${label} (strip sums)`,
    code: PARTIAL_GRAD[act ? 1 : 0],
    inputs: [b.stats, ...(act ? [act] : [])],
    outputs: [partial],
    textures: [xr.texture, gyr.texture],
    uniforms: { u: [N * C * ps.per, ps.per, HW / 4, ps.T, xr.shift, C, C / G, G] },
    groups: groups1d(N * C * ps.per),
  });
  const bcoef = engine.alloc(N * C * 4 * 4);
  engine.dispatch({
    label: `${label} (group coefficients)`,
    code: GRAD_COEF[mod ? 1 : 0],
    inputs: [partial, b.stats, b.gamma, b.beta, ...(mod ? [b.scale!] : [])],
    outputs: mod ? [sums, bcoef, b.dmod!.dscale, b.dmod!.dshift] : [sums, bcoef],
    uniforms: { u: [N * G, G, C, C / G, ps.per, HW] },
    groups: groups1d(N * G),
  });
  const ds = laneStrips(N * C, HW / 4);
  engine.dispatch({
    label: `${label} (dx)`,
    code: DX[act ? 1 : 0],
    inputs: [bcoef, ...(act ? [act] : [])],
    outputs: [b.dx],
    textures: [xr.texture, gyr.texture],
    uniforms: { u: [N * C * ds.per, ds.per, HW / 4, ds.T, xr.shift, ds.ls] },
    groups: groups1d((N * C * ds.per) << ds.ls),
  });
  engine.release(partial);
  engine.release(bcoef);
  engine.releaseTexture(xr.texture);
  engine.releaseTexture(gyr.texture);
}
