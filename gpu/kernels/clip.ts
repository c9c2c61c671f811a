/**
 * Global-norm clipping on the device: partial sums of squares of many tensors per dispatch
 * (one dispatch per group of up to 16 tensors, not one or two per tensor), then one
 * invocation adds them and writes min(1, maxNorm / (‖g‖₂ + 1e-6)), so the scale never leaves
 * the device.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/** Tensors per partial-sums dispatch at most (also one storage binding fewer than allowed). */
const GROUP = 16;

/** Floats one invocation sums (a chunk of one tensor). */
const CHUNK = 2048;

const partialCodes = new Map<number, string>();

/** WGSL: invocation i sums the squares of one CHUNK-float chunk of one of `n` tensors. */
function partialSource(n: number): string {
  const fields = ["count: u32", "base: u32"];
  for (let j = 0; j < n; j++) fields.push(`len${j}: u32`, `first${j}: u32`);
  const bindings = Array.from(
    { length: n },
    (_, j) => `@group(0) @binding(${j + 1}) var<storage, read> g${j}: array<f32>;`,
  );
  // The tensor of chunk i: the last j whose first chunk is ≤ i (chunks are in tensor order).
  const pick = Array.from(
    { length: n - 1 },
    (_, j) => `if (i >= p.first${j + 1}) { j = ${j + 1}u; }`,
  );
  const sums = Array.from(
    { length: n },
    (_, j) =>
      `if (j == ${j}u) { let a = (i - p.first${j}) * ${CHUNK}u; ` +
      `for (var k = a; k < min(a + ${CHUNK}u, p.len${j}); k++) { s = fma(g${j}[k], g${j}[k], s); } }`,
  );
  return /* wgsl */ `
struct P { ${fields.join(", ")} }
@group(0) @binding(0) var<uniform> p: P;
${bindings.join("\n")}
@group(0) @binding(${n + 1}) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  var j = 0u;
  ${pick.join("\n  ")}
  var s = 0.0;
  ${sums.join("\n  ")}
  partial[p.base + i] = s;
}`;
}

/**
 * Records the partial sums of squares of every tensor into one buffer (release it with
 * `engine.release`); their total is the squared global norm.
 *
 * @param engine the engine
 * @param tensors the buffers and their lengths in floats (each ≥ 1)
 * @returns the partials buffer and how many partials it holds
 */
export function sumSquaresPartialsGpu(
  engine: Engine,
  tensors: readonly { buffer: GPUBuffer; length: number }[],
): { partials: GPUBuffer; count: number } {
  const chunks = tensors.map((t) => Math.ceil(t.length / CHUNK));
  const count = chunks.reduce((a, b) => a + b, 0);
  const partials = engine.alloc(count * 4);
  const per = Math.min(GROUP, engine.device.limits.maxStorageBuffersPerShaderStage - 1);
  let base = 0;
  for (let g0 = 0; g0 < tensors.length; g0 += per) {
    const group = tensors.slice(g0, g0 + per);
    let code = partialCodes.get(group.length);
    if (!code) partialCodes.set(group.length, code = partialSource(group.length));
    const u = [0, base];
    let first = 0;
    group.forEach((t, j) => {
      u.push(t.length, first);
      first += chunks[g0 + j];
    });
    u[0] = first;
    engine.dispatch({
      label: `clipScale: sums of squares of ${group.length} tensors (${first} chunks)`,
      code,
      inputs: group.map((t) => t.buffer),
      outputs: [partials],
      uniforms: { u },
      groups: groups1d(first),
    });
    base += first;
  }
  return { partials, count };
}

// One active invocation: the partial sums are a few per parameter tensor (hundreds at most).
const CODE = /* wgsl */ `
struct P { count: u32, maxNorm: f32, eps: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> sums: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x != 0u) { return; }
  var total = 0.0;
  for (var j = 0u; j < p.count; j++) { total += sums[j]; }
  out[0] = min(1.0, p.maxNorm / (sqrt(total) + p.eps));
}`;

/**
 * Records out[0] = min(1, maxNorm / (√Σ sums + eps)).
 *
 * @param engine the engine
 * @param sums buffer of `count` sums of squares
 * @param count number of sums
 * @param out one-float output buffer
 * @param maxNorm the clipping threshold
 * @param eps added to the norm (1e-6, as torch's clip_grad_norm_)
 */
export function clipScaleGpu(
  engine: Engine,
  sums: GPUBuffer,
  count: number,
  out: GPUBuffer,
  maxNorm: number,
  eps: number,
): void {
  engine.dispatch({
    label: `clipScale count=${count}`,
    code: CODE,
    inputs: [sums],
    outputs: [out],
    uniforms: { u: [count], f: [maxNorm, eps] },
    groups: [1],
  });
}
