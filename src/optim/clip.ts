/**
 * Global-norm gradient clipping as a device-side scale (torch's clip_grad_norm_ without the
 * readback): the scale is a one-element tensor that adamUpdate multiplies into the gradient.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { clipScaleGpu, sumSquaresPartialsGpu } from "../../gpu/kernels/clip.ts";
import { cpuData } from "../cpu/backend.ts";
import { clipScaleCpu } from "../cpu/clip.ts";
import { clipScaleOnnx } from "../onnx/lower_optim.ts";
import { onBackend } from "../ops/dispatch.ts";
import { sumSquares } from "../ops/reduce.ts";
import type { Tensor } from "../core/tensor.ts";

/** Added to the norm before dividing, as in torch.nn.utils.clip_grad_norm_. */
export const CLIP_EPS = 1e-6;

/**
 * The clipping factor min(1, maxNorm / (‖g‖₂ + 1e-6)) where ‖g‖₂ is the norm of all
 * gradients together, computed on the device (nothing is awaited).
 *
 * @param grads the gradients (any shapes, one backend)
 * @param maxNorm the largest allowed global norm (> 0)
 * @returns a one-element tensor (shape []) holding the factor; dispose it after use
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { clipScale } from "./clip.ts";
 * const b = cpuBackend();
 * const s = clipScale([b.full([3], 2), b.full([1], 4)], 1); // ‖g‖ = √28: s = 1/(√28 + 1e-6)
 * ```
 */
export function clipScale(grads: readonly Tensor[], maxNorm: number): Tensor {
  if (grads.length === 0) throw new Error("clipScale: no gradients");
  if (!(maxNorm > 0)) throw new Error(`clipScale: maxNorm must be positive, got ${maxNorm}`);
  return onBackend(
    "clipScale",
    grads,
    {
      cpu: (b) => {
        const out = b.empty([]);
        const sums = grads.map((g) => sumSquares(g));
        cpuData(out)[0] = clipScaleCpu(sums.map((s) => cpuData(s)[0]), maxNorm, CLIP_EPS);
        for (const s of sums) s.dispose();
        return out;
      },
      webgpu: (b) => {
        const out = b.empty([]);
        const tensors = grads.map((g) => ({ buffer: gpuBuffer(g), length: g.size }));
        const { partials, count } = sumSquaresPartialsGpu(b.engine, tensors);
        clipScaleGpu(b.engine, partials, count, gpuBuffer(out), maxNorm, CLIP_EPS);
        b.engine.release(partials);
        return out;
      },
      onnx: (b) => {
        const sums = grads.map((g) => sumSquares(g));
        return clipScaleOnnx(b, sums, maxNorm, CLIP_EPS);
      },
    },
  );
}
