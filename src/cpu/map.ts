/**
 * CPU twin of the broadcasting elementwise kernel.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";
import { compileExpr } from "../layout/expr.ts";

/**
 * out[i] = expr(inputs at their broadcast offsets, p0, p1) over the coalesced `shape`.
 *
 * @param expr expression over `names`
 * @param names input names
 * @param inputs input arrays
 * @param shape coalesced iteration shape
 * @param strides per input, per dimension
 * @param out output array (row-major over shape)
 * @param params p0, p1
 */
export function mapCpu(
  expr: string,
  names: readonly string[],
  inputs: readonly Arr[],
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  out: Arr,
  params: readonly number[],
): void {
  const fn = compileExpr(expr, names);
  const n = shape.reduce((a, b) => a * b, 1);
  const D = shape.length;
  const offs = new Array<number>(inputs.length).fill(0);
  const vals = new Array<number>(inputs.length + 2);
  vals[inputs.length] = params[0] ?? 0;
  vals[inputs.length + 1] = params[1] ?? 0;
  for (let i = 0; i < n; i++) {
    offs.fill(0);
    let r = i;
    for (let k = D - 1; k >= 0; k--) {
      const c = r % shape[k];
      r = (r - c) / shape[k];
      for (let j = 0; j < inputs.length; j++) offs[j] += c * strides[j][k];
    }
    for (let j = 0; j < inputs.length; j++) vals[j] = inputs[j][offs[j]];
    out[i] = fn(...vals);
  }
}
