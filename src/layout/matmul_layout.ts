/**
 * How a batched matrix product reads its operands: sizes and element strides, so that a
 * transposed or batch-broadcast operand is read in place instead of being copied.
 *
 * @module
 */
import { broadcastShapes } from "../core/shape.ts";

/** C[b] = op(A)[b] · op(B)[b], with op(A) of shape [M, K] and op(B) of shape [K, N]. */
export interface MatmulLayout {
  /** Number of products. */
  batch: number;
  /** Rows of C. */
  M: number;
  /** Columns of C. */
  N: number;
  /** Shared (summed) dimension. */
  K: number;
  /** Stride of A between batches (0 when A is shared by all). */
  sab: number;
  /** Stride of A along m. */
  sam: number;
  /** Stride of A along k. */
  sak: number;
  /** Stride of B between batches (0 when B is shared by all). */
  sbb: number;
  /** Stride of B along k. */
  sbk: number;
  /** Stride of B along n. */
  sbn: number;
}

/** The layout and the shape of C. */
export interface MatmulPlan {
  /** How the kernel reads A and B. */
  layout: MatmulLayout;
  /** Shape of C: the batch dimensions, then [M, N]. */
  outShape: number[];
}

/**
 * Plans op(a)·op(b) for operands of rank ≥ 2 whose leading (batch) dimensions are equal,
 * or where one operand has a single matrix that every batch shares.
 *
 * @param aShape shape of a: [..., M, K], or [..., K, M] when transA
 * @param bShape shape of b: [..., K, N], or [..., N, K] when transB
 * @param transA read a transposed
 * @param transB read b transposed
 * @returns the layout and output shape
 */
export function planMatmul(
  aShape: readonly number[],
  bShape: readonly number[],
  transA: boolean,
  transB: boolean,
): MatmulPlan {
  const fail = (msg: string): never => {
    throw new Error(
      `matmul: ${msg} (a [${aShape}]${transA ? "ᵀ" : ""}, b [${bShape}]${transB ? "ᵀ" : ""})`,
    );
  };
  if (aShape.length < 2 || bShape.length < 2) fail("operands need at least 2 dimensions");
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) fail(`inner dimensions differ (${K} vs ${Kb})`);
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const count = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const same = aBatch.length === bBatch.length && aBatch.every((d, i) => d === bBatch[i]);
  if (!same && count(aBatch) !== 1 && count(bBatch) !== 1) fail("batch dimensions differ");
  const batchShape = broadcastShapes(aBatch, bBatch);
  const layout: MatmulLayout = {
    batch: count(batchShape),
    M,
    N,
    K,
    sab: count(aBatch) === 1 ? 0 : M * K,
    sam: transA ? 1 : K,
    sak: transA ? M : 1,
    sbb: count(bBatch) === 1 ? 0 : K * N,
    sbk: transB ? 1 : N,
    sbn: transB ? K : 1,
  };
  return { layout, outShape: [...batchShape, M, N] };
}
