/**
 * Shape arithmetic shared by both backends: broadcasting and dimension coalescing.
 *
 * @module
 */

/** Most dimensions a broadcasting or reducing kernel handles (after coalescing). */
export const MAX_DIMS = 6;

/**
 * NumPy-style broadcast of several shapes.
 *
 * @param shapes shapes to combine
 * @returns the broadcast shape
 */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + k] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) {
        throw new Error(`shapes ${shapes.map((s) => `[${s}]`).join(", ")} do not broadcast`);
      }
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** Row-major strides of `shape` as seen from `outShape` (0 along broadcast dimensions). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array(outShape.length).fill(0);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    const o = outShape.length - shape.length + k;
    strides[o] = shape[k] === 1 ? 0 : s;
    s *= shape[k];
  }
  return strides;
}

/**
 * Merges adjacent output dimensions whose strides are contiguous for every operand, so
 * kernels do less index arithmetic; returns at most MAX_DIMS dimensions.
 *
 * @param outShape the iteration shape
 * @param strides one stride list per operand, same length as outShape
 * @returns the merged shape and strides
 */
export function coalesce(
  outShape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const shape: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let k = 0; k < outShape.length; k++) {
    if (outShape[k] === 1) continue;
    const last = shape.length - 1;
    const mergeable = last >= 0 &&
      strides.every((s, j) => st[j][last] === s[k] * outShape[k]);
    if (mergeable) {
      shape[last] *= outShape[k];
      strides.forEach((s, j) => (st[j][last] = s[k]));
    } else {
      shape.push(outShape[k]);
      strides.forEach((s, j) => st[j].push(s[k]));
    }
  }
  if (shape.length > MAX_DIMS) {
    throw new Error(
      `broadcast needs ${shape.length} dimensions after merging; at most ${MAX_DIMS}`,
    );
  }
  return { shape, strides: st };
}

/** True when two shapes are identical. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
