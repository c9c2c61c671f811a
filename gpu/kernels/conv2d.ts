/**
 * conv2d kernels (stride 1, zero padding k//2, NCHW, weights [Cout, Cin, k, k]), generated
 * per kernel size so every tap loop unrolls into registers:
 * - a gather kernel, out[o] = Σ_i in[i] ⋆ W(o, i), used for the forward (W = w) and for the
 *   input gradient (W = w with channels swapped and taps flipped); each invocation computes
 *   4 output channels × 4 adjacent pixels of a row, reusing each loaded input value k times;
 * - a weight-gradient kernel: each invocation sums 4 output channels × one input channel ×
 *   k² taps over a chunk of image rows, sliding a k×k window of inputs along each row; chunk
 *   partial sums are then added by the reduction kernel.
 *
 * Where `engine.preferTextures` is set (llvmpipe/lavapipe) and the sizes fit, the entry points
 * use the texture kernels of conv2d_texture.ts instead (4–9× faster there), and for 3×3
 * kernels Winograd F(4×4, 3×3) (conv2d_winograd.ts; another 1.0–2.6× there) where it measured
 * faster: the forward and input gradient with ≥ 64 channels on both sides, the weight gradient
 * with ≥ 32.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";
import {
  gatherFits,
  gatherTexture,
  weightGradFits,
  weightGradTexture,
} from "./lavapipe/conv2d_texture.ts";
import {
  winogradFits,
  winogradPays,
  winogradTexture,
  winogradWeightGrad,
  winogradWeightGradFits,
  winogradWeightGradPays,
} from "./lavapipe/conv2d_winograd.ts";
import { planReduce } from "../../src/layout/reduce_plan.ts";
import { reduceGpu, sumChunksGpu } from "./reduce.ts";

/** Output channels per invocation (one vec4 accumulator per pixel or tap). */
const CO = 4;
/** Adjacent pixels of a row per invocation in the gather kernel. */
const PX = 4;
/** Weight-gradient invocations we aim for before splitting rows into more chunks. */
const TARGET_INVOCATIONS = 2048;

/** Sizes of one convolution: x [n, cin, h, w], weight [cout, cin, k, k], y [n, cout, h, w]. */
export interface Conv2dGpuDims {
  /** Batch size N. */
  n: number;
  /** Input channels. */
  cin: number;
  /** Output channels. */
  cout: number;
  /** Image height. */
  h: number;
  /** Image width. */
  w: number;
  /** Kernel size (odd). */
  k: number;
}

const codes = new Map<string, string>();

function cached(key: string, make: () => string): string {
  let code = codes.get(key);
  if (!code) codes.set(key, code = make());
  return code;
}

/** Reads of 4 consecutive channels through clamped offsets, so the tail tile stays in bounds. */
function vec4Load(buf: string, base: string, off: string): string {
  return `vec4f(${buf}[${base}.x + ${off}], ${buf}[${base}.y + ${off}], ` +
    `${buf}[${base}.z + ${off}], ${buf}[${base}.w + ${off}])`;
}

