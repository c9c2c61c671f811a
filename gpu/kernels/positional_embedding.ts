/**
 * The sinusoidal positional embedding: out[n] = [cos(x[n]·f), sin(x[n]·f)] for the
 * frequency vector f (computed on the host, uploaded once per configuration), and its
 * backward dx[n] = Σ_j f_j·(−sin φ·g_cos + cos φ·g_sin). WGSL only promises sin/cos
 * accuracy on [−π, π], so the phase is first reduced modulo 2π (Cody–Waite, two parts).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/** φ − 2πk with k = round(φ/2π); 6.28125 has 8 significant bits, so k·6.28125 is exact. */
const REDUCE = /* wgsl */ `
fn reduce2pi(phi: f32) -> f32 {
  let k = round(phi * 0.15915494309189535);
  return (phi - k * 6.28125) - k * 0.0019353071795864769;
}`;

const FORWARD = /* wgsl */ `
struct P { n: u32, half: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> freqs: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${REDUCE}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let s = i / p.half;
  let j = i % p.half;
  let t = reduce2pi(x[s] * freqs[j]);
  out[2u * s * p.half + j] = cos(t);
  out[(2u * s + 1u) * p.half + j] = sin(t);
}`;

const BACKWARD = /* wgsl */ `
struct P { n: u32, half: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> freqs: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
${REDUCE}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let xi = x[i];
  let base = 2u * i * p.half;
  var acc = 0.0;
  for (var j = 0u; j < p.half; j++) {
    let f = freqs[j];
    let t = reduce2pi(xi * f);
    acc += f * (cos(t) * g[base + p.half + j] - sin(t) * g[base + j]);
  }
  dx[i] = acc;
}`;

/** The frequencies as a GPU buffer, uploaded the first time `key` is seen on this engine. */
const frequencies = (engine: Engine, key: string, freqs: Float64Array): GPUBuffer =>
  engine.constant(`positional embedding ${key}`, () => Float32Array.from(freqs));

/**
 * Records out [N, 2·half] = [cos(x ⊗ freqs), sin(x ⊗ freqs)].
 *
 * @param engine the engine
 * @param x positions [N]
 * @param N number of positions
 * @param freqs frequencies [half] (rounded to f32 on upload)
 * @param key identifies `freqs` (their values never change for one key)
 * @param out output [N, 2·half]
 */
export function positionalEmbeddingGpu(
  engine: Engine,
  x: GPUBuffer,
  N: number,
  freqs: Float64Array,
  key: string,
  out: GPUBuffer,
): void {
  const half = freqs.length;
  engine.dispatch({
    label: `positionalEmbedding N=${N} channels=${2 * half}`,
    code: FORWARD,
    inputs: [x, frequencies(engine, key, freqs)],
    outputs: [out],
    uniforms: { u: [N * half, half] },
    groups: groups1d(N * half),
  });
}

/**
 * Records dx[n] = Σ_j f_j·(cos φ·g[n, half + j] − sin φ·g[n, j]), φ = x[n]·f_j.
 *
 * @param engine the engine
 * @param x positions [N]
 * @param N number of positions
 * @param freqs frequencies [half]
 * @param key identifies `freqs`
 * @param g gradient of the output [N, 2·half]
 * @param dx output [N]
 */
export function positionalEmbeddingBackwardGpu(
  engine: Engine,
  x: GPUBuffer,
  N: number,
  freqs: Float64Array,
  key: string,
  g: GPUBuffer,
  dx: GPUBuffer,
): void {
  const half = freqs.length;
  engine.dispatch({
    label: `positionalEmbedding.backward N=${N} channels=${2 * half}`,
    code: BACKWARD,
    inputs: [x, frequencies(engine, key, freqs), g],
    outputs: [dx],
    uniforms: { u: [N, half] },
    groups: groups1d(N),
  });
}
