/**
 * Reductions: sum, mean, sum of squares over axes, per-sample norms, and `sumTo` (the
 * backward of broadcasting).
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { reduceGpu } from "../../gpu/kernels/reduce.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { reduceCpu } from "../cpu/reduce.ts";
import { planReduce } from "../layout/reduce_plan.ts";
import type { Tensor } from "../core/tensor.ts";
import { onBackend } from "./dispatch.ts";
import { scale, sqrt } from "./elementwise.ts";
import { map } from "./map.ts";
import { reshape } from "./reshape.ts";

function allAxes(t: Tensor): number[] {
  return t.shape.map((_, k) => k);
}

function keptShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const ax = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
  return keepDims ? shape.map((d, k) => (ax.has(k) ? 1 : d)) : shape.filter((_, k) => !ax.has(k));
}

function rawReduce(x: Tensor, axes: readonly number[], keepDims: boolean, square: boolean): Tensor {
  const plan = planReduce(x.shape, axes);
  const shape = keptShape(x.shape, axes, keepDims);
  const label = square ? "sumSquares" : "sum";
  return onBackend(
    label,
    [x],
    {
      cpu: (b) => {
        const out = b.empty(shape);
        reduceCpu(cpuData(x), plan, square, cpuData(out));
        return out;
      },
      webgpu: (b) => {
        const out = b.empty(shape);
        reduceGpu(b.engine, `${label} [${x.shape}]`, gpuBuffer(x), plan, square, gpuBuffer(out));
        return out;
      },
    },
  );
}

/**
 * Sum over `axes` (all by default).
 *
 * @param x input
 * @param axes axes to sum over
 * @param keepDims keep reduced axes as size 1
 * @returns the sums
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { sum } from "./reduce.ts";
 * const s = sum(cpuBackend().fromArray([1, 2, 3, 4], [2, 2]), [1]); // [3, 7]
 * ```
 */
export function sum(x: Tensor, axes: readonly number[] = allAxes(x), keepDims = false): Tensor {
  const y = rawReduce(x, axes, keepDims, false);
  record(y, [x], (g) => [broadcastTo(reshape(g, keptShape(x.shape, axes, true)), x.shape)]);
  return y;
}

/**
 * Mean over `axes` (all by default).
 *
 * @param x input
 * @param axes axes to average over
 * @param keepDims keep reduced axes as size 1
 * @returns the means
 */
export function mean(x: Tensor, axes: readonly number[] = allAxes(x), keepDims = false): Tensor {
  const n = x.size / Math.max(1, keptShape(x.shape, axes, true).reduce((a, b) => a * b, 1));
  const s = sum(x, axes, keepDims);
  return scale(s, 1 / n);
}

/**
 * Sum of squares over `axes` (all by default), in one pass.
 *
 * @param x input
 * @param axes axes to reduce
 * @param keepDims keep reduced axes as size 1
 * @returns Σ x²
 */
export function sumSquares(
  x: Tensor,
  axes: readonly number[] = allAxes(x),
  keepDims = false,
): Tensor {
  const y = rawReduce(x, axes, keepDims, true);
  record(y, [x], (g) => [
    map("sumSquares.backward", "2.0 * a * g", ["a", "g"], [
      x,
      reshape(g, keptShape(x.shape, axes, true)),
    ]),
  ]);
  return y;
}

/**
 * Per-sample L2 norms: ‖x[n]‖ over every axis but the first, shape [N].
 *
 * @param x input of shape [N, …]
 * @returns the norms
 */
export function perSampleNorm(x: Tensor): Tensor {
  const s = sumSquares(x, allAxes(x).slice(1));
  return sqrt(s);
}

/**
 * Sums `g` down to `shape` (undoes broadcasting): the gradient of a broadcast input.
 *
 * @param g gradient of the broadcast result
 * @param shape the input's shape
 * @returns gradient of the input, of `shape`
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, k) => d === shape[k])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, k) => {
    if (k < lead || (shape[k - lead] === 1 && d !== 1)) axes.push(k);
  });
  return reshape(rawReduce(g, axes, false, false), shape);
}

/** Broadcasts `x` to `shape` (materialised copy). */
function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const zero = x.backend.full(shape, 0);
  const y = map("broadcast", "a + b", ["a", "b"], [x, zero]);
  zero.dispose();
  return y;
}
