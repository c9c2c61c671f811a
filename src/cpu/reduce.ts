/**
 * CPU twin of the reduction kernel: out[o] = Σ_r pre(x[base(o) + off(r)]).
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";
import type { ReducePlan } from "../layout/reduce_plan.ts";

function offset(i: number, sizes: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let k = sizes.length - 1; k >= 0; k--) {
    const c = i % sizes[k];
    i = (i - c) / sizes[k];
    off += c * strides[k];
  }
  return off;
}

/**
 * Sums `x` (squared first when `square`) over the plan's reduced dims into `out`.
 *
 * @param x input
 * @param plan the reduction layout
 * @param square sum of squares instead of sum
 * @param out output, one value per kept index
 */
export function reduceCpu(x: Arr, plan: ReducePlan, square: boolean, out: Arr): void {
  const offs = new Array<number>(plan.redCount);
  for (let r = 0; r < plan.redCount; r++) offs[r] = offset(r, plan.red, plan.redStrides);
  for (let o = 0; o < plan.outCount; o++) {
    const base = offset(o, plan.keep, plan.keepStrides);
    let acc = 0;
    for (let r = 0; r < plan.redCount; r++) {
      const v = x[base + offs[r]];
      acc += square ? v * v : v;
    }
    out[o] = acc;
  }
}
