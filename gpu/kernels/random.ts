/**
 * Random tensors from Philox4x32-10: element i draws from counter (offset + i, stream, 0, 0) under
 * key (seed lo, seed hi), so the values do not depend on the dispatch layout.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d } from "./common.ts";
import { philoxKernel } from "./philox.ts";

/** What a random kernel writes per element. */
export type RandomKind = "uniform" | "normal" | "bernoulli" | "bits";

/** Per kind: WGSL that stores element i from the Philox words `w` (vec4u). */
const STORE: Record<RandomKind, string> = {
  uniform: "out[i] = philox_unit(w.x);",
  // θ in (−π, π], where WGSL's cos accuracy is specified; the sign flip leaves N(0, 1) as is.
  normal: `let r = sqrt(2.0 * philox_neg_log_unit(w.x));
  out[i] = r * cos(6.283185307179586 * philox_unit(w.y) - 3.141592653589793);`,
  bernoulli: "out[i] = select(0.0, 1.0, philox_steps(w.x) <= p.threshold);",
  // Test hook: the four raw words, bit-cast, at 4i .. 4i + 3.
  bits: "out[4u * i] = bitcast<f32>(w.x); out[4u * i + 1u] = bitcast<f32>(w.y);\n" +
    "  out[4u * i + 2u] = bitcast<f32>(w.z); out[4u * i + 3u] = bitcast<f32>(w.w);",
};

const codes = new Map<RandomKind, string>();

function source(kind: RandomKind): string {
  return philoxKernel(
    /* wgsl */ `
struct P { n: u32, k0: u32, k1: u32, stream: u32, threshold: u32, offset: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;`,
    STORE[kind],
  );
}

/**
 * Records a dispatch that fills `n` elements of `out` with draws of one kind.
 *
 * @param engine the engine
 * @param kind uniform in (0, 1], standard normal, Bernoulli 0/1, or raw words (4 per element)
 * @param out output buffer (n floats, or 4n for "bits")
 * @param n number of elements
 * @param key Philox key (seed lo, seed hi)
 * @param stream counter word 1
 * @param threshold Bernoulli: 1 where k ≤ threshold (see bernoulliThreshold)
 * @param offset counter of element 0: a slice of a larger draw continues its counters
 */
export function randomGpu(
  engine: Engine,
  kind: RandomKind,
  out: GPUBuffer,
  n: number,
  key: readonly [number, number],
  stream: number,
  threshold = 0,
  offset = 0,
): void {
  let code = codes.get(kind);
  if (!code) codes.set(kind, code = source(kind));
  engine.dispatch({
    label: `random.${kind} n=${n}`,
    code,
    inputs: [],
    outputs: [out],
    uniforms: { u: [n, key[0], key[1], stream, threshold, offset] },
    groups: groups1d(n),
  });
}
