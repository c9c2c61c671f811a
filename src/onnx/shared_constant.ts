/**
 * Large constants a lowering makes from its dimensions alone (DFT matrices, im2col's one-hot
 * kernels), stored once per graph however many nodes use them: a network or an MRI step makes the
 * same one at every layer or transform.
 *
 * @module
 */
import type { OnnxGraph } from "./graph.ts";

const made = new WeakMap<OnnxGraph, Map<string, string>>();

/**
 * The f32 constant `key` of graph `g`, made by `values` the first time it is asked for.
 *
 * @param g the graph
 * @param key what determines the values (the lowering's name and dimensions)
 * @param dims the constant's shape
 * @param values makes the values
 * @returns the initializer's name
 */
export function sharedConstant(
  g: OnnxGraph,
  key: string,
  dims: readonly number[],
  values: () => Float32Array,
): string {
  let byKey = made.get(g);
  if (!byKey) made.set(g, byKey = new Map());
  let name = byKey.get(key);
  if (!name) byKey.set(key, name = g.float(values(), dims));
  return name;
}
