/**
 * EDM's resampling with the [1,1] filter: nearest 2× up-sampling and 2×2 average
 * down-sampling. Each one's backward is the other times a factor (itself recorded).
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { downsample2xGpu, upsample2xGpu } from "../../gpu/kernels/resample.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { downsample2xCpu, upsample2xCpu } from "../cpu/resample.ts";
import type { Tensor } from "../core/tensor.ts";
import { onBackend, shapeError } from "./dispatch.ts";

/** Up: y = f·nearest2x(x). Down: y = f·sumPool2x2(x). */
type Kind = "up" | "down";

function resample(kind: Kind, x: Tensor, f: number): Tensor {
  const op = kind === "up" ? "upsample2x" : "downsample2x";
  const r = x.shape.length;
  if (r < 2) shapeError(op, `x must be [..., H, W] (e.g. [N, C, H, W]), got [${x.shape}]`);
  const [H, W] = x.shape.slice(r - 2);
  if (kind === "down" && (H % 2 !== 0 || W % 2 !== 0)) {
    shapeError(op, `height and width must be even, got ${H}×${W} in [${x.shape}]`);
  }
  const planes = x.shape.slice(0, r - 2).reduce((a, b) => a * b, 1);
  const [Ho, Wo] = kind === "up" ? [2 * H, 2 * W] : [H / 2, W / 2];
  const shape = [...x.shape.slice(0, r - 2), Ho, Wo];
  const y = onBackend(
    op,
    [x],
    {
      cpu: (b) => {
        const y = b.empty(shape);
        if (kind === "up") upsample2xCpu(cpuData(x), planes, H, W, f, cpuData(y));
        else downsample2xCpu(cpuData(x), planes, Ho, Wo, f, cpuData(y));
        return y;
      },
      webgpu: (b) => {
        const y = b.empty(shape);
        if (kind === "up") upsample2xGpu(b.engine, gpuBuffer(x), planes, H, W, f, gpuBuffer(y));
        else downsample2xGpu(b.engine, gpuBuffer(x), planes, Ho, Wo, f, gpuBuffer(y));
        return y;
      },
    },
  );
  // The adjoint of copying into a 2×2 block is summing that block, and vice versa.
  record(y, [x], (g) => [resample(kind === "up" ? "down" : "up", g, f)]);
  return y;
}

/**
 * Nearest-neighbour 2× up-sampling: y[…, 2i+a, 2j+b] = x[…, i, j] (EDM's up=True with
 * resample_filter [1,1]).
 *
 * @param x input [N, C, H, W] (any [..., H, W])
 * @returns [N, C, 2H, 2W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { downsample2x, upsample2x } from "./resample.ts";
 * const x = cpuBackend().fromArray([1, 2, 3, 4], [1, 1, 2, 2]);
 * const up = upsample2x(x); // [1, 1, 4, 4]
 * const back = downsample2x(up); // equals x
 * ```
 */
export function upsample2x(x: Tensor): Tensor {
  return resample("up", x, 1);
}

/**
 * 2×2 average down-sampling: y[…, i, j] = mean of x[…, 2i..2i+1, 2j..2j+1] (EDM's
 * down=True with resample_filter [1,1]).
 *
 * @param x input [N, C, H, W] with even H and W (any [..., H, W])
 * @returns [N, C, H/2, W/2]
 */
export function downsample2x(x: Tensor): Tensor {
  return resample("down", x, 0.25);
}
