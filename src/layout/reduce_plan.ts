/**
 * How a sum over axes is laid out for the kernels: the kept dimensions and the reduced
 * dimensions, each coalesced, with the input strides of each.
 *
 * @module
 */
import { coalesce } from "../core/shape.ts";

/** Most dimensions per group (kept / reduced) after coalescing. */
export const MAX_GROUP_DIMS = 4;

/** A reduction of an input tensor over some axes. */
export interface ReducePlan {
  /** Sizes of kept dims (output is row-major over them). */
  keep: number[];
  /** Input strides of kept dims. */
  keepStrides: number[];
  /** Sizes of reduced dims. */
  red: number[];
  /** Input strides of reduced dims. */
  redStrides: number[];
  /** Number of outputs. */
  outCount: number;
  /** Elements summed per output. */
  redCount: number;
}

/**
 * Plans a reduction of `shape` over `axes`.
 *
 * @param shape input shape
 * @param axes axes to reduce (negative counts from the end)
 * @returns the plan
 */
export function planReduce(shape: readonly number[], axes: readonly number[]): ReducePlan {
  const rank = shape.length;
  const ax = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  for (const a of ax) {
    if (a < 0 || a >= rank) throw new Error(`reduce: axis out of range for shape [${shape}]`);
  }
  const strides: number[] = new Array(rank);
  let s = 1;
  for (let k = rank - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k];
  }
  const pick = (want: boolean) => {
    const idx = shape.map((_, k) => k).filter((k) => ax.has(k) === want);
    const c = coalesce(idx.map((k) => shape[k]), [idx.map((k) => strides[k])]);
    if (c.shape.length > MAX_GROUP_DIMS) throw new Error(`reduce: too many dims in [${shape}]`);
    return { sizes: c.shape, strides: c.strides[0] };
  };
  const k = pick(false);
  const r = pick(true);
  const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
  return {
    keep: k.sizes,
    keepStrides: k.strides,
    red: r.sizes,
    redStrides: r.strides,
    outCount: prod(k.sizes),
    redCount: prod(r.sizes),
  };
}
