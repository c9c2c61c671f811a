/**
 * The orthonormal 2-D DFT of planar complex images, the F of the MRI operator A = M F S
 * (docs/method.md §4). Being unitary, its vector-Jacobian product is the transform the other way.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { fft2Gpu } from "../../gpu/kernels/fft.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { fft2Cpu } from "../cpu/fft.ts";
import type { Tensor } from "../core/tensor.ts";
import { fft2Onnx } from "../onnx/lower_fft.ts";
import { onBackend, shapeError } from "./dispatch.ts";

/** Options of {@link fft2}. */
export interface Fft2Options {
  /** The inverse transform, exp(+2πi…) (default false). */
  inverse?: boolean;
  /** fftshift ∘ F ∘ ifftshift: k-space centre in the middle of the array (default true). */
  centred?: boolean;
}

/**
 * y = F x over the last two dims, F the orthonormal 2-D DFT (‖y‖ = ‖x‖), for complex
 * images stored as two real planes: x is [..., 2, H, W] with dim −3 = (real, imaginary),
 * the layout the network's Re/Im channels use. Centred by default, as fastMRI's
 * `fft2c`/`ifft2c`. Any H and W (radices 2, 3, 4, 5, … ; large primes are slower).
 *
 * @param x planar complex images [..., 2, H, W]
 * @param options direction and centring
 * @returns the transform, same shape
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { fft2 } from "./fft.ts";
 * // A constant image has all its energy at the centre of centred k-space.
 * const x = cpuBackend().full([1, 2, 4, 4], 0);
 * const k = fft2(x);
 * const back = fft2(k, { inverse: true }); // equals x
 * ```
 */
export function fft2(x: Tensor, options: Fft2Options = {}): Tensor {
  const inverse = options.inverse ?? false;
  const centred = options.centred ?? true;
  const r = x.shape.length;
  const op = inverse ? "ifft2" : "fft2";
  if (r < 3 || x.shape[r - 3] !== 2) {
    shapeError(
      op,
      `x must be planar complex [..., 2, H, W] (real and imaginary planes), got [${x.shape}]`,
    );
  }
  const [H, W] = x.shape.slice(r - 2);
  const batch = x.size / (2 * H * W);
  const y = onBackend(
    op,
    [x],
    {
      cpu: (b) => {
        const y = b.empty(x.shape);
        if (x.size > 0) fft2Cpu(cpuData(x), batch, H, W, inverse, centred, cpuData(y));
        return y;
      },
      webgpu: (b) => {
        const y = b.empty(x.shape);
        if (x.size > 0) {
          fft2Gpu(b.engine, gpuBuffer(x), batch, H, W, inverse, centred, gpuBuffer(y));
        }
        return y;
      },
      onnx: (b) => fft2Onnx(b, x, inverse, centred),
    },
  );
  // F is unitary on ℂ^{H×W} ≅ ℝ^{2HW}, so its transpose is F^H = F⁻¹.
  record(y, [x], (g) => [fft2(g, { inverse: !inverse, centred })]);
  return y;
}
