/**
 * Batched matrix product with operands optionally read transposed, and its gradient.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { matmulGpu } from "../../gpu/kernels/matmul.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { matmulCpu } from "../cpu/matmul.ts";
import { planMatmul } from "../layout/matmul_layout.ts";
import type { Tensor } from "../core/tensor.ts";
import { onBackend } from "./dispatch.ts";
import { sumTo } from "./reduce.ts";

/** Which operands `matmul` reads transposed (over their last two dimensions). */
export interface MatmulOptions {
  /** Use aᵀ: a is [..., K, M]. */
  transA?: boolean;
  /** Use bᵀ: b is [..., N, K]. */
  transB?: boolean;
}

/**
 * op(a) · op(b) over the last two dimensions, batched over the leading ones (equal in
 * both, or absent/all-ones in one operand, which is then shared by every batch).
 * Transposed operands are read in place, never copied.
 *
 * @param a [..., M, K] (or [..., K, M] with transA)
 * @param b [..., K, N] (or [..., N, K] with transB)
 * @param opts transpose flags
 * @returns [..., M, N]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { matmul } from "./matmul.ts";
 * const be = cpuBackend();
 * const a = be.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * const c = matmul(a, a, { transB: true }); // a·aᵀ = [[14, 32], [32, 77]]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const { layout, outShape } = planMatmul(a.shape, b.shape, transA, transB);
  const label = `matmul [${a.shape}]${transA ? "ᵀ" : ""} x [${b.shape}]${transB ? "ᵀ" : ""}`;
  const c = onBackend(
    label,
    [a, b],
    {
      cpu: (be) => {
        const out = be.empty(outShape);
        matmulCpu(cpuData(a), cpuData(b), cpuData(out), layout);
        return out;
      },
      webgpu: (be) => {
        const out = be.empty(outShape);
        matmulGpu(be.engine, label, gpuBuffer(a), gpuBuffer(b), gpuBuffer(out), layout);
        return out;
      },
    },
  );
  // With Â = op(a), B̂ = op(b): dÂ = dC·B̂ᵀ and dB̂ = Âᵀ·dC, transposed back where the
  // operand was stored transposed; a shared operand sums its gradient over the batch.
  record(c, [a, b], (g) => {
    const da = transA
      ? matmul(b, g, { transA: transB, transB: true })
      : matmul(g, b, { transB: !transB });
    const db = transB
      ? matmul(g, a, { transA: true, transB: transA })
      : matmul(a, g, { transA: !transA });
    return [sumTo(da, a.shape), sumTo(db, b.shape)];
  });
  return c;
}
