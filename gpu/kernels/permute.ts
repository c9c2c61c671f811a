/**
 * The permute kernel: each invocation writes one output element, gathered from the input
 * at the permuted strides (dimensions merged where both layouts are contiguous).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

const codes = new Map<number, string>();

function source(D: number): string {
  const fields = ["n: u32"];
  for (let k = 1; k < D; k++) fields.push(`d${k}: u32`);
  for (let k = 0; k < D; k++) fields.push(`s${k}: u32`);
  const lines: string[] = [];
  for (let k = D - 1; k >= 1; k--) {
    lines.push(`off += (r % p.d${k}) * p.s${k}; r = r / p.d${k};`);
  }
  if (D > 0) lines.push("off += r * p.s0;");
  return /* wgsl */ `
struct P { ${fields.join(", ")} }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  var r = i;
  var off = 0u;
  ${lines.join("\n  ")}
  out[i] = x[off];
}`;
}

/**
 * Records out[i] = x[offset of i], `out` contiguous over `shape`.
 *
 * @param engine the engine
 * @param label op name and shapes, for errors
 * @param x input buffer
 * @param shape coalesced output shape (at most 6 dims)
 * @param strides input stride of each output dimension
 * @param out output buffer
 */
export function permuteGpu(
  engine: Engine,
  label: string,
  x: GPUBuffer,
  shape: readonly number[],
  strides: readonly number[],
  out: GPUBuffer,
): void {
  const D = shape.length;
  let code = codes.get(D);
  if (!code) codes.set(D, code = source(D));
  const n = shape.reduce((a, b) => a * b, 1);
  engine.dispatch({
    label,
    code,
    inputs: [x],
    outputs: [out],
    uniforms: { u: [n, ...shape.slice(1), ...strides] },
    groups: groups1d(n),
  });
}
