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
 * Shared head of the kernels. Scalar: invocation i owns pixel i of the small (H×W) grid and
 * the 2×2 block of the large (2H×2W) grid at offset b, rows W2 apart. Vec4 (W a multiple of
 * 4): invocation i owns 4 adjacent small pixels, i.e. vec4 i of the small grid, and vec4s b,
 * b + 1 of two large rows R vec4s apart.
 */
function head(vec4: boolean): string {
  const t = vec4 ? "vec4f" : "f32";
  const at = vec4
    ? `let qw = p.W / 4u;
  let plane = i / (p.H * qw);
  let r = i % (p.H * qw);
  let R = p.W / 2u;
  let b = plane * p.H * p.W + (r / qw) * p.W + 2u * (r % qw);`
    : `let plane = i / (p.H * p.W);
  let r = i % (p.H * p.W);
  let W2 = 2u * p.W;
  let b = plane * 4u * p.H * p.W + 2u * (r / p.W) * W2 + 2u * (r % p.W);`;
  return /* wgsl */ `
struct P { n: u32, H: u32, W: u32, f: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read_write> y: array<${t}>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  ${at}`;
}

const UP = /* wgsl */ `${head(false)}
  let v = x[i] * p.f;
  y[b] = v;
  y[b + 1u] = v;
  y[b + W2] = v;
  y[b + W2 + 1u] = v;
}`;

const UP4 = /* wgsl */ `${head(true)}
  let v = x[i] * p.f;
  let lo = vec4f(v.x, v.x, v.y, v.y);
  let hi = vec4f(v.z, v.z, v.w, v.w);
  y[b] = lo;
  y[b + 1u] = hi;
  y[b + R] = lo;
  y[b + R + 1u] = hi;
}`;

const DOWN = /* wgsl */ `${head(false)}
  y[i] = p.f * ((x[b] + x[b + 1u]) + (x[b + W2] + x[b + W2 + 1u]));
}`;

// The scalar kernel's order of additions, so both give the same bits.
const DOWN4 = /* wgsl */ `${head(true)}
  let t0 = x[b];
  let t1 = x[b + 1u];
  let u0 = x[b + R];
  let u1 = x[b + R + 1u];
  y[i] = p.f * vec4f((t0.x + t0.y) + (u0.x + u0.y), (t0.z + t0.w) + (u0.z + u0.w),
                     (t1.x + t1.y) + (u1.x + u1.y), (t1.z + t1.w) + (u1.z + u1.w));
}`;

/** Scalar or vec4 kernel: vec4 where the small width is a multiple of 4 (4 pixels a lane). */
function pick(W: number, scalar: string, vec4: string): { code: string; lanes: number } {
  return W % 4 === 0 ? { code: vec4, lanes: 4 } : { code: scalar, lanes: 1 };
}

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
  const { code, lanes } = pick(W, UP, UP4);
  const n = planes * H * W / lanes;
  engine.dispatch({
    label: `upsample2x [${planes},${H},${W}] f=${f}`,
    code,
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
  const { code, lanes } = pick(Wo, DOWN, DOWN4);
  const n = planes * Ho * Wo / lanes;
  engine.dispatch({
    label: `downsample2x [${planes},${2 * Ho},${2 * Wo}] f=${f}`,
    code,
    inputs: [x],
    outputs: [y],
    uniforms: { u: [n, Ho, Wo], f: [f] },
    groups: groups1d(n),
  });
}
