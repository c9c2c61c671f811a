/**
 * EDM SongUNet's self-attention over pixels, composed from slice, matmul and softmax.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { slice } from "./concat.ts";
import { scale } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { softmax } from "./softmax.ts";
import { reshape } from "./reshape.ts";

/**
 * Multi-head attention exactly as EDM's UNetBlock (networks.py): with c = C/heads and
 * L = H·W, `q, k, v = qkv.reshape(N·heads, c, 3, L).unbind(2)`,
 * `w = softmax(einsum('ncq,nck->nqk', q, k / √c), dim=2)`,
 * `a = einsum('nqk,nck->ncq', w, v)`, returned as `a.reshape(N, C, H, W)`.
 * So channel ((head·c) + i)·3 + j of qkv is component i of head `head`'s q, k or v (j = 0, 1, 2).
 *
 * @param qkv [N, 3C, H, W], the output of the block's 1×1 qkv convolution
 * @param heads number of heads (divides C)
 * @returns [N, C, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { multiHeadAttention } from "./attention.ts";
 * const qkv = cpuBackend().full([1, 6, 2, 2], 0.5);
 * const a = multiHeadAttention(qkv, 1); // [1, 2, 2, 2]
 * ```
 */
export function multiHeadAttention(qkv: Tensor, heads: number): Tensor {
  if (qkv.shape.length !== 4 || qkv.shape[1] % 3 !== 0) {
    throw new Error(`multiHeadAttention: qkv must be [N, 3C, H, W], got [${qkv.shape}]`);
  }
  const [N, C3, H, W] = qkv.shape;
  const C = C3 / 3;
  if (!Number.isInteger(heads) || heads < 1 || C % heads !== 0) {
    throw new Error(`multiHeadAttention: ${heads} heads do not divide ${C} channels`);
  }
  const B = N * heads;
  const c = C / heads;
  const L = H * W;
  const x = reshape(qkv, [B, c, 3, L]);
  const part = (j: number) => reshape(slice(x, 2, j, 1), [B, c, L]);
  const q = part(0);
  const k = scale(part(1), 1 / Math.sqrt(c));
  const v = part(2);
  // w[n, q, k] = Σ_c q[n, c, q] k[n, c, k], normalised over k.
  const w = softmax(matmul(q, k, { transA: true }));
  // a[n, c, q] = Σ_k v[n, c, k] w[n, q, k].
  const a = matmul(v, w, { transB: true });
  return reshape(a, [N, C, H, W]);
}
