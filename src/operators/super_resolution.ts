/**
 * Super-resolution by average pooling (docs/method.md §5.6): each f×f block becomes its mean. The
 * adjoint spreads each value back over its block divided by f² (nearest up-sampling / f²).
 *
 * @module
 */
import type { Backend } from "../backend.ts";
import { mul } from "../ops/elementwise.ts";
import { mean } from "../ops/reduce.ts";
import { keep } from "../scope.ts";
import type { Tensor } from "../tensor.ts";
import { checkImages, LinearOperator } from "./linear_operator.ts";
import { reshape } from "../ops/reshape.ts";

/**
 * y = f×f average pooling of x, for any integer factor f dividing H and W (the paper uses 4, 6
 * and 8); through a reshape to [N, C, H/f, f, W/f, f], so it runs on every backend.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../backends.ts";
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
  /** The constant 1/f² block [1, 1, 1, f, 1, f] of each backend the adjoint has run on. */
  #spread = new Map<Backend, Tensor>();

  /**
   * Average pooling by f×f blocks.
   *
   * @param factor the integer pooling factor f ≥ 1
   */
  constructor(factor: number) {
    super();
    if (!(Number.isInteger(factor) && factor >= 1)) {
      throw new Error(`super-resolution: factor must be a positive integer, got ${factor}`);
    }
    this.factor = factor;
    this.name = `super-resolution x${factor}`;
  }

  /**
   * Mean over each f×f block.
   *
   * @param x images [N, C, H, W] with H and W multiples of f
   * @returns [N, C, H/f, W/f]
   */
  forward(x: Tensor): Tensor {
    const f = this.factor;
    const [n, c, h, w] = checkImages(this.name, x);
    if (h % f !== 0 || w % f !== 0) {
      throw new Error(`${this.name}: ${h}×${w} is not a multiple of ${f}`);
    }
    return mean(reshape(x, [n, c, h / f, f, w / f, f]), [3, 5]);
  }

  /**
   * Each value copied over its f×f block, divided by f².
   *
   * @param y measurements [N, C, h, w]
   * @returns [N, C, h·f, w·f]
   */
  adjoint(y: Tensor): Tensor {
    const f = this.factor;
    const [n, c, h, w] = checkImages(this.name, y);
    let spread = this.#spread.get(y.backend);
    if (!spread) {
      spread = keep(y.backend.full([1, 1, 1, f, 1, f], 1 / (f * f)));
      this.#spread.set(y.backend, spread);
    }
    return reshape(mul(reshape(y, [n, c, h, 1, w, 1]), spread), [n, c, h * f, w * f]);
  }

  /** Frees the cached constant blocks. */
  override dispose(): void {
    for (const t of this.#spread.values()) t.dispose();
    this.#spread.clear();
  }
}
