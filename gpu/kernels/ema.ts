/**
 * Exponential moving average in place, many tensors per dispatch (multi_tensor.ts):
 * ema ← ema + (1 − β)(param − ema).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { multiTensorGpu, type MultiTensorOp } from "./multi_tensor.ts";

// The lerp form keeps a constant parameter a fixed point; β·ema + (1 − β)·param with both
// coefficients rounded to f32 would drift by ~1e-7/(1 − β) relative.
const OP: MultiTensorOp = {
  key: "ema",
  reads: ["param"],
  writes: ["ema"],
  floats: ["w"],
  chunk: 64,
  each: (j) => `let e = ema${j}[k]; ema${j}[k] = e + p.w * (param${j}[k] - e);`,
};

/**
 * Records ema ← ema + w·(param − ema) for every pair (as few dispatches as the adapter's
 * storage bindings allow).
 *
 * @param engine the engine
 * @param pairs average buffer (updated), parameter buffer and their element count
 * @param w 1 − β
 */
export function emaGpu(
  engine: Engine,
  pairs: readonly { ema: GPUBuffer; param: GPUBuffer; n: number }[],
  w: number,
): void {
  const args = pairs.map((t) => ({ buffers: [t.param, t.ema], length: t.n }));
  multiTensorGpu(engine, OP, args, {}, [w]);
}
