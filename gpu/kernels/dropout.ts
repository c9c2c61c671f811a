/**
 * Dropout with the mask drawn in the kernel: y = x · mask · s, mask = (k ≤ threshold) from
 * Philox at (i, stream) under the seed's key. The backward is the same kernel on the
 * gradient, so the mask is regenerated, never stored.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d } from "./common.ts";
import { philoxKernel } from "./philox.ts";

const CODE = philoxKernel(
  /* wgsl */ `
struct P { n: u32, k0: u32, k1: u32, stream: u32, threshold: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`,
  // Multiply (not select the value) so a NaN in a dropped element still shows, as in torch.
  "out[i] = x[i] * select(0.0, p.s, philox_steps(w.x) <= p.threshold);",
);

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
): void {
  engine.dispatch({
    label: `dropout n=${n}`,
    code: CODE,
    inputs: [x],
    outputs: [out],
    uniforms: { u: [n, key[0], key[1], stream, threshold], f: [s] },
    groups: groups1d(n),
  });
}
