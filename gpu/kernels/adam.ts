/**
 * The Adam update in place (torch.optim.Adam's arithmetic) of many parameters per dispatch
 * (multi_tensor.ts): m, v, and the parameter are read and written by one invocation per
 * element; an optional one-element gradient scale (from clipping) is read on the device, so
 * no value comes back to the CPU.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { multiTensorGpu, type MultiTensorOp } from "./multi_tensor.ts";

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

/** The update of element k of tensor j, 64 elements an invocation. */
function adamOp(scaled: boolean): MultiTensorOp {
  return {
    key: scaled ? "adam (scaled)" : "adam",
    reads: ["grad"],
    sharedReads: scaled ? ["gscale"] : [],
    writes: ["param", "m", "v"],
    floats: ["stepSize", "beta1", "beta2", "invBc2Sqrt", "eps", "om1", "om2"],
    chunk: 64,
    before: scaled ? "let scale = gscale[0];" : "",
    each: (j) =>
      `let gr = grad${j}[k]${scaled ? " * scale" : ""}; ` +
      `let mi = p.beta1 * m${j}[k] + p.om1 * gr; ` +
      `let vi = p.beta2 * v${j}[k] + p.om2 * gr * gr; ` +
      `m${j}[k] = mi; v${j}[k] = vi; ` +
      `param${j}[k] = param${j}[k] - p.stepSize * mi / (sqrt(vi) * p.invBc2Sqrt + p.eps);`,
  };
}

const OPS = [adamOp(false), adamOp(true)];

/** The buffers of one parameter's Adam update. */
export interface AdamBuffers {
  /** Parameter (updated). */
  param: GPUBuffer;
  /** Gradient. */
  grad: GPUBuffer;
  /** First moment (updated). */
  m: GPUBuffer;
  /** Second moment (updated). */
  v: GPUBuffer;
  /** Elements. */
  n: number;
}

/**
 * Records one Adam step of every parameter in `items` (as few dispatches as the adapter's
 * storage bindings allow).
 *
 * @param engine the engine
 * @param items the parameters' buffers and sizes
 * @param s the step's scalars
 * @param gradScale optional buffer whose first float multiplies every gradient
 */
export function adamGpu(
  engine: Engine,
  items: readonly AdamBuffers[],
  s: AdamScalars,
  gradScale?: GPUBuffer,
): void {
  const args = items.map((t) => ({ buffers: [t.grad, t.param, t.m, t.v], length: t.n }));
  multiTensorGpu(
    engine,
    OPS[gradScale ? 1 : 0],
    args,
    { reads: gradScale ? [gradScale] : [] },
    [s.stepSize, s.beta1, s.beta2, s.invBc2Sqrt, s.eps, 1 - s.beta1, 1 - s.beta2],
  );
}
