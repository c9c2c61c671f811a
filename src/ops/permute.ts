/**
 * General transpose (torch.permute) of up to 6 dimensions, materialised contiguously.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { permuteGpu } from "../../gpu/kernels/permute.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { permuteCpu } from "../cpu/permute.ts";
import { coalesce, MAX_DIMS } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { onBackend } from "./dispatch.ts";

/**
 * Reorders the dimensions: output dimension k is input dimension `axes[k]`.
 *
 * @param x input of rank ≤ 6
 * @param axes a permutation of 0…rank−1 (negative values count from the end)
 * @returns a contiguous tensor of shape axes.map((a) => x.shape[a])
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { permute } from "./permute.ts";
 * const x = cpuBackend().fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * const y = permute(x, [1, 0]); // [[1, 4], [2, 5], [3, 6]]
 * ```
 */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.shape.length;
  const ax = axes.map((a) => (a < 0 ? a + rank : a));
  const seen = new Set(ax);
  if (ax.length !== rank || seen.size !== rank || ax.some((a) => !(a >= 0 && a < rank))) {
    throw new Error(`permute: [${axes}] is not a permutation of the axes of [${x.shape}]`);
  }
  if (rank > MAX_DIMS) throw new Error(`permute: at most ${MAX_DIMS} dimensions, got [${x.shape}]`);
  const inStrides: number[] = new Array(rank);
  let s = 1;
  for (let k = rank - 1; k >= 0; k--) {
    inStrides[k] = s;
    s *= x.shape[k];
  }
  const outShape = ax.map((a) => x.shape[a]);
  const c = coalesce(outShape, [ax.map((a) => inStrides[a])]);
  const label = `permute [${x.shape}] by [${ax}]`;
  const y = onBackend(
    label,
    [x],
    {
      cpu: (be) => {
        const out = be.empty(outShape);
        permuteCpu(cpuData(x), c.shape, c.strides[0], cpuData(out));
        return out;
      },
      webgpu: (be) => {
        const out = be.empty(outShape);
        permuteGpu(be.engine, label, gpuBuffer(x), c.shape, c.strides[0], gpuBuffer(out));
        return out;
      },
    },
  );
  const inverse: number[] = new Array(rank);
  ax.forEach((a, k) => (inverse[a] = k));
  record(y, [x], (g) => [permute(g, inverse)]);
  return y;
}
