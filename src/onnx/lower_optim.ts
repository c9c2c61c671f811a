/**
 * ONNX lowerings of the optimiser updates (src/optim/): Adam, the global-norm clipping factor
 * and the EMA. A graph updates nothing in place, so each writes its results as new values and
 * `OnnxBackend.assign` makes the parameter, moment and EMA tensors name them: the in-place
 * seam of src/optim/ records out-of-place nodes, and the caller marks the tensors as outputs.
 *
 * @module
 */
import type { AdamScalars } from "../../gpu/kernels/adam.ts";
import type { Tensor } from "../core/tensor.ts";
import { type OnnxBackend, onnxName } from "./backend.ts";
import { lowerExpr } from "./expr.ts";

/**
 * One Adam step of one parameter (src/cpu/adam.ts): with g = grad·scale,
 * m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², p ← p − stepSize·m / (√v·invBc2Sqrt + ε).
 * stepSize and invBc2Sqrt change with the step: they are the scalar inputs `adam.stepSize`
 * and `adam.invBc2Sqrt` (src/onnx/step_scalars.ts).
 *
 * @param b the tracing backend
 * @param item the parameter, its gradient and moments (param, m, v are reassigned)
 * @param s the step's scalars
 * @param gradScale a one-element factor of the gradient (clipping), or undefined
 */
export function adamOnnx(
  b: OnnxBackend,
  item: { param: Tensor; grad: Tensor; m: Tensor; v: Tensor },
  s: AdamScalars,
  gradScale: Tensor | undefined,
): void {
  const g = b.graph;
  const c = (v: number) => g.float([v], []);
  const grad = item.grad.shape.join() === item.param.shape.join()
    ? item.grad
    : b.view(item.grad, item.param.shape);
  const vars: Record<string, string> = {
    p: onnxName(item.param),
    m: onnxName(item.m),
    v: onnxName(item.v),
    gr: gradScale
      ? g.node("Mul", [onnxName(grad), onnxName(b.view(gradScale, []))])[0]
      : onnxName(grad),
    b1: c(s.beta1),
    c1: c(1 - s.beta1),
    b2: c(s.beta2),
    c2: c(1 - s.beta2),
    lr: onnxName(b.scalar("adam.stepSize", s.stepSize)),
    ib: onnxName(b.scalar("adam.invBc2Sqrt", s.invBc2Sqrt)),
    eps: c(s.eps),
  };
  vars.m1 = lowerExpr(g, "b1 * m + c1 * gr", vars);
  vars.v1 = lowerExpr(g, "b2 * v + c2 * gr * gr", vars);
  const p1 = lowerExpr(g, "p - lr * m1 / (sqrt(v1) * ib + eps)", vars);
  const shape = item.param.shape;
  b.assign(item.m, b.value(vars.m1, shape));
  b.assign(item.v, b.value(vars.v1, shape));
  b.assign(item.param, b.value(p1, shape));
}

/**
 * The clipping factor min(1, maxNorm / (√Σ‖gᵢ‖² + eps)) of src/cpu/clip.ts, shape [].
 *
 * @param b the tracing backend
 * @param sums each gradient's Σ g² (one-element tensors)
 * @param maxNorm the largest allowed global norm
 * @param eps added to the norm
 * @returns the factor
 */
export function clipScaleOnnx(
  b: OnnxBackend,
  sums: readonly Tensor[],
  maxNorm: number,
  eps: number,
): Tensor {
  const g = b.graph;
  const scalars = sums.map((t) => onnxName(b.view(t, [])));
  const total = scalars.length === 1 ? scalars[0] : g.node("Sum", scalars)[0];
  const vars = { t: total, mx: g.float([maxNorm], []), e: g.float([eps], []) };
  return b.value(lowerExpr(g, "min(1.0, mx / (sqrt(t) + e))", vars), []);
}

/**
 * ema ← ema + (1 − β)·(param − ema) (src/cpu/ema.ts), `ema` reassigned; 1 − β changes with
 * the step: it is the scalar input `ema.weight`.
 *
 * @param b the tracing backend
 * @param ema the running average
 * @param param the current parameter
 * @param w 1 − β
 */
export function emaOnnx(b: OnnxBackend, ema: Tensor, param: Tensor, w: number): void {
  const p = param.shape.join() === ema.shape.join() ? param : b.view(param, ema.shape);
  const vars = { e: onnxName(ema), p: onnxName(p), w: onnxName(b.scalar("ema.weight", w)) };
  b.assign(ema, b.value(lowerExpr(b.graph, "e + w * (p - e)", vars), ema.shape));
}
