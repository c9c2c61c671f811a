/**
 * The broadcasting elementwise op (no gradient of its own: differentiable ops build on it).
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { mapGpu } from "../../gpu/kernels/map.ts";
import { cpuData } from "../cpu/backend.ts";
import { mapCpu } from "../cpu/map.ts";
import { broadcastShapes, broadcastStrides, coalesce } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { onBackend } from "./dispatch.ts";

/**
 * Evaluates `expr` elementwise over broadcast inputs.
 *
 * @param label op name for errors
 * @param expr expression in the WGSL/JS subset over `names`, `p0`, `p1`
 * @param names one name per input
 * @param inputs the tensors
 * @param params values of p0, p1
 * @returns a new tensor of the broadcast shape
 */
export function map(
  label: string,
  expr: string,
  names: readonly string[],
  inputs: readonly Tensor[],
  params: readonly number[] = [],
): Tensor {
  const shape = broadcastShapes(...inputs.map((t) => t.shape));
  const c = coalesce(shape, inputs.map((t) => broadcastStrides(t.shape, shape)));
  return onBackend(
    label,
    inputs,
    {
      cpu: (b) => {
        const out = b.empty(shape);
        mapCpu(expr, names, inputs.map(cpuData), c.shape, c.strides, cpuData(out), params);
        return out;
      },
      webgpu: (b) => {
        const out = b.empty(shape);
        const bufs = inputs.map(gpuBuffer);
        mapGpu(b.engine, label, expr, names, bufs, c.shape, c.strides, gpuBuffer(out), params);
        return out;
      },
    },
  );
}
