/**
 * The block-copy kernel behind concat and slice (layout in src/block_copy.ts): one
 * invocation per copied element.
 *
 * @module
 */
import type { BlockCopy } from "../../src/block_copy.ts";
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
  engine.dispatch({
    label,
    code: CODE,
    inputs: [src],
    outputs: [dst],
    uniforms: { u: [n, b.cols, b.srcRow, b.srcOff, b.dstRow, b.dstOff] },
    groups: groups1d(n),
  });
}
