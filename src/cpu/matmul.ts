/**
 * CPU twin of the matmul kernel: C[b] = op(A)[b] · op(B)[b] with strided reads.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";
import type { MatmulLayout } from "../layout/matmul_layout.ts";

/**
 * Writes the batched product into `c` (contiguous [batch, M, N]).
 *
 * @param a first operand, read at the layout's A strides
 * @param b second operand, read at the layout's B strides
 * @param c output
 * @param l sizes and strides
 */
export function matmulCpu(a: Arr, b: Arr, c: Arr, l: MatmulLayout): void {
  const { batch, M, N, K, sab, sam, sak, sbb, sbk, sbn } = l;
  const row = new Float64Array(N);
  for (let t = 0; t < batch; t++) {
    for (let m = 0; m < M; m++) {
      row.fill(0);
      const aRow = t * sab + m * sam;
      // k outside n: one A value is reused across a whole row of B.
      for (let k = 0; k < K; k++) {
        const av = a[aRow + k * sak];
        const bRow = t * sbb + k * sbk;
        for (let n = 0; n < N; n++) row[n] += av * b[bRow + n * sbn];
      }
      c.set(row, (t * M + m) * N);
    }
  }
}
