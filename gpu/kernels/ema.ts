/**
 * Exponential moving average in place: ema ← ema + (1 − β)(param − ema).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

// The lerp form keeps a constant parameter a fixed point; β·ema + (1 − β)·param with both
// coefficients rounded to f32 would drift by ~1e-7/(1 − β) relative.
const CODE = /* wgsl */ `
struct P { n: u32, w: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> ema: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let e = ema[i];
  ema[i] = e + p.w * (param[i] - e);
}`;

/**
 * Records ema ← ema + w·(param − ema) over `n` elements.
 *
 * @param engine the engine
 * @param ema average buffer (updated)
 * @param param parameter buffer
 * @param n number of elements
 * @param w 1 − β
 */
export function emaGpu(
  engine: Engine,
  ema: GPUBuffer,
  param: GPUBuffer,
  n: number,
  w: number,
): void {
  engine.dispatch({
    label: `ema n=${n}`,
    code: CODE,
    inputs: [param],
    outputs: [ema],
    uniforms: { u: [n], f: [w] },
    groups: groups1d(n),
  });
}
