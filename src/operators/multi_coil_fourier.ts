/**
 * The multi-coil MRI forward operator A = M F S (Aali et al. 2024, §4): coil sensitivity
 * maps S, the centred orthonormal 2-D FFT F, and a mask M of kept phase-encode columns.
 * The adjoint is Aᴴ k = Σ_c conj(S_c) F⁻¹(M k_c). Built from differentiable ops, so DPS
 * back-propagates ‖A D − y‖ through it on both backends.
 *
 * @module
 */
import { mul } from "../ops/elementwise.ts";
import { fft2 } from "../ops/fft.ts";
import { sum } from "../ops/reduce.ts";
import { complexMul } from "../mri/complex.ts";
import { keep, tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkImages, LinearOperator } from "./linear_operator.ts";
import { reshape } from "../ops/reshape.ts";

/**
 * y = M F S x for complex images x [N, 2, H, W] (Re, Im planes), giving multi-coil k-space
 * [N, C, 2, H, W] with zeros in the dropped columns. Coil maps and masks are per image
 * (batch 1 is shared by every image). Columns are the phase-encode direction (the last dim).
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { MultiCoilFourier } from "./multi_coil_fourier.ts";
 * const b = cpuBackend();
 * const maps = b.full([1, 4, 2, 8, 6], 0.5); // 4 coils, each 1/2: Σ|S_c|² = 1
 * const mask = b.fromArray([1, 0, 1, 1, 0, 1], [1, 6]);
 * using op = new MultiCoilFourier(maps, mask);
 * const k = op.forward(b.full([1, 2, 8, 6], 1)); // [1, 4, 2, 8, 6]
 * const zeroFilled = op.adjoint(k); // [1, 2, 8, 6]
 * ```
 */
export class MultiCoilFourier extends LinearOperator {
  /** e.g. "multi-coil fourier C=4". */
  readonly name: string;
  /** Coil maps [N or 1, C, 2, H, W]; owned by the operator. */
  readonly maps: Tensor;
  /** Column mask as [N or 1, 1, 1, 1, W] (1: kept); owned by the operator. */
  readonly mask: Tensor;

  /**
   * Takes ownership of the maps and the mask.
   *
   * @param maps coil sensitivities [N, C, 2, H, W]
   * @param mask 0/1 column masks [N, W] or [N, 1, W] (N may be 1 for a shared mask)
   */
  constructor(maps: Tensor, mask: Tensor) {
    super();
    const s = maps.shape;
    if (s.length !== 5 || s[2] !== 2) {
      throw new Error(`multi-coil fourier: maps must be [N, C, 2, H, W], got [${s}]`);
    }
    const m = mask.shape;
    const w = s[4];
    if (!((m.length === 2 || (m.length === 3 && m[1] === 1)) && m[m.length - 1] === w)) {
      throw new Error(
        `multi-coil fourier: mask must be [N, ${w}] or [N, 1, ${w}] for maps [${s}], got [${m}]`,
      );
    }
    if (m[0] !== 1 && s[0] !== 1 && m[0] !== s[0]) {
      throw new Error(`multi-coil fourier: ${m[0]} masks for ${s[0]} sets of maps`);
    }
    this.maps = keep(maps);
    this.mask = keep(reshape(mask, [m[0], 1, 1, 1, w]));
    if (this.mask !== mask) mask.dispose();
    this.name = `multi-coil fourier C=${s[1]}`;
  }

  /** Number of coils C. */
  get coils(): number {
    return this.maps.shape[1];
  }

  /**
   * y = M F (S x): each coil image S_c x, its centred k-space, dropped columns zeroed.
   *
   * @param x complex images [N, 2, H, W]
   * @returns k-space [N, C, 2, H, W]
   */
  forward(x: Tensor): Tensor {
    const [n, , h, w] = checkImages(this.name, x, [this.batch(), 2, ...this.size()]);
    const coilImages = complexMul(reshape(x, [n, 1, 2, h, w]), this.maps);
    return mul(fft2(coilImages), this.mask);
  }

  /**
   * Aᴴ y = Σ_c conj(S_c) F⁻¹(M y_c): the coil-combined zero-filled image.
   *
   * @param y k-space [N, C, 2, H, W]
   * @returns complex images [N, 2, H, W]
   */
  adjoint(y: Tensor): Tensor {
    const [, c, , h, w] = this.maps.shape;
    const s = y.shape;
    const nb = this.batch();
    if (
      s.length !== 5 || s[1] !== c || s[2] !== 2 || s[3] !== h || s[4] !== w ||
      (nb !== null && s[0] !== nb)
    ) {
      throw new Error(
        `${this.name}: k-space must be [${nb ?? "N"}, ${c}, 2, ${h}, ${w}], got [${s}]`,
      );
    }
    const coilImages = fft2(mul(y, this.mask), { inverse: true });
    return sum(complexMul(coilImages, this.maps, true), [1]);
  }

  /** Frees the maps and the mask. */
  override dispose(): void {
    this.maps.dispose();
    this.mask.dispose();
  }

  /** Complex Gaussian noise (σ_y per real part) on the kept columns only. */
  protected override noise(y: Tensor, sigmaY: number, seed: number, stream: number): Tensor {
    return tidy(() => mul(super.noise(y, sigmaY, seed, stream), this.mask));
  }

  /** The batch the maps or mask fix, or null when both are shared. */
  private batch(): number | null {
    const n = Math.max(this.maps.shape[0], this.mask.shape[0]);
    return n === 1 ? null : n;
  }

  /** [H, W]. */
  private size(): [number, number] {
    return [this.maps.shape[3], this.maps.shape[4]];
  }
}
