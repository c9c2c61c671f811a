/**
 * Exponential moving average of parameters (EDM's ema), updated in place on the device.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { emaGpu } from "../../gpu/kernels/ema.ts";
import { cpuData } from "../cpu/backend.ts";
import { emaCpu } from "../cpu/ema.ts";
import { emaOnnx } from "../onnx/lower_optim.ts";
import { onBackend } from "../ops/dispatch.ts";
import type { Tensor } from "../core/tensor.ts";

/**
 * ema ← β·ema + (1 − β)·param, written into `ema`'s storage (no autograd, no await).
 *
 * @param ema the running average (updated in place)
 * @param param the current parameter (same size)
 * @param beta decay in [0, 1], e.g. 0.999
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { emaUpdate } from "./ema.ts";
 * const b = cpuBackend();
 * const ema = b.full([3], 0);
 * emaUpdate(ema, b.full([3], 1), 0.9); // ema = 0.1
 * ```
 */
export function emaUpdate(ema: Tensor, param: Tensor, beta: number): void {
  emaUpdateMany([ema], [param], beta);
}

/**
 * `emaUpdate` of every pair (emas[i], params[i]): on WebGPU a few dispatches for all of them
 * instead of one each.
 *
 * @param emas the running averages (updated in place)
 * @param params the current parameters, one per average, same sizes
 * @param beta decay in [0, 1]
 */
export function emaUpdateMany(
  emas: readonly Tensor[],
  params: readonly Tensor[],
  beta: number,
): void {
  if (emas.length !== params.length) {
    throw new Error(`emaUpdate: ${emas.length} averages for ${params.length} parameters`);
  }
  emas.forEach((ema, i) => {
    if (ema.size !== params[i].size) {
      throw new Error(
        `emaUpdate: ema [${ema.shape}] and param [${params[i].shape}] differ in size`,
      );
    }
  });
  if (!(beta >= 0 && beta <= 1)) throw new Error(`emaUpdate: beta must be in [0, 1], got ${beta}`);
  if (emas.length === 0) return;
  onBackend(
    "emaUpdate",
    [...emas, ...params],
    {
      cpu: () => emas.forEach((e, i) => emaCpu(cpuData(e), cpuData(params[i]), e.size, 1 - beta)),
      webgpu: (b) => {
        const pairs = emas.map((e, i) => ({ ema: e, param: params[i] }))
          .filter(({ ema }) => ema.size > 0)
          .map(({ ema, param }) => ({ ema: gpuBuffer(ema), param: gpuBuffer(param), n: ema.size }));
        emaGpu(b.engine, pairs, 1 - beta);
      },
      onnx: (b) => emas.forEach((e, i) => emaOnnx(b, e, params[i], 1 - beta)),
    },
  );
}
