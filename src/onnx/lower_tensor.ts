/**
 * ONNX lowerings of the tensor primitives (elementwise maps, matmul, softmax, reductions,
 * slicing, concatenation, permutation), each the graph twin of a src/cpu/ kernel.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { type OnnxBackend, onnxName } from "./backend.ts";
import { lowerExpr } from "./expr.ts";

/**
 * The broadcasting elementwise map (src/ops/map.ts) as one node per sub-expression.
 *
 * @param b the tracing backend
 * @param expr expression over `names`, p0, p1
 * @param names input names
 * @param inputs the tensors
 * @param params p0, p1
 * @param shape the broadcast output shape
 * @returns the result
 */
export function mapOnnx(
  b: OnnxBackend,
  expr: string,
  names: readonly string[],
  inputs: readonly Tensor[],
  params: readonly number[],
  shape: readonly number[],
): Tensor {
  const vars: Record<string, string> = {};
  // Only the parameters the expression reads become constants (no unused initializers).
  ["p0", "p1"].forEach((p, k) => {
    if (new RegExp(`\\b${p}\\b`).test(expr)) vars[p] = b.graph.float([params[k] ?? 0], []);
  });
  names.forEach((n, k) => (vars[n] = onnxName(inputs[k])));
  return b.value(lowerExpr(b.graph, expr, vars), shape);
}

/** Swaps the last two axes (a transposed matmul operand). */
function transposeLast(b: OnnxBackend, t: Tensor): Tensor {
  const r = t.shape.length;
  const perm = t.shape.map((_, k) => (k === r - 2 ? r - 1 : k === r - 1 ? r - 2 : k));
  return b.node("Transpose", [t], perm.map((a) => t.shape[a]), { perm });
}

/**
 * op(a)·op(b) batched (src/ops/matmul.ts): ONNX MatMul broadcasts the leading axes the same way.
 *
 * @param b the tracing backend
 * @param x left operand
 * @param y right operand
 * @param transA use xᵀ
 * @param transB use yᵀ
 * @param shape the output shape
 * @returns the product
 */
export function matmulOnnx(
  b: OnnxBackend,
  x: Tensor,
  y: Tensor,
  transA: boolean,
  transB: boolean,
  shape: readonly number[],
): Tensor {
  const lhs = transA ? transposeLast(b, x) : x;
  const rhs = transB ? transposeLast(b, y) : y;
  return b.node("MatMul", [lhs, rhs], shape);
}

/** softmax over the last axis (ONNX Softmax, opset ≥ 13 semantics). */
export function softmaxOnnx(b: OnnxBackend, x: Tensor): Tensor {
  return b.node("Softmax", [x], x.shape, { axis: -1 });
}

/**
 * Σ over `axes` (of x or x²), as ReduceSum / ReduceSumSquare.
 *
 * @param b the tracing backend
 * @param x input
 * @param axes the reduced axes
 * @param square sum squares
 * @param shape the output shape (keepDims decided by the caller's shape)
 * @returns the sums
 */
export function reduceOnnx(
  b: OnnxBackend,
  x: Tensor,
  axes: readonly number[],
  square: boolean,
  shape: readonly number[],
): Tensor {
  // Reduce with kept axes, then view as the caller's shape (kept or dropped axes alike).
  const op = square ? "ReduceSumSquare" : "ReduceSum";
  const kept = x.shape.map((
    d,
    k,
  ) => (axes.includes(k) || axes.includes(k - x.shape.length) ? 1 : d));
  const r = square
    ? b.node(op, [x], kept, { axes: [...axes], keepdims: 1 })
    : b.node(op, [x, b.graph.int64([...axes])], kept, { keepdims: 1 });
  return b.view(r, shape);
}

/**
 * Output axis k is input axis `axes[k]` (ONNX Transpose).
 *
 * @param b the tracing backend
 * @param x input
 * @param axes the permutation, non-negative
 * @returns the permuted tensor
 */
export function permuteOnnx(b: OnnxBackend, x: Tensor, axes: readonly number[]): Tensor {
  return b.node("Transpose", [x], axes.map((a) => x.shape[a]), { perm: [...axes] });
}

/**
 * `length` entries of `axis` from `start` (ONNX Slice).
 *
 * @param b the tracing backend
 * @param x input
 * @param axis non-negative axis
 * @param start first index
 * @param length count
 * @returns the slice
 */
export function sliceOnnx(
  b: OnnxBackend,
  x: Tensor,
  axis: number,
  start: number,
  length: number,
): Tensor {
  const g = b.graph;
  const shape = x.shape.map((d, k) => (k === axis ? length : d));
  return b.node("Slice", [x, g.int64([start]), g.int64([start + length]), g.int64([axis])], shape);
}

/** Joins along `axis` (ONNX Concat); `shape` is the joined shape. */
export function concatOnnx(
  b: OnnxBackend,
  xs: readonly Tensor[],
  axis: number,
  shape: readonly number[],
): Tensor {
  return b.node("Concat", xs, shape, { axis });
}
