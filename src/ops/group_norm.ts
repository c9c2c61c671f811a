/**
 * GroupNorm (torch.nn.functional.group_norm) fused with the per-sample scale/shift of
 * EDM's UNetBlock (`torch.addcmul(shift, norm(x), scale + 1)`), with its own backward
 * kernels for x, gamma, beta, scale and shift.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { groupNormBackwardGpu, groupNormGpu } from "../../gpu/kernels/group_norm.ts";
import { needsGrad, record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { groupNormBackwardCpu, groupNormCpu, type GroupNormDims } from "../cpu/group_norm.ts";
import type { Tensor } from "../core/tensor.ts";
import { groupNormBackwardOnnx } from "../onnx/lower_grad.ts";
import { groupNormOnnx } from "../onnx/lower_nn.ts";
import { onBackend, shapeError } from "./dispatch.ts";
import { reshape } from "./reshape.ts";

/** Options of groupNorm. */
export interface GroupNormOptions {
  /** Added to the variance (default 1e-5, as PyTorch; EDM's blocks use 1e-6). */
  eps?: number;
  /** Per-sample scale [N, C] (or [N, C, 1, 1]): the output is multiplied by 1 + scale. */
  scale?: Tensor;
  /** Per-sample shift [N, C] (or [N, C, 1, 1]), added before the activation. */
  shift?: Tensor;
  /**
   * Apply SiLU to the output in the same pass (saves a pass over the tensor and keeping the
   * pre-activation: the backward kernels recompute it from x).
   */
  silu?: boolean;
}

function checkPerSample(op: string, name: string, t: Tensor, N: number, C: number): void {
  const ok = t.shape.length >= 2 && t.shape[0] === N && t.shape[1] === C &&
    t.shape.slice(2).every((d) => d === 1);
  if (!ok) {
    shapeError(
      op,
      `${name} must have shape [${N}, ${C}] (or [${N}, ${C}, 1, 1]), got [${t.shape}]`,
    );
  }
}

function dimsOf(x: Tensor, groups: number, gamma: Tensor, beta: Tensor): GroupNormDims {
  const op = "groupNorm";
  if (x.shape.length < 2) shapeError(op, `x must be [N, C, ...], got [${x.shape}]`);
  const [N, C] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) {
    shapeError(op, `groups (${groups}) must be a positive integer dividing the channels (${C})`);
  }
  for (const [name, t] of [["gamma", gamma], ["beta", beta]] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== C) {
      shapeError(op, `${name} must have shape [${C}], got [${t.shape}]`);
    }
  }
  return { N, C, HW: x.shape.slice(2).reduce((a, b) => a * b, 1), G: groups };
}

/**
 * Group normalisation with optional adaptive scale/shift: per sample n and group of
 * C/groups channels, n̂ = (x − mean)/√(var + eps) (biased variance over the group's
 * channels and pixels), a = n̂·gamma + beta, and y = a·(1 + scale) + shift when scale or
 * shift is given (a missing one counts as zero), else y = a; with `silu`, y·sigmoid(y).
 *
 * @param x input [N, C, H, W] (any [N, C, ...], including [N, C])
 * @param groups number of groups; divides C
 * @param gamma per-channel weight [C]
 * @param beta per-channel bias [C]
 * @param opts eps, scale, shift, silu
 * @returns y, the shape of x
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { groupNorm } from "./group_norm.ts";
 * const b = cpuBackend();
 * const x = b.fromArray([1, 2, 3, 4, 5, 6, 7, 8], [1, 4, 2, 1]);
 * const y = groupNorm(x, 2, b.full([4], 1), b.full([4], 0), {
 *   scale: b.full([1, 4], 0.5),
 *   shift: b.full([1, 4], 0.1),
 * });
 * ```
 */
export function groupNorm(
  x: Tensor,
  groups: number,
  gamma: Tensor,
  beta: Tensor,
  opts: GroupNormOptions = {},
): Tensor {
  const d = dimsOf(x, groups, gamma, beta);
  const eps = opts.eps ?? 1e-5;
  if (opts.scale) checkPerSample("groupNorm", "scale", opts.scale, d.N, d.C);
  if (opts.shift) checkPerSample("groupNorm", "shift", opts.shift, d.N, d.C);
  const modulated = opts.scale !== undefined || opts.shift !== undefined;
  const scale = opts.scale ?? (modulated ? x.backend.full([d.N, d.C], 0) : null);
  const shift = opts.shift ?? (modulated ? x.backend.full([d.N, d.C], 0) : null);
  const inputs = [x, gamma, beta, opts.scale ?? null, opts.shift ?? null];
  const silu = opts.silu ?? false;
  const [y, stats] = forward(d, eps, x, gamma, beta, scale, shift, silu);
  if (!needsGrad(inputs)) {
    // Nothing will run the backward, so what it would have read can go too.
    stats.dispose();
    if (!opts.scale) scale?.dispose();
    if (!opts.shift) shift?.dispose();
    return y;
  }
  // The backward reads shift only to recompute the pre-activation; a stand-in zero one can
  // go now otherwise.
  if (!opts.shift && !silu) shift?.dispose();
  record(y, inputs, (g) => {
    const grads = groupNormBackward(d, x, gamma, beta, scale, stats, g, silu ? { shift } : null);
    return [
      grads.dx,
      grads.dgamma,
      grads.dbeta,
      asShapeOf(grads.dscale, opts.scale),
      asShapeOf(grads.dshift, opts.shift),
    ];
  });
  return y;
}

