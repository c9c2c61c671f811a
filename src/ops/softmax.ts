/**
 * Numerically stable softmax over the last axis, with its own backward kernel.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { softmaxBackwardGpu, softmaxGpu } from "../../gpu/kernels/softmax.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { softmaxBackwardCpu, softmaxCpu } from "../cpu/softmax.ts";
import type { Tensor } from "../core/tensor.ts";
import { softmaxBackwardOnnx } from "../onnx/lower_grad.ts";
import { softmaxOnnx } from "../onnx/lower_tensor.ts";
import { onBackend } from "./dispatch.ts";

function rowsOf(x: Tensor): [number, number] {
  const len = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
  return [len === 0 ? 0 : x.size / len, len];
}

/** dx = y ⊙ (g − Σ g⊙y) per row (not itself differentiable). */
function softmaxBackward(y: Tensor, g: Tensor): Tensor {
  const [rows, len] = rowsOf(y);
  const label = `softmax.backward [${y.shape}]`;
  return onBackend(
    label,
    [y, g],
    {
      cpu: (be) => {
        const dx = be.empty(y.shape);
        softmaxBackwardCpu(cpuData(y), cpuData(g), cpuData(dx), rows, len);
        return dx;
      },
      webgpu: (be) => {
        const dx = be.empty(y.shape);
        softmaxBackwardGpu(be.engine, label, gpuBuffer(y), gpuBuffer(g), gpuBuffer(dx), rows, len);
        return dx;
      },
      onnx: (be) => softmaxBackwardOnnx(be, y, g),
    },
  );
}

/**
 * softmax(x) along the last axis: exp(x − max) / Σ exp(x − max), as torch.softmax(x, -1).
 *
 * @param x input of any shape
 * @returns the row-normalised probabilities, same shape
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { softmax } from "./softmax.ts";
 * const y = softmax(cpuBackend().fromArray([0, Math.log(3)], [1, 2])); // [[0.25, 0.75]]
 * ```
 */
export function softmax(x: Tensor): Tensor {
  const [rows, len] = rowsOf(x);
  const label = `softmax [${x.shape}]`;
  const y = onBackend(
    label,
    [x],
    {
      cpu: (be) => {
        const out = be.empty(x.shape);
        softmaxCpu(cpuData(x), cpuData(out), rows, len);
        return out;
      },
      webgpu: (be) => {
        const out = be.empty(x.shape);
        softmaxGpu(be.engine, label, gpuBuffer(x), gpuBuffer(out), rows, len);
        return out;
      },
      onnx: (be) => softmaxOnnx(be, x),
    },
  );
  record(y, [x], (g) => [softmaxBackward(y, g)]);
  return y;
}
