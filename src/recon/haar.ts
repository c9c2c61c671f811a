/**
 * The orthonormal 2-D Haar wavelet transform (Mallat pyramid) of planar complex images,
 * the sparsifying Ψ of the L1-wavelet baseline (Aali et al. 2024, §6), made of slices and
 * sums so that it runs on either backend.
 *
 * @module
 */
import { concat, slice } from "../ops/concat.ts";
import { addScaled, scale, sub } from "../ops/elementwise.ts";
import type { Tensor } from "../core/tensor.ts";
import { reshape } from "../ops/reshape.ts";

/** Haar coefficients: the coarse approximation and, finest level first, three details each. */
export interface HaarCoefficients {
  /** The approximation band after the last level, [N, 2, H/2^L, W/2^L]. */
  approx: Tensor;
  /** Per level (finest first): [horizontal, vertical, diagonal] details. */
  details: Tensor[][];
}

const S = Math.SQRT1_2;

/** (a + b)/√2 and (a − b)/√2: the 1-D Haar step on the two halves of a pair. */
function butterfly(a: Tensor, b: Tensor): [Tensor, Tensor] {
  return [addScaled(a, b, S), scale(sub(a, b), S)];
}

/** The two polyphase halves of x along `axis` (even and odd indices). */
function split(x: Tensor, axis: number): [Tensor, Tensor] {
  const s = x.shape;
  const a = axis < 0 ? s.length + axis : axis;
  const pairs = reshape(x, [...s.slice(0, a), s[a] / 2, 2, ...s.slice(a + 1)]);
  const half = [...s.slice(0, a), s[a] / 2, ...s.slice(a + 1)];
  return [reshape(slice(pairs, a + 1, 0, 1), half), reshape(slice(pairs, a + 1, 1, 1), half)];
}

/** Interleaves even and odd halves back along `axis`. */
function merge(even: Tensor, odd: Tensor, axis: number): Tensor {
  const s = even.shape;
  const a = axis < 0 ? s.length + axis : axis;
  const e = reshape(even, [...s.slice(0, a + 1), 1, ...s.slice(a + 1)]);
  const o = reshape(odd, [...s.slice(0, a + 1), 1, ...s.slice(a + 1)]);
  return reshape(concat([e, o], a + 1), [...s.slice(0, a), 2 * s[a], ...s.slice(a + 1)]);
}

/**
 * The largest number of levels (≤ `max`) for which H and W stay even at every level and
 * the coarse band keeps at least `minSide` pixels a side.
 *
 * @param h rows
 * @param w columns
 * @param max upper bound
 * @param minSide smallest coarse band side (default 1)
 * @returns levels ≥ 0
 */
export function haarLevels(h: number, w: number, max: number, minSide = 1): number {
  let l = 0;
  while (l < max && h % 2 === 0 && w % 2 === 0 && h / 2 >= minSide && w / 2 >= minSide) {
    [h, w, l] = [h / 2, w / 2, l + 1];
  }
  return l;
}

/**
 * Ψx: `levels` levels of the 2-D orthonormal Haar transform over the last two dims.
 *
 * @param x images [..., H, W], H and W divisible by 2^levels
 * @param levels number of levels
 * @returns the coefficients (‖Ψx‖ = ‖x‖)
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { haar, haarInverse } from "./haar.ts";
 * const x = cpuBackend().fromArray([1, 2, 3, 4], [1, 1, 2, 2]);
 * const c = haar(x, 1); // approx [[5]], details [[-1]], [[-2]], [[0]]
 * const back = haarInverse(c); // x
 * ```
 */
export function haar(x: Tensor, levels: number): HaarCoefficients {
  const [h, w] = x.shape.slice(-2);
  if (haarLevels(h, w, levels) < levels) {
    throw new Error(`haar: ${h}×${w} is not divisible by 2^${levels}`);
  }
  let approx = x;
  const details: Tensor[][] = [];
  for (let l = 0; l < levels; l++) {
    const [lo, hi] = butterfly(...split(approx, -1));
    const [ll, lh] = butterfly(...split(lo, -2));
    const [hl, hh] = butterfly(...split(hi, -2));
    details.push([hl, lh, hh]);
    approx = ll;
  }
  return { approx, details };
}

/**
 * Ψᵀc = Ψ⁻¹c (the transform is orthonormal).
 *
 * @param c coefficients from {@link haar}
 * @returns the images
 */
export function haarInverse(c: HaarCoefficients): Tensor {
  let x = c.approx;
  for (let l = c.details.length - 1; l >= 0; l--) {
    const [hl, lh, hh] = c.details[l];
    const lo = merge(...butterfly(x, lh), -2);
    const hi = merge(...butterfly(hl, hh), -2);
    x = merge(...butterfly(lo, hi), -1);
  }
  return x;
}