/** Runs the forward kernels: y and the per-(sample, group) stats. */
function forward(
  d: GroupNormDims,
  eps: number,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  scale: Tensor | null,
  shift: Tensor | null,
  silu: boolean,
): [Tensor, Tensor] {
  return onBackend(
    "groupNorm",
    [x, gamma, beta, scale, shift],
    {
      cpu: (b) => {
        const y = b.empty(x.shape);
        const stats = b.empty([d.N, d.G, 2]);
        const data = (t: Tensor | null) => (t ? cpuData(t) : null);
        groupNormCpu(
          d,
          cpuData(x),
          cpuData(gamma),
          cpuData(beta),
          data(scale),
          data(shift),
          eps,
          cpuData(y),
          cpuData(stats),
          silu,
        );
        return [y, stats];
      },
      webgpu: (b) => {
        const y = b.empty(x.shape);
        const stats = b.empty([d.N, d.G, 2]);
        groupNormGpu(b.engine, d, eps, {
          x: gpuBuffer(x),
          gamma: gpuBuffer(gamma),
          beta: gpuBuffer(beta),
          mod: scale && shift ? { scale: gpuBuffer(scale), shift: gpuBuffer(shift) } : null,
          y: gpuBuffer(y),
          stats: gpuBuffer(stats),
          silu,
        });
        return [y, stats];
      },
      onnx: (b) => groupNormOnnx(b, x, d.G, gamma, beta, eps, scale, shift, silu),
    },
  );
}

/** `g` in the shape of `like` (autograd adds gradients by broadcasting), or null and `g` freed. */
function asShapeOf(g: Tensor | null, like: Tensor | undefined): Tensor | null {
  if (!g) return null;
  if (!like) {
    g.dispose();
    return null;
  }
  if (g.shape.length === like.shape.length) return g;
  const v = reshape(g, like.shape);
  g.dispose();
  return v;
}

/** The gradient tensors of one GroupNorm backward. */
interface Grads {
  dx: Tensor;
  dgamma: Tensor;
  dbeta: Tensor;
  dscale: Tensor | null;
  dshift: Tensor | null;
}

/**
 * Runs the backward kernels (first order only: the result is not itself differentiable);
 * `silu` (with the forward's shift) when the forward applied SiLU: the kernels then
 * recompute the pre-activation from x and the stats.
 */
function groupNormBackward(
  d: GroupNormDims,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  scale: Tensor | null,
  stats: Tensor,
  gy: Tensor,
  silu: { shift: Tensor | null } | null,
): Grads {
  const make = (b: { empty(shape: readonly number[]): Tensor }): Grads => ({
    dx: b.empty(x.shape),
    dgamma: b.empty([d.C]),
    dbeta: b.empty([d.C]),
    dscale: scale ? b.empty([d.N, d.C]) : null,
    dshift: scale ? b.empty([d.N, d.C]) : null,
  });
  return onBackend(
    "groupNorm.backward",
    [x, gamma, beta, scale, stats, gy, silu?.shift ?? null],
    {
      cpu: (b) => {
        const out = make(b);
        const data = (t: Tensor | null) => (t ? cpuData(t) : null);
        groupNormBackwardCpu(
          d,
          cpuData(x),
          cpuData(gamma),
          cpuData(beta),
          data(scale),
          cpuData(stats),
          cpuData(gy),
          {
            dx: cpuData(out.dx),
            dgamma: cpuData(out.dgamma),
            dbeta: cpuData(out.dbeta),
            dscale: data(out.dscale),
            dshift: data(out.dshift),
          },
          silu && { shift: data(silu.shift) },
        );
        return out;
      },
      webgpu: (b) => {
        const out = make(b);
        groupNormBackwardGpu(b.engine, d, {
          x: gpuBuffer(x),
          gamma: gpuBuffer(gamma),
          beta: gpuBuffer(beta),
          scale: scale ? gpuBuffer(scale) : null,
          stats: gpuBuffer(stats),
          gy: gpuBuffer(gy),
          dx: gpuBuffer(out.dx),
          dgamma: gpuBuffer(out.dgamma),
          dbeta: gpuBuffer(out.dbeta),
          dmod: out.dscale && out.dshift
            ? { dscale: gpuBuffer(out.dscale), dshift: gpuBuffer(out.dshift) }
            : null,
          silu: silu ? { shift: silu.shift && gpuBuffer(silu.shift) } : undefined,
        });
        return out;
      },
      onnx: (b) => groupNormBackwardOnnx(b, x, d.G, gamma, beta, scale, stats, gy, silu),
    },
  );
}
