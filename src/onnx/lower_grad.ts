/**
 * ONNX lowerings of the backward primitives autograd dispatches (convolution's input
 * gradient, GroupNorm's and softmax's backward, the zero-padded scatter that is slice's
 * backward), each the graph twin of a src/cpu/ kernel. Where two forms compute the same thing
 * the faster one on ONNX Runtime CPU is kept (timings in docs/perf-notes.md,
 * bench/onnx_lowerings.ts).
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import type { OnnxBackend } from "./backend.ts";
import { sharedConstant } from "./shared_constant.ts";

/**
 * w [Cout, Cin, k, k] with the channels swapped and the taps flipped: [Cin, Cout, k, k].
 *
 * @param b the tracing backend
 * @param w the forward weight
 * @returns the adjoint convolution's weight
 */
export function flippedWeight(b: OnnxBackend, w: Tensor): Tensor {
  const [cout, cin, k] = w.shape;
  const g = b.graph;
  const t = b.node("Transpose", [w], [cin, cout, k, k], { perm: [1, 0, 2, 3] });
  // Slice with step −1 from the last tap past the first (an end below −k clamps to "before 0").
  return b.node(
    "Slice",
    [t, g.int64([k - 1, k - 1]), g.int64([-k - 1, -k - 1]), g.int64([2, 3]), g.int64([-1, -1])],
    [cin, cout, k, k],
  );
}

/**
 * dx of a "same" stride-1 convolution as a forward Conv of dy with the flipped, in/out-swapped
 * weight (faster on ONNX Runtime CPU than ConvTranspose: docs/perf-notes.md).
 *
 * @param b the tracing backend
 * @param dy [N, Cout, H, W]
 * @param w [Cout, Cin, k, k]
 * @returns dx [N, Cin, H, W]
 */
export function conv2dInputGradOnnx(b: OnnxBackend, dy: Tensor, w: Tensor): Tensor {
  const [n, , h, width] = dy.shape;
  const [, cin, k] = w.shape;
  const p = (k - 1) / 2;
  return b.node("Conv", [dy, flippedWeight(b, w)], [n, cin, h, width], {
    kernel_shape: [k, k],
    pads: [p, p, p, p],
    strides: [1, 1],
  });
}

/**
 * dx of a "same" stride-1 convolution as ConvTranspose of dy by w (the measured alternative
 * to `conv2dInputGradOnnx`, kept for bench/onnx_lowerings.ts).
 *
 * @param b the tracing backend
 * @param dy [N, Cout, H, W]
 * @param w [Cout, Cin, k, k] (ConvTranspose's own weight layout)
 * @returns dx [N, Cin, H, W]
 */
export function conv2dInputGradTransposeOnnx(b: OnnxBackend, dy: Tensor, w: Tensor): Tensor {
  const [n, , h, width] = dy.shape;
  const [, cin, k] = w.shape;
  const p = (k - 1) / 2;
  return b.node("ConvTranspose", [dy, w], [n, cin, h, width], {
    kernel_shape: [k, k],
    pads: [p, p, p, p],
    strides: [1, 1],
  });
}

/**
 * The backward of softmax over the last axis: dx = y ⊙ (g − Σ g⊙y).
 *
 * @param b the tracing backend
 * @param y the forward's output
 * @param g the output's gradient
 * @returns dx
 */
export function softmaxBackwardOnnx(b: OnnxBackend, y: Tensor, g: Tensor): Tensor {
  const gy = b.node("Mul", [g, y], y.shape);
  const rows = y.shape.map((d, k) => (k === y.shape.length - 1 ? 1 : d));
  const dot = b.node("ReduceSum", [gy, b.graph.int64([-1])], rows, { keepdims: 1 });
  return b.node("Mul", [y, b.node("Sub", [g, dot], y.shape)], y.shape);
}

/**
 * Slice's backward: g placed at [start, start + g.shape[axis]) of `axis` in zeros of `shape`
 * (ONNX Pad).
 *
 * @param b the tracing backend
 * @param g the slice's gradient
 * @param axis non-negative axis
 * @param start where the slice began
 * @param shape the sliced tensor's shape
 * @returns the scattered gradient
 */
