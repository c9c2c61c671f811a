/**
 * Exponential moving average of parameters (EDM's ema), updated in place on the device.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { emaGpu } from "../../gpu/kernels/ema.ts";
import { cpuData } from "../cpu/backend.ts";
import { emaCpu } from "../cpu/ema.ts";
import { onBackend } from "../ops/dispatch.ts";
import type { Tensor } from "../tensor.ts";

/**
 * ema ← β·ema + (1 − β)·param, written into `ema`'s storage (no autograd, no await).
 *
 * @param ema the running average (updated in place)
 * @param param the current parameter (same size)
 * @param beta decay in [0, 1], e.g. 0.999
 * @example
 * ```ts
 * import { cpuBackend } from "../backends.ts";
 * import { emaUpdate } from "./ema.ts";
 * const b = cpuBackend();
 * const ema = b.full([3], 0);
 * emaUpdate(ema, b.full([3], 1), 0.9); // ema = 0.1
 * ```
 */
export function emaUpdate(ema: Tensor, param: Tensor, beta: number): void {
  if (ema.size !== param.size) {
    throw new Error(`emaUpdate: ema [${ema.shape}] and param [${param.shape}] differ in size`);
  }
  if (!(beta >= 0 && beta <= 1)) throw new Error(`emaUpdate: beta must be in [0, 1], got ${beta}`);
  onBackend(
    "emaUpdate",
    [ema, param],
    () => emaCpu(cpuData(ema), cpuData(param), ema.size, 1 - beta),
    (b) => {
      if (ema.size > 0) emaGpu(b.engine, gpuBuffer(ema), gpuBuffer(param), ema.size, 1 - beta);
    },
  );
}
