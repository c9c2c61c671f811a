/**
 * CPU twin of the block-copy kernel behind concat and slice.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";
import type { BlockCopy } from "../layout/block_copy.ts";

/**
 * dst[r·dstRow + dstOff + j] = src[r·srcRow + srcOff + j] for r < rows, j < cols.
 *
 * @param src source array
 * @param dst destination array (elements outside the block are left as they are)
 * @param b the block
 */
export function copyBlockCpu(src: Arr, dst: Arr, b: BlockCopy): void {
  for (let r = 0; r < b.rows; r++) {
    const s = r * b.srcRow + b.srcOff;
    const d = r * b.dstRow + b.dstOff;
    for (let j = 0; j < b.cols; j++) dst[d + j] = src[s + j];
  }
}