export function unsliceOnnx(
  b: OnnxBackend,
  g: Tensor,
  axis: number,
  start: number,
  shape: readonly number[],
): Tensor {
  const r = shape.length;
  const pads = Array(2 * r).fill(0);
  pads[axis] = start;
  pads[r + axis] = shape[axis] - start - g.shape[axis];
  return b.node("Pad", [g, b.graph.int64(pads)], shape, { mode: "constant" });
}

/** The per-channel values of `t` ([C], or [N, C] and [N, C, 1, 1]) as [1 or N, G, C/G, 1]. */
function grouped(b: OnnxBackend, t: Tensor, groups: number): Tensor {
  const perSample = t.shape.length >= 2;
  const lead = perSample ? t.shape[0] : 1;
  const to = [lead, groups, t.size / lead / groups, 1];
  return b.node("Reshape", [t, b.graph.int64(perSample ? [0, ...to.slice(1)] : to)], to);
}

/**
 * GroupNorm's backward (src/cpu/group_norm.ts): with n̂ = (x − mean)·rstd, S1 = Σ gy and
 * S2 = Σ gy·n̂ per (sample, channel), k = gamma·(1 + scale):
 * dx = rstd·(gy·k − mean_g(k·S1) − n̂·mean_g(k·S2)), dgamma = Σₙ (1 + scale)·S2,
 * dbeta = Σₙ (1 + scale)·S1, dscale = gamma·S2 + beta·S1, dshift = S1. With `silu` gy is first
 * multiplied by SiLU′ of the pre-activation, recomputed from x and the stats.
 *
 * @param b the tracing backend
 * @param x forward input [N, C, ...]
 * @param groups G
 * @param gamma [C]
 * @param beta [C]
 * @param scale [N, C] or null
 * @param stats the forward's [N, G, 2] (mean, rstd)
 * @param gy the output's gradient
 * @param silu the forward's shift (or null) when it applied SiLU, else null
 * @returns dx, dgamma [C], dbeta [C], dscale and dshift ([N, C], null without scale)
 */