function gatherSource(k: number, flip: boolean, bias: boolean): string {
  const pad = (k - 1) >> 1;
  const win = PX + k - 1;
  const lines: string[] = [];
  for (let j = 0; j < win; j++) {
    lines.push(
      `let c${j} = i32(x0) + ${j - pad};`,
      `let ok${j} = c${j} >= 0 && c${j} < i32(p.W);`,
      `let u${j} = u32(clamp(c${j}, 0, i32(p.W) - 1));`,
    );
  }
  const loads = Array.from(
    { length: win },
    (_, j) => `let v${j} = select(0.0, xin[xr + u${j}], ok${j});`,
  );
  const fmas: string[] = [];
  for (let kx = 0; kx < k; kx++) {
    const tap = flip ? k - 1 - kx : kx;
    fmas.push(`let w${kx} = ${vec4Load("wt", "wr", `${tap}u`)};`);
    for (let px = 0; px < PX; px++) fmas.push(`a${px} += w${kx} * v${px + kx};`);
  }
  const init = bias ? vec4Load("bias", "oc", "n * p.biasStride") : "vec4f(0.0)";
  const writes: string[] = [];
  for (let px = 0; px < PX; px++) {
    writes.push(`if (x0 + ${px}u < p.W) {`);
    for (let c = 0; c < CO; c++) {
      writes.push(`  if (o0 + ${c}u < p.O) { out[ob + ${c}u * hw + ${px}u] = a${px}[${c}]; }`);
    }
    writes.push("}");
  }
  const rowTap = flip ? `(${k - 1}u - ky) * ${k}u` : `ky * ${k}u`;
  return /* wgsl */ `
struct P { total: u32, I: u32, O: u32, H: u32, W: u32, xg: u32, cg: u32, wo: u32, wi: u32,
           biasStride: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
${bias ? "@group(0) @binding(3) var<storage, read> bias: array<f32>;" : ""}
@group(0) @binding(${bias ? 4 : 3}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.total) { return; }
  let x0 = (i % p.xg) * ${PX}u;
  var r = i / p.xg;
  let oy = r % p.H;
  r = r / p.H;
  let o0 = (r % p.cg) * ${CO}u;
  let n = r / p.cg;
  let hw = p.H * p.W;
  let last = p.O - 1u;
  let oc = vec4u(min(o0, last), min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last));
  ${lines.join("\n  ")}
  let a_init = ${init};
  var a0 = a_init; var a1 = a_init; var a2 = a_init; var a3 = a_init;
  for (var ky = 0u; ky < ${k}u; ky++) {
    let iy = i32(oy) + i32(ky) - ${pad};
    if (iy < 0 || iy >= i32(p.H)) { continue; }
    var xr = n * p.I * hw + u32(iy) * p.W;
    var wr = oc * p.wo + vec4u(${rowTap});
    for (var ci = 0u; ci < p.I; ci++) {
      ${loads.join("\n      ")}
      ${fmas.join("\n      ")}
      xr += hw;
      wr += vec4u(p.wi);
    }
  }
  let ob = (n * p.O + o0) * hw + oy * p.W + x0;
  ${writes.join("\n  ")}
}`;
}

/**
 * Records out[n, o, :, :] = (bias[o] or, with biasPerImage, bias[n, o]) + Σ_i in[n, i] ⋆ W(o, i)
 * with W's strides and flip.
 */
function gather(
  engine: Engine,
  label: string,
  input: GPUBuffer,
  weight: GPUBuffer,
  bias: GPUBuffer | null,
  out: GPUBuffer,
  s: { n: number; i: number; o: number; h: number; w: number; k: number },
  flip: boolean,
  biasPerImage = false,
): void {
  const code = cached(
    `gather/${s.k}/${flip}/${bias !== null}`,
    () => gatherSource(s.k, flip, bias !== null),
  );
  const xg = Math.ceil(s.w / PX);
  const cg = Math.ceil(s.o / CO);
  const total = s.n * cg * s.h * xg;
  const kk = s.k * s.k;
  // Forward reads w[o, i]; the input gradient reads w[i, o] (channels swapped).
  const [wo, wi] = flip ? [kk, s.o * kk] : [s.i * kk, kk];
  engine.dispatch({
    label,
    code,
    inputs: bias ? [input, weight, bias] : [input, weight],
    outputs: [out],
    uniforms: { u: [total, s.i, s.o, s.h, s.w, xg, cg, wo, wi, biasPerImage ? s.o : 0] },
    groups: groups1d(total),
  });
}

function describe(d: Conv2dGpuDims): string {
  return `x [${d.n},${d.cin},${d.h},${d.w}] w [${d.cout},${d.cin},${d.k},${d.k}]`;
}

/**
 * Records y = conv2d(x, w) + b.
 *
 * @param engine the engine
 * @param x input [n, cin, h, w]
 * @param w weight [cout, cin, k, k]
 * @param b bias [cout], or [n, cout] with `biasPerImage`, or null
 * @param y output [n, cout, h, w]
 * @param d sizes
 * @param biasPerImage b holds one row of cout values per image
 */
