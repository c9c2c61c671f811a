/**
 * GroupNorm with EDM's adaptive scale/shift. Forward: a workgroup per (sample, group)
 * reduces the group's mean and variance (two passes over the contiguous group, so a large
 * mean does not cancel the variance), writes (mean, rstd) and a per-channel affine
 * (A, mean, B); then an elementwise pass y = A·(x − mean) + B. Backward: a workgroup per
 * (sample, channel) sums gy and gy·n̂; a pass per (sample, group) turns those into
 * per-channel coefficients and dscale/dshift; a pass per channel sums dgamma/dbeta over
 * samples; an elementwise pass writes dx.
 *
 * Where `engine.preferTextures` is set (llvmpipe/lavapipe) and the planes are whole texels, the
 * entry points record the texture kernels of group_norm_texture.ts instead (same maths).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX, siluBackwardInPlace, siluInPlace } from "./common.ts";
import {
  groupNormBackwardTexture,
  groupNormTexture,
  groupNormTextureFits,
  planeCoefficients,
} from "./lavapipe/group_norm_texture.ts";

/** Workgroup counts for `count` workgroups, spread over x and y past 32 768. */
function groupsFlat(count: number): [number, number] {
  return count <= 32768 ? [count, 1] : [32768, Math.ceil(count / 32768)];
}

/** Which workgroup this is, for kernels launched with groupsFlat. */
const WG_INDEX = "let wg = wid.x + wid.y * nwg.x;";

/** Tree-sums `red` (64 lanes) into red[0]; must be called in uniform control flow. */
const REDUCE64 = /* wgsl */ `
fn reduce64(lid: u32) {
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
}`;

function statsSource(mod: boolean): string {
  const extra = mod
    ? `@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> shift: array<f32>;`
    : "";
  const o = mod ? 6 : 4;
  return /* wgsl */ `
struct P { count: u32, G: u32, C: u32, Cg: u32, HW: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
${extra}
@group(0) @binding(${o}) var<storage, read_write> stats: array<f32>;
@group(0) @binding(${o + 1}) var<storage, read_write> coef: array<f32>;
var<workgroup> red: array<f32, 64>;
${REDUCE64}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${WG_INDEX}
  if (wg >= p.count) { return; }
  let n = wg / p.G;
  let g = wg % p.G;
  let L = p.Cg * p.HW;
  let base = (n * p.C + g * p.Cg) * p.HW;
  var s = 0.0;
  for (var j = lid; j < L; j += 64u) { s += x[base + j]; }
  red[lid] = s;
  reduce64(lid);
  let mean = red[0] / f32(L);
  workgroupBarrier();
  var ss = 0.0;
  for (var j = lid; j < L; j += 64u) {
    let v = x[base + j] - mean;
    ss += v * v;
  }
  red[lid] = ss;
  reduce64(lid);
  let rstd = inverseSqrt(red[0] / f32(L) + p.eps);
  if (lid == 0u) {
    stats[2u * wg] = mean;
    stats[2u * wg + 1u] = rstd;
  }
  for (var c = g * p.Cg + lid; c < (g + 1u) * p.Cg; c += 64u) {
    let pl = n * p.C + c;
    ${planeCoefficients(mod)}
    coef[3u * pl] = pc.x;
    coef[3u * pl + 1u] = pc.y;
    coef[3u * pl + 2u] = pc.z;
  }
}`;
}

const STATS = [statsSource(false), statsSource(true)];

function applySource(silu: boolean): string {
  return /* wgsl */ `
struct P { n: u32, HW: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let pl = i / p.HW;
  var v = coef[3u * pl] * (x[i] - coef[3u * pl + 1u]) + coef[3u * pl + 2u];
  ${siluInPlace(silu)}
  y[i] = v;
}`;
}

const APPLY = [applySource(false), applySource(true)];