export function groupNormBackwardOnnx(
  b: OnnxBackend,
  x: Tensor,
  groups: number,
  gamma: Tensor,
  beta: Tensor,
  scale: Tensor | null,
  stats: Tensor,
  gy: Tensor,
  silu: { shift: Tensor | null } | null,
): {
  dx: Tensor;
  dgamma: Tensor;
  dbeta: Tensor;
  dscale: Tensor | null;
  dshift: Tensor | null;
} {
  const g = b.graph;
  const [N, C] = x.shape;
  const cg = C / groups;
  const hw = x.size / (N * C);
  const full = [N, groups, cg, hw];
  const per = [N, groups, cg, 1];
  const stat = [N, groups, 1, 1];
  const view = (t: Tensor) => b.node("Reshape", [t, g.int64([0, groups, cg, hw])], full);
  const mul = (p: Tensor | string, q: Tensor | string, s: readonly number[]) =>
    b.node("Mul", [p, q], s);
  const add = (p: Tensor | string, q: Tensor | string, s: readonly number[]) =>
    b.node("Add", [p, q], s);
  const sumOver = (t: Tensor, axes: number[], s: number[]) =>
    b.node("ReduceSum", [t, g.int64(axes)], s, { keepdims: 1 });
  const st = b.node("Reshape", [stats, g.int64([0, groups, 1, 2])], [N, groups, 1, 2]);
  const pick = (k: number) =>
    b.node("Slice", [st, g.int64([k]), g.int64([k + 1]), g.int64([3])], stat);
  const mean = pick(0);
  const rstd = pick(1);
  const xv = view(x);
  const gam = grouped(b, gamma, groups);
  const m = scale ? b.node("Add", [grouped(b, scale, groups), g.float([1], [])], per) : null;
  const sub = (p: Tensor, q: Tensor, s: readonly number[]) => b.node("Sub", [p, q], s);
  // Every full-size map is affine in x with per-(sample, channel) coefficients, n̂ never
  // formed: the elementwise nodes, not the reductions, dominate this backward in ONNX Runtime.
  let gv = view(gy);
  if (silu) {
    // pre = (n̂·gamma + beta)·(1 + scale) + shift = x·A + B.
    const a0 = mul(rstd, gam, per);
    const a = m ? mul(a0, m, per) : a0;
    let bias = sub(grouped(b, beta, groups), mul(mean, a0, per), per);
    if (m) bias = mul(bias, m, per);
    if (silu.shift) bias = add(bias, grouped(b, silu.shift, groups), per);
    const pre = add(mul(xv, a, full), bias, full);
    const sig = b.node("Sigmoid", [pre], full);
    // SiLU′(y) = σ(y)·(1 + y·(1 − σ(y))).
    const oneMinus = b.node("Sub", [g.float([1], []), sig], full);
    const d = mul(sig, add(mul(pre, oneMinus, full), g.float([1], []), full), full);
    gv = mul(gv, d, full);
  }
  const s1 = sumOver(gv, [3], per);
  // S2 = Σ gy·n̂ = rstd·(Σ gy·x − mean·S1).
  const s2 = mul(rstd, sub(sumOver(mul(gv, xv, full), [3], per), mul(mean, s1, per), per), per);
  const k = m ? mul(gam, m, per) : gam;
  const inv = g.float([1 / (cg * hw)], []);
  const m1 = mul(sumOver(mul(k, s1, per), [2], stat), inv, stat);
  const m2 = mul(sumOver(mul(k, s2, per), [2], stat), inv, stat);
  // dx = gy·(rstd·k) + x·c1 + c0 with c1 = −rstd²·m2, c0 = −rstd·m1 − mean·c1.
  const c1 = b.node("Neg", [mul(mul(rstd, rstd, stat), m2, stat)], stat);
  const c0 = sub(b.node("Neg", [mul(rstd, m1, stat)], stat), mul(mean, c1, stat), stat);
  const affine = add(mul(xv, c1, full), c0, full);
  const dx = b.view(add(mul(gv, mul(rstd, k, per), full), affine, full), x.shape);
  const channels = (t: Tensor) => b.view(sumOver(t, [0], [1, groups, cg, 1]), [C]);
  const ms2 = m ? mul(m, s2, per) : s2;
  const ms1 = m ? mul(m, s1, per) : s1;
  const nc = (t: Tensor) => b.node("Reshape", [t, g.int64([0, C])], [N, C]);
  return {
    dx,
    dgamma: channels(ms2),
    dbeta: channels(ms1),
    dscale: scale ? nc(add(mul(gam, s2, per), mul(grouped(b, beta, groups), s1, per), per)) : null,
    dshift: scale ? nc(s1) : null,
  };
}

/**
 * The im2col columns of x: a depthwise Conv with fixed one-hot k×k kernels lays out every tap
 * as a channel, channel c·k² + t holding tap t of input channel c ([N, Cin·k², H, W]).
 *
 * @param b the tracing backend
 * @param x [N, Cin, H, W]
 * @param k kernel size (odd)
 * @returns the columns (x itself for k = 1)
 */
export function im2colOnnx(b: OnnxBackend, x: Tensor, k: number): Tensor {
  if (k === 1) return x;
  const [n, cin, h, width] = x.shape;
  const taps = cin * k * k;
  const p = (k - 1) / 2;
  const onehot = sharedConstant(b.graph, `im2col ${cin} ${k}`, [taps, 1, k, k], () => {
    const v = new Float32Array(taps * k * k);
    for (let o = 0; o < taps; o++) v[o * k * k + (o % (k * k))] = 1;
    return v;
  });
  return b.node("Conv", [x, onehot], [n, taps, h, width], {
    kernel_shape: [k, k],
    pads: [p, p, p, p],
    strides: [1, 1],
    group: cin,
  });
}

