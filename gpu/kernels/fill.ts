/**
 * Fill a buffer with one value (zeros, ones, or NaN poison for tests).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

const CODE = /* wgsl */ `
struct P { n: u32, bits: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  out[i] = p.bits;
}`;

/** The same over vec4s (n a multiple of 4): llvmpipe pays per store, not per float. */
const CODE_VEC4 = /* wgsl */ `
struct P { n: u32, bits: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<vec4u>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  out[i] = vec4u(p.bits);
}`;

/** Writes `value` into the first `n` f32 slots of `buffer`. */
export function fillGpu(engine: Engine, buffer: GPUBuffer, n: number, value: number): void {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  const w = n % 4 === 0 ? 4 : 1;
  engine.dispatch({
    label: `fill n=${n}`,
    code: w === 4 ? CODE_VEC4 : CODE,
    inputs: [],
    outputs: [buffer],
    uniforms: { u: [n / w, bits] },
    groups: groups1d(n / w),
  });
}
