/**
 * ONNX lowerings of the network primitives (convolution, GroupNorm, 2× resampling, the
 * positional noise embedding), each the graph twin of a src/cpu/ kernel. Reshapes inside a
 * lowering copy the batch axis (Reshape's 0) so a graph traced at one batch runs at any.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import type { OnnxBackend } from "./backend.ts";

/**
 * "Same" convolution, stride 1, padding k//2 (src/ops/conv2d.ts), with a bias per channel
 * ([Cout], Conv's own input) or per image ([N, Cout], added after).
 *
 * @param b the tracing backend
 * @param x [N, Cin, H, W]
 * @param w [Cout, Cin, k, k]
 * @param bias [Cout], [N, Cout] or null
 * @returns [N, Cout, H, W]
 */
export function conv2dOnnx(b: OnnxBackend, x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  const [n, , h, width] = x.shape;
  const [cout, , k] = w.shape;
  const p = (k - 1) / 2;
  const shape = [n, cout, h, width];
  const perImage = bias !== null && bias.shape.length === 2;
  const attrs = { kernel_shape: [k, k], pads: [p, p, p, p], strides: [1, 1] };
  const y = b.node("Conv", perImage || !bias ? [x, w] : [x, w, bias], shape, attrs);
  if (!perImage) return y;
  const b4 = b.node("Reshape", [bias, b.graph.int64([0, cout, 1, 1])], [n, cout, 1, 1]);
  return b.node("Add", [y, b4], shape);
}

/**
 * Per-channel [C] or per-sample [N, C] (or [N, C, 1, 1]) as broadcastable over [N, C, 1…]
 * (rank of x).
 */
function perChannel(b: OnnxBackend, t: Tensor, rank: number): Tensor {
  const ones = Array(rank - 2).fill(1);
  const perSample = t.shape.length >= 2;
  const c = perSample ? t.shape[1] : t.shape[0];
  return b.node("Reshape", [t, b.graph.int64([perSample ? 0 : 1, c, ...ones])], [
    perSample ? t.shape[0] : 1,
    c,
    ...ones,
  ]);
}

/**
 * GroupNorm with the optional modulation and SiLU of src/ops/group_norm.ts: the normalisation
 * as InstanceNormalization over each (sample, group), then the affine maps; the stats by
 * ReduceMean (the biased variance).
 *
 * @param b the tracing backend
 * @param x [N, C, ...]
 * @param groups G, divides C
 * @param gamma [C]
 * @param beta [C]
 * @param eps variance floor
 * @param scale [N, C] or null
 * @param shift [N, C] or null
 * @param silu apply y·sigmoid(y)
 * @returns y (shape of x) and stats [N, G, 2] (mean, 1/√(var + eps))
 */
export function groupNormOnnx(
  b: OnnxBackend,
  x: Tensor,
  groups: number,
  gamma: Tensor,
  beta: Tensor,
  eps: number,
  scale: Tensor | null,
  shift: Tensor | null,
  silu: boolean,
): [Tensor, Tensor] {
  const g = b.graph;
  const N = x.shape[0];
  const per = x.size / (N * groups);
  const xg = b.node("Reshape", [x, g.int64([0, groups, -1])], [N, groups, per]);
  const stat = [N, groups, 1];
  const mean = b.node("ReduceMean", [xg], stat, { axes: [2], keepdims: 1 });
  const centred = b.node("Sub", [xg, mean], xg.shape);
  const variance = b.node("ReduceMean", [b.node("Mul", [centred, centred], xg.shape)], stat, {
    axes: [2],
    keepdims: 1,
  });
  const rstd = b.node("Reciprocal", [
    b.node("Sqrt", [b.node("Add", [variance, g.float([eps], [])], stat)], stat),
  ], stat);
  // y by one InstanceNormalization over [N, G, per] (unit scale, zero bias): ONNX Runtime's
  // fused kernel, against six elementwise and reduction nodes for the same values; the stats
  // above feed only the backward and are dropped from forward-only graphs (OnnxGraph.spec).
  const normed = b.node(
    "InstanceNormalization",
    [
      xg,
      g.float(Array(groups).fill(1), [groups]),
      g.float(Array(groups).fill(0), [groups]),
    ],
    xg.shape,
    { epsilon: { f: eps } },
  );
  const n = b.node("Reshape", [normed, b.node("Shape", [x], [x.shape.length])], x.shape);
  const r = x.shape.length;
  let y = b.node("Add", [
    b.node("Mul", [n, perChannel(b, gamma, r)], x.shape),
    perChannel(b, beta, r),
  ], x.shape);
  if (scale) {
    const s = perChannel(b, scale, r);
    const onePlus = b.node("Add", [s, g.float([1], [])], s.shape);
    y = b.node("Mul", [y, onePlus], x.shape);
  }
  if (shift) y = b.node("Add", [y, perChannel(b, shift, r)], x.shape);
  if (silu) y = b.node("Mul", [y, b.node("Sigmoid", [y], x.shape)], x.shape);
  const stats = b.node("Concat", [mean, rstd], [N, groups, 2], { axis: 2 });
  return [y, stats];
}

/**
 * 2× resampling of the last two axes times `f` (src/ops/resample.ts): nearest up-sampling by
 * Resize (floor of i/2), 2×2 sum pooling as AveragePool·4.
 *
 * @param b the tracing backend
 * @param kind "up" or "down"
 * @param x [..., H, W] (rank 4 for "down")
 * @param f the factor (1 up, 0.25 down in the forward)
 * @param shape the output shape
 * @returns the resampled tensor
 */
export function resampleOnnx(
  b: OnnxBackend,
  kind: "up" | "down",
  x: Tensor,
  f: number,
  shape: readonly number[],
): Tensor {
  const g = b.graph;
  let y: Tensor;
  if (kind === "up") {
    const scales = g.float(x.shape.map((_, k) => (k >= x.shape.length - 2 ? 2 : 1)), [
      x.shape.length,
    ]);
    y = b.node("Resize", [x, "", scales], shape, {
      mode: "nearest",
      coordinate_transformation_mode: "asymmetric",
      nearest_mode: "floor",
    });
  } else {
    if (x.shape.length !== 4) {
      throw new Error(`downsample2x (onnx): x must be [N, C, H, W], got [${x.shape}]`);
    }
    y = b.node("AveragePool", [x], shape, { kernel_shape: [2, 2], strides: [2, 2] });
    f *= 4;
  }
  return f === 1 ? y : b.node("Mul", [y, g.float([f], [])], shape);
}

/**
 * [cos(x ⊗ freqs), sin(x ⊗ freqs)] (src/ops/positional_embedding.ts), the phase rounded to
 * f32 as the CPU twin rounds it.
 *
 * @param b the tracing backend
 * @param x positions [N]
 * @param freqs the frequencies
 * @returns [N, 2·freqs.length]
 */
export function positionalEmbeddingOnnx(b: OnnxBackend, x: Tensor, freqs: Float64Array): Tensor {
  const N = x.shape[0];
  const half = freqs.length;
  const col = b.node("Reshape", [x, b.graph.int64([-1, 1])], [N, 1]);
  const phase = b.node("Mul", [col, b.graph.float(freqs, [1, half])], [N, half]);
  const cos = b.node("Cos", [phase], [N, half]);
  const sin = b.node("Sin", [phase], [N, half]);
  return b.node("Concat", [cos, sin], [N, 2 * half], { axis: 1 });
}
