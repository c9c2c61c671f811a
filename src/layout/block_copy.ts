/**
 * The layout of concat and slice: a tensor seen as [rows, axis·inner] copies a run of each
 * row into a run of each row of another tensor.
 *
 * @module
 */

/** A copy of `rows` runs of `cols` elements between two row-strided layouts. */
export interface BlockCopy {
  /** Number of rows (the product of the dimensions before the axis). */
  rows: number;
  /** Elements copied per row. */
  cols: number;
  /** Source row length. */
  srcRow: number;
  /** Offset of the run within a source row. */
  srcOff: number;
  /** Destination row length. */
  dstRow: number;
  /** Offset of the run within a destination row. */
  dstOff: number;
}

/**
 * The copy that undoes `b`: from its destination back to its source layout.
 *
 * @param b a block copy
 * @returns the same runs copied the other way
 */
export function reverseBlock(b: BlockCopy): BlockCopy {
  return {
    rows: b.rows,
    cols: b.cols,
    srcRow: b.dstRow,
    srcOff: b.dstOff,
    dstRow: b.srcRow,
    dstOff: b.srcOff,
  };
}
