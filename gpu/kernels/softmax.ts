/**
 * Softmax kernels over the last axis: one invocation per row (rows are many and short in
 * attention, so no cross-invocation reduction is needed).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

const FORWARD = /* wgsl */ `
struct P { rows: u32, len: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.rows) { return; }
  let base = i * p.len;
  // Subtracting the row maximum keeps exp() from overflowing.
  var mx = x[base];
  for (var j = 1u; j < p.len; j++) { mx = max(mx, x[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.len; j++) {
    let e = exp(x[base + j] - mx);
    y[base + j] = e;
    s += e;
  }
  let inv = 1.0 / s;
  for (var j = 0u; j < p.len; j++) { y[base + j] *= inv; }
}`;

const BACKWARD = /* wgsl */ `
struct P { rows: u32, len: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.rows) { return; }
  let base = i * p.len;
  var s = 0.0;
  for (var j = 0u; j < p.len; j++) { s += g[base + j] * y[base + j]; }
  for (var j = 0u; j < p.len; j++) { dx[base + j] = y[base + j] * (g[base + j] - s); }
}`;

/**
 * Records y = softmax(x) along rows of length `len`.
 *
 * @param engine the engine
 * @param label op name and shape, for errors
 * @param x input buffer
 * @param y output buffer
 * @param rows number of rows
 * @param len row length (≥ 1)
 */
export function softmaxGpu(
  engine: Engine,
  label: string,
  x: GPUBuffer,
  y: GPUBuffer,
  rows: number,
  len: number,
): void {
  engine.dispatch({
    label,
    code: FORWARD,
    inputs: [x],
    outputs: [y],
    uniforms: { u: [rows, len] },
    groups: groups1d(rows),
  });
}

/**
 * Records dx = y ⊙ (g − Σ g⊙y) along rows of length `len`.
 *
 * @param engine the engine
 * @param label op name and shape, for errors
 * @param y softmax output buffer
 * @param g output-gradient buffer
 * @param dx input-gradient buffer
 * @param rows number of rows
 * @param len row length
 */
export function softmaxBackwardGpu(
  engine: Engine,
  label: string,
  y: GPUBuffer,
  g: GPUBuffer,
  dx: GPUBuffer,
  rows: number,
  len: number,
): void {
  engine.dispatch({
    label,
    code: BACKWARD,
    inputs: [y, g],
    outputs: [dx],
    uniforms: { u: [rows, len] },
    groups: groups1d(rows),
  });
}