export function conv2dGpu(
  engine: Engine,
  x: GPUBuffer,
  w: GPUBuffer,
  b: GPUBuffer | null,
  y: GPUBuffer,
  d: Conv2dGpuDims,
  biasPerImage = false,
): void {
  const s = { n: d.n, i: d.cin, o: d.cout, h: d.h, w: d.w, k: d.k };
  const label = `conv2d ${describe(d)}${biasPerImage ? " + b[n]" : ""}`;
  if (engine.preferTextures && winogradPays(s) && winogradFits(engine, s)) {
    winogradTexture(engine, label, x, w, b, y, s, false, biasPerImage);
  } else if (engine.preferTextures && gatherFits(engine, s)) {
    gatherTexture(engine, label, x, w, b, y, s, false, biasPerImage);
  } else gather(engine, label, x, w, b, y, s, false, biasPerImage);
}

/**
 * Records dx = ∂L/∂x from dy: the "same" convolution of dy with w's channels swapped and
 * taps flipped.
 *
 * @param engine the engine
 * @param dy output gradient [n, cout, h, w]
 * @param w weight [cout, cin, k, k]
 * @param dx input gradient [n, cin, h, w]
 * @param d sizes
 */
export function conv2dInputGradGpu(
  engine: Engine,
  dy: GPUBuffer,
  w: GPUBuffer,
  dx: GPUBuffer,
  d: Conv2dGpuDims,
): void {
  const s = { n: d.n, i: d.cout, o: d.cin, h: d.h, w: d.w, k: d.k };
  const label = `conv2d.inputGrad ${describe(d)}`;
  if (engine.preferTextures && winogradPays(s) && winogradFits(engine, s)) {
    winogradTexture(engine, label, dy, w, null, dx, s, true);
  } else if (engine.preferTextures && gatherFits(engine, s)) {
    gatherTexture(engine, label, dy, w, null, dx, s, true);
  } else gather(engine, label, dy, w, null, dx, s, true);
}

function weightGradSource(k: number): string {
  const pad = (k - 1) >> 1;
  const rows: string[] = [];
  for (let ky = 0; ky < k; ky++) {
    rows.push(
      `let iy${ky} = i32(oy) + ${ky - pad};`,
      `let rok${ky} = iy${ky} >= 0 && iy${ky} < i32(p.H);`,
      `let rb${ky} = xn + u32(clamp(iy${ky}, 0, i32(p.H) - 1)) * p.W;`,
    );
  }
  const load = (ky: number, kx: number, col: string) =>
    `m${ky}_${kx} = load(rb${ky}, rok${ky}, ${col});`;
  const decl: string[] = [];
  const pre: string[] = [];
  const step: string[] = [];
  const shift: string[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) decl.push(`var m${ky}_${kx} = 0.0;`);
    // The window's column kx holds input column ox + kx − pad; preload all but the last.
    for (let kx = 0; kx < k - 1; kx++) pre.push(load(ky, kx, `${kx - pad}`));
    step.push(load(ky, k - 1, `i32(ox) + ${k - 1 - pad}`));
    for (let kx = 0; kx < k - 1; kx++) shift.push(`m${ky}_${kx} = m${ky}_${kx + 1};`);
  }
  const fmas: string[] = [];
  const accs: string[] = [];
  const writes: string[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const t = ky * k + kx;
      accs.push(`var a${t} = vec4f(0.0);`);
      fmas.push(`a${t} += g * m${ky}_${kx};`);
      for (let c = 0; c < CO; c++) {
        writes.push(
          `if (o0 + ${c}u < p.O) { out[ob + ${c}u * p.I * ${k * k}u + ${t}u] = a${t}[${c}]; }`,
        );
      }
    }
  }
  return /* wgsl */ `
struct P { total: u32, I: u32, O: u32, H: u32, W: u32, cg: u32, rows: u32, nh: u32, outs: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
fn load(rb: u32, rok: bool, c: i32) -> f32 {
  let ok = rok && c >= 0 && c < i32(p.W);
  return select(0.0, xin[rb + u32(clamp(c, 0, i32(p.W) - 1))], ok);
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.total) { return; }
  let ci = i % p.I;
  var r = i / p.I;
  let o0 = (r % p.cg) * ${CO}u;
  let chunk = r / p.cg;
  let last = p.O - 1u;
  let oc = vec4u(min(o0, last), min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last));
  let hw = p.H * p.W;
  ${accs.join("\n  ")}
  ${decl.join("\n  ")}
  let r1 = min(chunk * p.rows + p.rows, p.nh);
  for (var row = chunk * p.rows; row < r1; row++) {
    let n = row / p.H;
    let oy = row % p.H;
    let xn = (n * p.I + ci) * hw;
    let gb = (n * p.O + oc) * hw + vec4u(oy * p.W);
    ${rows.join("\n    ")}
    ${pre.join("\n    ")}
    for (var ox = 0u; ox < p.W; ox++) {
      let g = ${vec4Load("dy", "gb", "ox")};
      ${step.join("\n      ")}
      ${fmas.join("\n      ")}
      ${shift.join("\n      ")}
    }
  }
  let ob = chunk * p.outs + (o0 * p.I + ci) * ${k * k}u;
  ${writes.join("\n  ")}
}`;
}

