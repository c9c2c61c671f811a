/**
 * Fill a buffer with one value (zeros, ones, or NaN poison for tests).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/** One u32 store per float, or where n is a multiple of 4 one vec4 (llvmpipe pays per store). */
function fillSource(vec4: boolean): string {
  return /* wgsl */ `
struct P { n: u32, bits: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<${vec4 ? "vec4u" : "u32"}>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  out[i] = ${vec4 ? "vec4u(p.bits)" : "p.bits"};
}`;
}

const CODE = [fillSource(false), fillSource(true)];

/** Writes `value` into the first `n` f32 slots of `buffer`. */
export function fillGpu(engine: Engine, buffer: GPUBuffer, n: number, value: number): void {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  const w = n % 4 === 0 ? 4 : 1;
  engine.dispatch({
    label: `fill n=${n}`,
    code: CODE[w === 4 ? 1 : 0],
    inputs: [],
    outputs: [buffer],
    uniforms: { u: [n / w, bits] },
    groups: groups1d(n / w),
  });
}
