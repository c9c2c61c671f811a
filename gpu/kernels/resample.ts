/**
 * EDM's [1,1] resampling filters over the last two dims: nearest 2× up-sampling (each
 * invocation reads one input and writes its 2×2 block) and 2×2 sum-pooling (each
 * invocation reads one block), both times a factor, so each is the other's adjoint.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/**
 * Shared head of both kernels: invocation i owns pixel i of the small (H×W) grid and the 2×2
 * block of the large (2H×2W) grid at offset b, rows W2 apart.
 */
const BLOCK = /* wgsl */ `
struct P { n: u32, H: u32, W: u32, f: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let plane = i / (p.H * p.W);
  let r = i % (p.H * p.W);
  let row = r / p.W;
  let col = r % p.W;
  let W2 = 2u * p.W;
  let b = plane * 4u * p.H * p.W + 2u * row * W2 + 2u * col;`;

const UP = /* wgsl */ `${BLOCK}
  let v = x[i] * p.f;
  y[b] = v;
  y[b + 1u] = v;
  y[b + W2] = v;
  y[b + W2 + 1u] = v;
}`;

const DOWN = /* wgsl */ `${BLOCK}
  y[i] = p.f * ((x[b] + x[b + 1u]) + (x[b + W2] + x[b + W2 + 1u]));
}`;

/**
 * Records y[…, 2i+a, 2j+b] = f·x[…, i, j] for a, b ∈ {0, 1}.
 *
 * @param engine the engine
 * @param x input buffer, `planes` planes of H×W
 * @param planes product of the leading dims
 * @param H input height
 * @param W input width
 * @param f factor
 * @param y output buffer, planes × 2H × 2W
 */
export function upsample2xGpu(
  engine: Engine,
  x: GPUBuffer,
  planes: number,
  H: number,
  W: number,
  f: number,
  y: GPUBuffer,
): void {
  const n = planes * H * W;
  engine.dispatch({
    label: `upsample2x [${planes},${H},${W}] f=${f}`,
    code: UP,
    inputs: [x],
    outputs: [y],
    uniforms: { u: [n, H, W], f: [f] },
    groups: groups1d(n),
  });
}

/**
 * Records y[…, i, j] = f·Σ_{a,b ∈ {0,1}} x[…, 2i+a, 2j+b].
 *
 * @param engine the engine
 * @param x input buffer, `planes` planes of 2Ho×2Wo
 * @param planes product of the leading dims
 * @param Ho output height
 * @param Wo output width
 * @param f factor (0.25 for the mean)
 * @param y output buffer, planes × Ho × Wo
 */
export function downsample2xGpu(
  engine: Engine,
  x: GPUBuffer,
  planes: number,
  Ho: number,
  Wo: number,
  f: number,
  y: GPUBuffer,
): void {
  const n = planes * Ho * Wo;
  engine.dispatch({
    label: `downsample2x [${planes},${2 * Ho},${2 * Wo}] f=${f}`,
    code: DOWN,
    inputs: [x],
    outputs: [y],
    uniforms: { u: [n, Ho, Wo], f: [f] },
    groups: groups1d(n),
  });
}