/** Buffers of a GroupNorm forward. */
export interface GroupNormGpuArgs {
  /** Input [N, C, HW]. */
  x: GPUBuffer;
  /** Weight [C]. */
  gamma: GPUBuffer;
  /** Bias [C]. */
  beta: GPUBuffer;
  /** Scale and shift [N, C] (both or neither). */
  mod: { scale: GPUBuffer; shift: GPUBuffer } | null;
  /** Output [N, C, HW]. */
  y: GPUBuffer;
  /** Apply SiLU to the output in the same pass. */
  silu?: boolean;
  /** Output [N, G, 2]: mean, rstd. */
  stats: GPUBuffer;
}

/**
 * Records the GroupNorm forward (two dispatches; a copy and three through textures).
 *
 * @param engine the engine
 * @param dims N, C, HW, G
 * @param eps variance epsilon
 * @param b the buffers
 */
export function groupNormGpu(
  engine: Engine,
  dims: { N: number; C: number; HW: number; G: number },
  eps: number,
  b: GroupNormGpuArgs,
): void {
  if (engine.preferTextures && groupNormTextureFits(engine, dims)) {
    groupNormTexture(engine, dims, eps, b);
    return;
  }
  const { N, C, HW, G } = dims;
  const label = `groupNorm [${N},${C},${HW}] groups=${G}`;
  const coef = engine.alloc(N * C * 3 * 4);
  const mod = b.mod ? [b.mod.scale, b.mod.shift] : [];
  engine.dispatch({
    label: `${label} (stats)`,
    code: STATS[b.mod ? 1 : 0],
    inputs: [b.x, b.gamma, b.beta, ...mod],
    outputs: [b.stats, coef],
    uniforms: { u: [N * G, G, C, C / G, HW], f: [eps] },
    groups: groupsFlat(N * G),
  });
  engine.dispatch({
    label,
    code: APPLY[b.silu ? 1 : 0],
    inputs: [b.x, coef],
    outputs: [b.y],
    uniforms: { u: [N * C * HW, HW] },
    groups: groups1d(N * C * HW),
  });
  engine.release(coef);
}

/**
 * Per-plane coefficients of the forward's pre-activation y = a·(x − mean) + b, as
 * (a, mean, b, 0) from the saved stats by the forward's formula: what a backward
 * through a fused SiLU recomputes y from.
 */
function preActivationSource(mod: boolean): string {
  return /* wgsl */ `
struct P { count: u32, G: u32, C: u32, Cg: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
${
    mod
      ? `@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> shift: array<f32>;
@group(0) @binding(6) var<storage, read_write> act: array<vec4f>;`
      : "@group(0) @binding(4) var<storage, read_write> act: array<vec4f>;"
  }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  let pl = i;
  let n = i / p.C;
  let c = i % p.C;
  let sg = 2u * (n * p.G + c / p.Cg);
  let mean = stats[sg];
  let rstd = stats[sg + 1u];
  ${planeCoefficients(mod)}
  act[pl] = pc;
}`;
}

const PRE_ACTIVATION = [preActivationSource(false), preActivationSource(true)];

function planeSumsSource(silu: boolean): string {
  return /* wgsl */ `
struct P { count: u32, G: u32, C: u32, Cg: u32, HW: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
${silu ? "@group(0) @binding(4) var<storage, read> act: array<vec4f>;" : ""}
@group(0) @binding(${silu ? 5 : 4}) var<storage, read_write> sums: array<f32>;
var<workgroup> red2: array<vec2f, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${WG_INDEX}
  if (wg >= p.count) { return; }
  let n = wg / p.C;
  let g = (wg % p.C) / p.Cg;
  let mean = stats[2u * (n * p.G + g)];
  let rstd = stats[2u * (n * p.G + g) + 1u];
  let base = wg * p.HW;
  ${silu ? "let k = act[wg];" : ""}
  var acc = vec2f(0.0);
  for (var j = lid; j < p.HW; j += 64u) {
    var v = gy[base + j];
    let xv = x[base + j];
    ${siluBackwardInPlace(silu, "fma(k.x, xv - k.y, k.z)")}
    acc += vec2f(v, v * (xv - mean) * rstd);
  }
  red2[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { red2[lid] += red2[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    sums[2u * wg] = red2[0].x;
    sums[2u * wg + 1u] = red2[0].y;
  }
}`;
}

const PLANE_SUMS = [planeSumsSource(false), planeSumsSource(true)];

