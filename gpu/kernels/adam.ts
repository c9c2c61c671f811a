/**
 * The Adam update in place (torch.optim.Adam's arithmetic): m, v, and the parameter are
 * read and written by one invocation per element; an optional one-element gradient scale
 * (from clipping) is read on the device, so no value comes back to the CPU.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/** Per-step scalars, computed on the host in float64. */
export interface AdamScalars {
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** β₁. */
  beta1: number;
  /** β₂. */
  beta2: number;
  /** 1 / √(1 − β₂ᵗ). */
  invBc2Sqrt: number;
  /** ε. */
  eps: number;
}

function source(scaled: boolean): string {
  const bind = scaled ? "@group(0) @binding(2) var<storage, read> gscale: array<f32>;" : "";
  const b = scaled ? 3 : 2;
  return /* wgsl */ `
struct P { n: u32, stepSize: f32, beta1: f32, beta2: f32, invBc2Sqrt: f32, eps: f32, om1: f32, om2: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
${bind}
@group(0) @binding(${b}) var<storage, read_write> param: array<f32>;
@group(0) @binding(${b + 1}) var<storage, read_write> m: array<f32>;
@group(0) @binding(${b + 2}) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  let g = grad[i]${scaled ? " * gscale[0]" : ""};
  let mi = p.beta1 * m[i] + p.om1 * g;
  let vi = p.beta2 * v[i] + p.om2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] - p.stepSize * mi / (sqrt(vi) * p.invBc2Sqrt + p.eps);
}`;
}

const codes = new Map<boolean, string>();

/**
 * Records one Adam step over `n` elements.
 *
 * @param engine the engine
 * @param param parameter buffer (updated)
 * @param grad gradient buffer
 * @param m first-moment buffer (updated)
 * @param v second-moment buffer (updated)
 * @param n number of elements
 * @param s the step's scalars
 * @param gradScale optional buffer whose first float multiplies the gradient
 */
export function adamGpu(
  engine: Engine,
  param: GPUBuffer,
  grad: GPUBuffer,
  m: GPUBuffer,
  v: GPUBuffer,
  n: number,
  s: AdamScalars,
  gradScale?: GPUBuffer,
): void {
  const scaled = gradScale !== undefined;
  let code = codes.get(scaled);
  if (!code) codes.set(scaled, code = source(scaled));
  engine.dispatch({
    label: `adam n=${n}${scaled ? " (scaled)" : ""}`,
    code,
    inputs: scaled ? [grad, gradScale] : [grad],
    outputs: [param, m, v],
    uniforms: {
      u: [n],
      f: [s.stepSize, s.beta1, s.beta2, s.invBc2Sqrt, s.eps, 1 - s.beta1, 1 - s.beta2],
    },
    groups: groups1d(n),
  });
}
