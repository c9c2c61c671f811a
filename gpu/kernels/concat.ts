/**
 * The block-copy kernel behind concat and slice (layout in src/layout/block_copy.ts): one
 * invocation per copied element, or per 4 elements (vec4 loads and stores) where every run
 * length, row length and offset is a multiple of 4, since llvmpipe pays per buffer access.
 *
 * @module
 */
import type { BlockCopy } from "../../src/layout/block_copy.ts";
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

const CODE = /* wgsl */ `
struct P { n: u32, cols: u32, srcRow: u32, srcOff: u32, dstRow: u32, dstOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let r = i / p.cols;
  let j = i - r * p.cols;
  dst[r * p.dstRow + p.dstOff + j] = src[r * p.srcRow + p.srcOff + j];
}`;

/** The same copy over vec4s: every field of P counts vec4s. */
const CODE_VEC4 = /* wgsl */ `
struct P { n: u32, cols: u32, srcRow: u32, srcOff: u32, dstRow: u32, dstOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let r = i / p.cols;
  let j = i - r * p.cols;
  dst[r * p.dstRow + p.dstOff + j] = src[r * p.srcRow + p.srcOff + j];
}`;

/**
 * Records one block copy from `src` into `dst` (the rest of `dst` is left as it is).
 *
 * @param engine the engine
 * @param label op name and shapes, for errors
 * @param src source buffer
 * @param dst destination buffer
 * @param b the block
 */
export function copyBlockGpu(
  engine: Engine,
  label: string,
  src: GPUBuffer,
  dst: GPUBuffer,
  b: BlockCopy,
): void {
  const n = b.rows * b.cols;
  if (n === 0) return;
  const layout = [b.cols, b.srcRow, b.srcOff, b.dstRow, b.dstOff];
  // Pool buffers are whole multiples of 16 bytes, so vec4 bindings always validate.
  const w = layout.every((v) => v % 4 === 0) ? 4 : 1;
  engine.dispatch({
    label,
    code: w === 4 ? CODE_VEC4 : CODE,
    inputs: [src],
    outputs: [dst],
    uniforms: { u: [n / w, ...layout.map((v) => v / w)] },
    groups: groups1d(n / w),
  });
}
