/**
 * Philox4x32-10 in WGSL (Salmon et al. 2011), the twin of src/cpu/philox.ts bit for bit.
 * WGSL has no u64, so the 32×32→64-bit products are built from 16-bit halves.
 *
 * @module
 */
import { INDEX } from "./common.ts";

/**
 * WGSL functions: `philox4x32_10(ctr: vec4u, key: vec2u) -> vec4u` and
 * `philox_unit(w: u32) -> f32`, the uniform k/2²⁴ in (0, 1] with k = (w >> 8) + 1, and
 * `philox_steps(w: u32) -> u32`, that k (Bernoulli draws compare it with an integer), and
 * `philox_neg_log_unit(w: u32) -> f32`, −ln of that uniform, accurate near u = 1.
 */
export const PHILOX = /* wgsl */ `
fn philox_mulhilo(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2u(a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), a * b);
}
fn philox4x32_10(ctr: vec4u, key: vec2u) -> vec4u {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k += vec2u(0x9e3779b9u, 0xbb67ae85u); }
    let p0 = philox_mulhilo(0xd2511f53u, c.x);
    let p1 = philox_mulhilo(0xcd9e8d57u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}
fn philox_steps(w: u32) -> u32 { return (w >> 8u) + 1u; }
fn philox_unit(w: u32) -> f32 { return f32(philox_steps(w)) * (1.0 / 16777216.0); }
// −ln(u) for u = philox_unit(w). GPU log keeps only ~2⁻²¹ absolute accuracy near 1, so
// there −ln(1 − d) = d + d²/2 + … with d = 1 − u exact (truncation < 1e-10 relative).
fn philox_neg_log_unit(w: u32) -> f32 {
  let k = philox_steps(w);
  let d = f32(16777216u - k) * (1.0 / 16777216.0);
  if (d < 0.015625) {
    return d * (1.0 + d * (0.5 + d * (1.0 / 3.0 + d * (0.25 + d * 0.2))));
  }
  return -log(f32(k) * (1.0 / 16777216.0));
}
`;

/**
 * WGSL of a 1-D kernel over `p.n` elements where element i draws the Philox words `w` from
 * counter (i + p.offset, p.stream, 0, 0) under key (p.k0, p.k1), then runs `body`; the draws thus do not
 * depend on the dispatch layout.
 *
 * @param decls the uniform struct `P` (with n, k0, k1, stream, offset) and the bindings
 * @param body WGSL statements that use `i` and `w`
 * @returns the kernel source
 */
export function philoxKernel(decls: string, body: string): string {
  return /* wgsl */ `${decls}
${PHILOX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let w = philox4x32_10(vec4u(i + p.offset, p.stream, 0u, 0u), vec2u(p.k0, p.k1));
  ${body}
}`;
}
