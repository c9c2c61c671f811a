/**
 * Dropout with the mask drawn in the kernel: y = x · mask · s, where element i keeps its
 * value if word i mod 4 of Philox at counter (offset4 + ⌊i/4⌋, stream) gives k ≤ threshold: one
 * Philox call (the kernel's cost) per 4 elements. The backward is the same kernel on the
 * gradient, so the mask is regenerated, never stored.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";
import { PHILOX } from "./philox.ts";

/**
 * The kernel: invocation i draws Philox at (i, stream) for elements 4i..4i+3, as scalars or,
 * where n is a multiple of 4, as one vec4 (a vector load and store per call).
 */
function dropoutSource(vec4: boolean): string {
  // Multiply (not select the value) so a NaN in a dropped element still shows, as in torch.
  const body = vec4
    ? `let k = vec4u(philox_steps(w.x), philox_steps(w.y), philox_steps(w.z), philox_steps(w.w));
  out[i] = x[i] * select(vec4f(0.0), vec4f(p.s), k <= vec4u(p.threshold));`
    : `for (var j = 0u; j < 4u; j++) {
    let e = 4u * i + j;
    if (e < p.n) { out[e] = x[e] * select(0.0, p.s, philox_steps(w[j]) <= p.threshold); }
  }`;
  const t = vec4 ? "vec4f" : "f32";
  return /* wgsl */ `
struct P { n: u32, k0: u32, k1: u32, stream: u32, threshold: u32, offset: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
${PHILOX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (4u * i >= p.n) { return; }
  let w = philox4x32_10(vec4u(i + p.offset, p.stream, 0u, 0u), vec2u(p.k0, p.k1));
  ${body}
}`;
}

const CODE = [dropoutSource(false), dropoutSource(true)];

/**
 * Records out[i] = x[i] · (kept ? s : 0).
 *
 * @param engine the engine
 * @param x input buffer
 * @param out output buffer
 * @param n number of elements
 * @param key Philox key (seed lo, seed hi)
 * @param stream counter word 1
 * @param threshold keep where k ≤ threshold (bernoulliThreshold(1 − p))
 * @param s scale of kept elements, 1/(1 − p)
 * @param offset4 counter of elements 0..3: a slice of a larger tensor continues its masks
 */
export function dropoutGpu(
  engine: Engine,
  x: GPUBuffer,
  out: GPUBuffer,
  n: number,
  key: readonly [number, number],
  stream: number,
  threshold: number,
  s: number,
  offset4 = 0,
): void {
  engine.dispatch({
    label: `dropout n=${n}`,
    code: CODE[n % 4 === 0 ? 1 : 0],
    inputs: [x],
    outputs: [out],
    uniforms: { u: [n, key[0], key[1], stream, threshold, offset4], f: [s] },
    groups: groups1d(Math.ceil(n / 4)),
  });
}