/**
 * How many row chunks the weight gradient splits N·H rows into: enough invocations to fill
 * the device, no more (each chunk adds a partial dw to sum).
 *
 * @param d sizes
 * @param maxChunks upper bound (1 forces a single pass)
 * @returns rows per chunk and chunk count
 */
export function weightGradChunks(
  d: Conv2dGpuDims,
  maxChunks = Infinity,
): { rows: number; chunks: number } {
  const nh = d.n * d.h;
  const outs = Math.ceil(d.cout / CO) * d.cin;
  const want = Math.min(nh, maxChunks, Math.ceil(TARGET_INVOCATIONS / Math.max(1, outs)));
  const rows = Math.max(1, Math.ceil(nh / Math.max(1, want)));
  return { rows, chunks: Math.max(1, Math.ceil(nh / rows)) };
}

/**
 * Records dw = ∂L/∂w = Σ_{n, pixels} dy ⊗ shifted x: per-chunk partial sums over image rows,
 * then one reduction over the chunks (skipped when one chunk suffices); and, when `db` is
 * given, db = ∂L/∂b = Σ_{n, pixels} dy (inside the texture kernel, else a reduction).
 *
 * @param engine the engine
 * @param x input [n, cin, h, w]
 * @param dy output gradient [n, cout, h, w]
 * @param dw weight gradient [cout, cin, k, k]
 * @param db bias gradient [cout], or null to skip it
 * @param d sizes
 * @param maxChunks cap on row chunks (tests force 1 to cover the single-pass path)
 */
export function conv2dWeightGradGpu(
  engine: Engine,
  x: GPUBuffer,
  dy: GPUBuffer,
  dw: GPUBuffer,
  db: GPUBuffer | null,
  d: Conv2dGpuDims,
  maxChunks = Infinity,
): void {
  const label = `conv2d.weightGrad ${describe(d)}`;
  if (engine.preferTextures && winogradWeightGradPays(d) && winogradWeightGradFits(engine, d)) {
    winogradWeightGrad(engine, label, x, dy, dw, db, d);
    return;
  }
  if (engine.preferTextures && weightGradFits(engine, d)) {
    weightGradTexture(engine, x, dy, dw, db, d, label, maxChunks);
    return;
  }
  if (db) {
    const plan = planReduce([d.n, d.cout, d.h * d.w], [0, 2]);
    reduceGpu(engine, `${label} (bias)`, dy, plan, false, db);
  }
  const code = cached(`wgrad/${d.k}`, () => weightGradSource(d.k));
  const { rows, chunks } = weightGradChunks(d, maxChunks);
  const cg = Math.ceil(d.cout / CO);
  const outs = d.cout * d.cin * d.k * d.k;
  const total = chunks * cg * d.cin;
  const target = chunks === 1 ? dw : engine.alloc(chunks * outs * 4);
  engine.dispatch({
    label,
    code,
    inputs: [x, dy],
    outputs: [target],
    uniforms: { u: [total, d.cin, d.cout, d.h, d.w, cg, rows, d.n * d.h, outs] },
    groups: groups1d(total),
  });
  if (chunks === 1) return;
  sumChunksGpu(engine, label, target, chunks, outs, dw);
  engine.release(target);
}