function groupCoefSource(mod: boolean): string {
  const io = mod
    ? `@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<storage, read_write> bcoef: array<f32>;
@group(0) @binding(7) var<storage, read_write> dscale: array<f32>;
@group(0) @binding(8) var<storage, read_write> dshift: array<f32>;`
    : `@group(0) @binding(5) var<storage, read_write> bcoef: array<f32>;`;
  return /* wgsl */ `
struct P { count: u32, G: u32, C: u32, Cg: u32, HW: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> sums: array<f32>;
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
    let k = gamma[c]${mod ? " * (1.0 + scale[pl])" : ""};
    m1 += k * sums[2u * pl];
    m2 += k * sums[2u * pl + 1u];
  }
  let L = f32(p.Cg * p.HW);
  m1 = m1 / L;
  m2 = m2 / L;
  for (var c = g * p.Cg; c < (g + 1u) * p.Cg; c++) {
    let pl = n * p.C + c;
    let k = gamma[c]${mod ? " * (1.0 + scale[pl])" : ""};
    bcoef[4u * pl] = rstd * k;
    bcoef[4u * pl + 1u] = -rstd * rstd * m2;
    bcoef[4u * pl + 2u] = mean;
    bcoef[4u * pl + 3u] = -rstd * m1;
    ${
    mod
      ? `dscale[pl] = gamma[c] * sums[2u * pl + 1u] + beta[c] * sums[2u * pl];
    dshift[pl] = sums[2u * pl];`
      : ""
  }
  }
}`;
}

const GROUP_COEF = [groupCoefSource(false), groupCoefSource(true)];

function paramGradSource(mod: boolean): string {
  return /* wgsl */ `
struct P { N: u32, C: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> sums: array<f32>;
${mod ? "@group(0) @binding(2) var<storage, read> scale: array<f32>;" : ""}
@group(0) @binding(${mod ? 3 : 2}) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(${mod ? 4 : 3}) var<storage, read_write> dbeta: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.C) { return; }
  var dg = 0.0;
  var db = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let pl = n * p.C + i;
    let m = ${mod ? "1.0 + scale[pl]" : "1.0"};
    dg += m * sums[2u * pl + 1u];
    db += m * sums[2u * pl];
  }
  dgamma[i] = dg;
  dbeta[i] = db;
}`;
}

const PARAM_GRAD = [paramGradSource(false), paramGradSource(true)];

function dxSource(silu: boolean): string {
  return /* wgsl */ `
struct P { n: u32, HW: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read> bcoef: array<f32>;
${silu ? "@group(0) @binding(4) var<storage, read> act: array<vec4f>;" : ""}
@group(0) @binding(${silu ? 5 : 4}) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let pl = i / p.HW;
  let b = 4u * pl;
  let xv = x[i];
  var v = gy[i];
  ${silu ? "let k = act[pl];" : ""}
  ${siluBackwardInPlace(silu, "fma(k.x, xv - k.y, k.z)")}
  dx[i] = bcoef[b] * v + bcoef[b + 1u] * (xv - bcoef[b + 2u]) + bcoef[b + 3u];
}`;
}

const DX = [dxSource(false), dxSource(true)];

/** Buffers of a GroupNorm backward. */
export interface GroupNormBackwardGpuArgs {
  /** Forward input [N, C, HW]. */
  x: GPUBuffer;
  /** Weight [C]. */
  gamma: GPUBuffer;
  /** Bias [C]. */
  beta: GPUBuffer;
  /** Forward scale [N, C], or null without scale/shift. */
  scale: GPUBuffer | null;
  /** Forward's [N, G, 2] mean, rstd. */
  stats: GPUBuffer;
  /** Gradient of the output [N, C, HW]. */
  gy: GPUBuffer;
  /** Output ∂L/∂x. */
  dx: GPUBuffer;
  /** Output ∂L/∂gamma. */
  dgamma: GPUBuffer;
  /** Output ∂L/∂beta. */
  dbeta: GPUBuffer;
  /** Outputs ∂L/∂scale, ∂L/∂shift (required when `scale` is given). */
  dmod: { dscale: GPUBuffer; dshift: GPUBuffer } | null;
  /** Set when the forward applied SiLU: its shift [N, C] (required with `scale`), or null. */
  silu?: { shift: GPUBuffer | null };
}

