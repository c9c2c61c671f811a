/**
 * Global-norm clipping on the device: partial sums of squares of many tensors per dispatch
 * (multi_tensor.ts), then one invocation adds them and writes min(1, maxNorm / (‖g‖₂ + 1e-6)),
 * so the scale never leaves the device.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { multiTensorChunks, multiTensorGpu, type MultiTensorOp } from "./multi_tensor.ts";

/** One partial sum per 2 048 floats of a gradient. */
const PARTIALS: MultiTensorOp = {
  key: "clipScale: sums of squares",
  reads: ["x"],
  writes: [],
  sharedWrites: ["partial"],
  chunk: 2048,
  before: "var s = 0.0;",
  each: (j) => `s = fma(x${j}[k], x${j}[k], s);`,
  after: "partial[g] = s;",
};

/**
 * Records the partial sums of squares of every tensor into one buffer (release it with
 * `engine.release`); their total is the squared global norm.
 *
 * @param engine the engine
 * @param tensors the buffers and their lengths in floats
 * @returns the partials buffer and how many partials it holds
 */
export function sumSquaresPartialsGpu(
  engine: Engine,
  tensors: readonly { buffer: GPUBuffer; length: number }[],
): { partials: GPUBuffer; count: number } {
  const args = tensors.map((t) => ({ buffers: [t.buffer], length: t.length }));
  const count = multiTensorChunks(PARTIALS, tensors.map((t) => t.length));
  const partials = engine.alloc(Math.max(1, count) * 4);
  multiTensorGpu(engine, PARTIALS, args, { writes: [partials] });
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
