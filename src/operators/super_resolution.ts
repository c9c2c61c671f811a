/**
 * Super-resolution by average pooling (Aali et al. 2024, §5): each f×f block becomes its mean.
 * The adjoint spreads each value back over its block divided by f² (nearest up-sampling / f²).
 * A factor that does not divide the size pools ⌊H/f⌋ × ⌊W/f⌋ blocks and ignores the last
 * rows and columns, as PyTorch's avg_pool2d in the reference code does (×6 on 64×64).
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { mul } from "../ops/elementwise.ts";
import { concat, slice } from "../ops/concat.ts";
import { mean } from "../ops/reduce.ts";
import { keep } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkImages, LinearOperator } from "./linear_operator.ts";
import { reshape } from "../ops/reshape.ts";

/**
 * y = f×f average pooling of x for any integer factor f (the paper uses 4, 6 and 8), through
 * a reshape to [N, C, ⌊H/f⌋, f, ⌊W/f⌋, f], so it runs on every backend. Give the image size
 * when f does not divide it, so that the adjoint returns images of that size.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { SuperResolution } from "./super_resolution.ts";
 * const b = cpuBackend();
 * using op = new SuperResolution(4);
 * const y = op.forward(b.full([1, 3, 64, 64], 1)); // [1, 3, 16, 16]
 * ```
 */
export class SuperResolution extends LinearOperator {
  /** e.g. "super-resolution x4". */
  readonly name: string;
  /** The pooling factor f. */
  readonly factor: number;
  /** Image height and width, if given (then forward checks them and adjoint pads to them). */
  readonly size: readonly [number, number] | null;
  /** The constant 1/f² block [1, 1, 1, f, 1, f] of each backend the adjoint has run on. */
  #spread = new Map<Backend, Tensor>();

  /**
   * Average pooling by f×f blocks.
   *
   * @param factor the integer pooling factor f ≥ 1
   * @param size the image [H, W]; needed only when f does not divide them
   */
  constructor(factor: number, size?: readonly [number, number]) {
    super();
    if (!(Number.isInteger(factor) && factor >= 1)) {
      throw new Error(`super-resolution: factor must be a positive integer, got ${factor}`);
    }
    if (size && !size.every((d) => Number.isInteger(d) && d >= factor)) {
      throw new Error(`super-resolution x${factor}: image size ${size} must be ≥ the factor`);
    }
    this.factor = factor;
    this.size = size ? [size[0], size[1]] : null;
    this.name = `super-resolution x${factor}`;
  }

  /**
   * Mean over each whole f×f block (rows and columns past the last whole block are ignored).
   *
   * @param x images [N, C, H, W], H and W ≥ f (and equal to `size`, if given)
   * @returns [N, C, ⌊H/f⌋, ⌊W/f⌋]
   */
  forward(x: Tensor): Tensor {
    const f = this.factor;
    const want = this.size ? [null, null, ...this.size] : undefined;
    const [n, c, h, w] = checkImages(this.name, x, want);
    const [hb, wb] = [Math.floor(h / f), Math.floor(w / f)];
    if (hb === 0 || wb === 0) throw new Error(`${this.name}: ${h}×${w} is smaller than ${f}×${f}`);
    if (hb * f === h && wb * f === w) return mean(reshape(x, [n, c, hb, f, wb, f]), [3, 5]);
    if (!this.size) {
      throw new Error(
        `${this.name}: ${h}×${w} is not a multiple of ${f}; give the size ` +
          `(new SuperResolution(${f}, [${h}, ${w}])) to pool ⌊H/${f}⌋×⌊W/${f}⌋ blocks`,
      );
    }
    const cropped = slice(slice(x, 2, 0, hb * f), 3, 0, wb * f);
    return mean(reshape(cropped, [n, c, hb, f, wb, f]), [3, 5]);
  }

  /**
   * Each value copied over its f×f block, divided by f²; zeros past the last whole block.
   *
   * @param y measurements [N, C, h, w]
   * @returns [N, C, H, W] (`size`, or h·f × w·f if none was given)
   */
  adjoint(y: Tensor): Tensor {
    const f = this.factor;
    const [n, c, h, w] = checkImages(this.name, y);
    let spread = this.#spread.get(y.backend);
    if (!spread) {
      spread = keep(y.backend.full([1, 1, 1, f, 1, f], 1 / (f * f)));
      this.#spread.set(y.backend, spread);
    }
    let up = reshape(mul(reshape(y, [n, c, h, 1, w, 1]), spread), [n, c, h * f, w * f]);
    const [hh, ww] = this.size ?? [h * f, w * f];
    if (Math.floor(hh / f) !== h || Math.floor(ww / f) !== w) {
      throw new Error(`${this.name}: [${y.shape}] are not the measurements of ${hh}×${ww} images`);
    }
    if (hh > h * f) up = concat([up, y.backend.full([n, c, hh - h * f, w * f], 0)], 2);
    if (ww > w * f) up = concat([up, y.backend.full([n, c, hh, ww - w * f], 0)], 3);
    return up;
  }

  /** Frees the cached constant blocks. */
  override dispose(): void {
    for (const t of this.#spread.values()) t.dispose();
    this.#spread.clear();
  }
}