/**
 * Records the GroupNorm backward (four dispatches; two copies and four through textures).
 *
 * @param engine the engine
 * @param dims N, C, HW, G
 * @param b the buffers
 */
export function groupNormBackwardGpu(
  engine: Engine,
  dims: { N: number; C: number; HW: number; G: number },
  b: GroupNormBackwardGpuArgs,
): void {
  const { N, C, HW, G } = dims;
  const label = `groupNorm.backward [${N},${C},${HW}] groups=${G}`;
  const mod = b.scale !== null && b.dmod !== null;
  const sums = engine.alloc(N * C * 2 * 4);
  const act = b.silu ? preActivation(engine, label, dims, b, b.silu.shift) : null;
  if (engine.preferTextures && groupNormTextureFits(engine, dims)) {
    groupNormBackwardTexture(engine, dims, b, sums, act);
  } else {
    backwardBuffers(engine, label, dims, b, sums, mod, act);
  }
  if (act) engine.release(act);
  engine.dispatch({
    label: `${label} (gamma, beta)`,
    code: PARAM_GRAD[mod ? 1 : 0],
    inputs: mod ? [sums, b.scale!] : [sums],
    outputs: [b.dgamma, b.dbeta],
    uniforms: { u: [N, C] },
    groups: groups1d(C),
  });
  engine.release(sums);
}

/** Records the [N·C] pre-activation coefficients (a, mean, b, 0) of a fused SiLU. */
function preActivation(
  engine: Engine,
  label: string,
  dims: { N: number; C: number; HW: number; G: number },
  b: GroupNormBackwardGpuArgs,
  shift: GPUBuffer | null,
): GPUBuffer {
  const { N, C, G } = dims;
  const mod = b.scale !== null;
  if (mod && !shift) throw new Error(`${label}: a fused SiLU with scale needs its shift`);
  const act = engine.alloc(N * C * 4 * 4);
  engine.dispatch({
    label: `${label} (pre-activation)`,
    code: PRE_ACTIVATION[mod ? 1 : 0],
    inputs: [b.stats, b.gamma, b.beta, ...(mod ? [b.scale!, shift!] : [])],
    outputs: [act],
    uniforms: { u: [N * C, G, C, C / G] },
    groups: groups1d(N * C),
  });
  return act;
}

/** The buffer path but dgamma/dbeta: channel sums, group coefficients (dscale, dshift), dx. */
function backwardBuffers(
  engine: Engine,
  label: string,
  dims: { N: number; C: number; HW: number; G: number },
  b: GroupNormBackwardGpuArgs,
  sums: GPUBuffer,
  mod: boolean,
  act: GPUBuffer | null,
): void {
  const { N, C, HW, G } = dims;
  const bcoef = engine.alloc(N * C * 4 * 4);
  const u = [0, G, C, C / G, HW];
  engine.dispatch({
    label: `${label} (channel sums)`,
    code: PLANE_SUMS[act ? 1 : 0],
    inputs: [b.x, b.gy, b.stats, ...(act ? [act] : [])],
    outputs: [sums],
    uniforms: { u: [N * C, ...u.slice(1)] },
    groups: groupsFlat(N * C),
  });
  engine.dispatch({
    label: `${label} (group coefficients)`,
    code: GROUP_COEF[mod ? 1 : 0],
    inputs: [sums, b.stats, b.gamma, b.beta, ...(mod ? [b.scale!] : [])],
    outputs: mod ? [bcoef, b.dmod!.dscale, b.dmod!.dshift] : [bcoef],
    uniforms: { u: [N * G, ...u.slice(1)] },
    groups: groups1d(N * G),
  });
  engine.dispatch({
    label: `${label} (dx)`,
    code: DX[act ? 1 : 0],
    inputs: [b.x, b.gy, bcoef, ...(act ? [act] : [])],
    outputs: [b.dx],
    uniforms: { u: [N * C * HW, HW] },
    groups: groups1d(N * C * HW),
  });
  engine.release(bcoef);
}