/**
 * dw of a "same" stride-1 convolution as im2col then one batched MatMul of the columns with dyᵀ
 * (the operand k² times smaller is the one transposed) and a sum over the batch: faster on ONNX
 * Runtime CPU than a Conv over transposed operands and than one Gemm over the batch-inside
 * layout (docs/perf-notes.md).
 *
 * @param b the tracing backend
 * @param x [N, Cin, H, W]
 * @param dy [N, Cout, H, W]
 * @param k kernel size (odd)
 * @returns dw [Cout, Cin, k, k]
 */
export function conv2dWeightGradOnnx(b: OnnxBackend, x: Tensor, dy: Tensor, k: number): Tensor {
  const g = b.graph;
  const [n, cin, h, width] = x.shape;
  const cout = dy.shape[1];
  const taps = cin * k * k;
  const hw = h * width;
  const cols = b.node("Reshape", [im2colOnnx(b, x, k), g.int64([0, taps, hw])], [n, taps, hw]);
  const d3 = b.node("Reshape", [dy, g.int64([0, cout, hw])], [n, cout, hw]);
  const dt = b.node("Transpose", [d3], [n, hw, cout], { perm: [0, 2, 1] });
  const per = b.node("MatMul", [cols, dt], [n, taps, cout]);
  const sum = b.node("ReduceSum", [per, g.int64([0])], [taps, cout], { keepdims: 0 });
  const dw = b.node("Transpose", [sum], [cout, taps], { perm: [1, 0] });
  return b.node("Reshape", [dw, g.int64([cout, cin, k, k])], [cout, cin, k, k]);
}

/**
 * dw of a "same" stride-1 convolution as a Conv over transposed operands (x with its batch as
 * channels, dy as an H×W kernel): the measured alternative to `conv2dWeightGradOnnx`, kept for
 * bench/onnx_lowerings.ts.
 *
 * @param b the tracing backend
 * @param x [N, Cin, H, W]
 * @param dy [N, Cout, H, W]
 * @param k kernel size (odd)
 * @returns dw [Cout, Cin, k, k]
 */
export function conv2dWeightGradTransposedOnnx(
  b: OnnxBackend,
  x: Tensor,
  dy: Tensor,
  k: number,
): Tensor {
  const [n, cin, h, width] = x.shape;
  const cout = dy.shape[1];
  const p = (k - 1) / 2;
  const swap = (t: Tensor, c: number) =>
    b.node("Transpose", [t], [c, n, h, width], { perm: [1, 0, 2, 3] });
  const r = b.node("Conv", [swap(x, cin), swap(dy, cout)], [cin, cout, k, k], {
    kernel_shape: [h, width],
    pads: [p, p, p, p],
    strides: [1, 1],
  });
  return b.node("Transpose", [r], [cout, cin, k, k], { perm: [1, 0, 2, 3] });
}

/**
 * The positional embedding's backward (src/cpu/positional_embedding.ts): with φ = x·f,
 * dx = Σⱼ fⱼ·(cos φⱼ·g_sin,ⱼ − sin φⱼ·g_cos,ⱼ).
 *
 * @param b the tracing backend
 * @param x positions [N]
 * @param freqs the frequencies
 * @param g the gradient of [cos, sin], [N, 2·freqs.length]
 * @returns dx [N]
 */
export function positionalEmbeddingBackwardOnnx(
  b: OnnxBackend,
  x: Tensor,
  freqs: Float64Array,
  g: Tensor,
): Tensor {
  const gr = b.graph;
  const N = x.shape[0];
  const half = freqs.length;
  const f = gr.float(freqs, [1, half]);
  const col = b.node("Reshape", [x, gr.int64([-1, 1])], [N, 1]);
  const phase = b.node("Mul", [col, f], [N, half]);
  const part = (k: number) =>
    b.node("Slice", [g, gr.int64([k * half]), gr.int64([(k + 1) * half]), gr.int64([1])], [
      N,
      half,
    ]);
  const d = b.node("Sub", [
    b.node("Mul", [b.node("Cos", [phase], [N, half]), part(1)], [N, half]),
    b.node("Mul", [b.node("Sin", [phase], [N, half]), part(0)], [N, half]),
  ], [N, half]);
  return b.node("ReduceSum", [b.node("Mul", [d, f], [N, half]), gr.int64([1])], [N], {
    keepdims: 0,
  });
}
