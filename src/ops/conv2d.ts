/**
 * 2-D convolution, NCHW, stride 1, zero padding k//2 ("same"), odd square kernels with
 * PyTorch's weight layout [Cout, Cin, k, k]; differentiable w.r.t. input, weight and bias.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { conv2dGpu, conv2dInputGradGpu, conv2dWeightGradGpu } from "../../gpu/kernels/conv2d.ts";
import { needsGrad, record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import {
  conv2dCpu,
  type Conv2dDims,
  conv2dInputGradCpu,
  conv2dWeightGradCpu,
} from "../cpu/conv2d.ts";
import { reduceCpu } from "../cpu/reduce.ts";
import { planReduce } from "../layout/reduce_plan.ts";
import { sameShape } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { conv2dInputGradOnnx, conv2dWeightGradOnnx } from "../onnx/lower_grad.ts";
import { reduceOnnx } from "../onnx/lower_tensor.ts";
import { conv2dOnnx } from "../onnx/lower_nn.ts";
import { onBackend, shapeError } from "./dispatch.ts";
import { sum } from "./reduce.ts";
import { reshape } from "./reshape.ts";

/** Checks the operands and returns the sizes. */
function conv2dDims(x: Tensor, w: Tensor, b: Tensor | null): Conv2dDims {
  const xs = `x [${x.shape}]`;
  const ws = `w [${w.shape}]`;
  if (x.shape.length !== 4) {
    shapeError("conv2d", `expected x of shape [N, Cin, H, W], got ${xs}`);
  }
  if (w.shape.length !== 4) {
    shapeError("conv2d", `expected w of shape [Cout, Cin, k, k], got ${ws}`);
  }
  const [n, cin, h, width] = x.shape;
  const [cout, wcin, k, k2] = w.shape;
  if (k !== k2 || k % 2 !== 1) {
    shapeError(
      "conv2d",
      `expected a square kernel of odd size k (stride 1, padding k//2), got ${ws}`,
    );
  }
  if (wcin !== cin) {
    shapeError("conv2d", `${xs} has ${cin} input channels but ${ws} expects ${wcin}`);
  }
  if (b && !sameShape(b.shape, [cout]) && !sameShape(b.shape, [n, cout])) {
    shapeError(
      "conv2d",
      `expected bias of shape [${cout}] or [${n}, ${cout}] (Cout of ${ws}, per image), got [${b.shape}]`,
    );
  }
  return { n, cin, cout, h, w: width, k };
}

function forward(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  d: Conv2dDims,
  perImage: boolean,
): Tensor {
  const shape = [d.n, d.cout, d.h, d.w];
  return onBackend(
    "conv2d",
    [x, w, b],
    {
      cpu: (be) => {
        const y = be.empty(shape);
        conv2dCpu(cpuData(x), cpuData(w), b ? cpuData(b) : null, cpuData(y), d, perImage);
        return y;
      },
      webgpu: (be) => {
        const y = be.empty(shape);
        const bb = b ? gpuBuffer(b) : null;
        conv2dGpu(be.engine, gpuBuffer(x), gpuBuffer(w), bb, gpuBuffer(y), d, perImage);
        return y;
      },
      onnx: (be) => conv2dOnnx(be, x, w, b),
    },
  );
}

/**
 * The input gradient of `conv2d`: dx from dy and w (a "same" convolution of dy with the
 * channels swapped and the taps flipped).
 *
 * @param dy gradient of the output, [N, Cout, H, W]
 * @param w weight [Cout, Cin, k, k]
 * @returns dx, [N, Cin, H, W]
 */
export function conv2dInputGrad(dy: Tensor, w: Tensor): Tensor {
  if (dy.shape.length !== 4 || w.shape.length !== 4 || w.shape[0] !== dy.shape[1]) {
    shapeError(
      "conv2d.inputGrad",
      `expected dy [N, Cout, H, W] and w [Cout, Cin, k, k], got dy [${dy.shape}] w [${w.shape}]`,
    );
  }
  const [n, cout, h, width] = dy.shape;
  const d: Conv2dDims = { n, cin: w.shape[1], cout, h, w: width, k: w.shape[2] };
  const shape = [d.n, d.cin, d.h, d.w];
  return onBackend(
    "conv2d.inputGrad",
    [dy, w],
    {
      cpu: (be) => {
        const dx = be.empty(shape);
        conv2dInputGradCpu(cpuData(dy), cpuData(w), cpuData(dx), d);
        return dx;
      },
      webgpu: (be) => {
        const dx = be.empty(shape);
        conv2dInputGradGpu(be.engine, gpuBuffer(dy), gpuBuffer(w), gpuBuffer(dx), d);
        return dx;
      },
      onnx: (be) => conv2dInputGradOnnx(be, dy, w),
    },
  );
}

/**
 * The parameter gradients of `conv2d`: dw from x and dy, and db = Σ dy when asked for, both
 * summed over the batch and pixels (on WebGPU's texture path in one kernel).
 *
 * @param x input [N, Cin, H, W]
 * @param dy gradient of the output, [N, Cout, H, W]
 * @param k kernel size (odd)
 * @param bias whether to return db too
 * @returns dw, [Cout, Cin, k, k], and db, [Cout] (null unless `bias`)
 */
export function conv2dWeightGrad(
  x: Tensor,
  dy: Tensor,
  k: number,
  bias = false,
): { dw: Tensor; db: Tensor | null } {
  const [n, cin, h, width] = x.shape;
  const cout = dy.shape[1];
  if (
    x.shape.length !== 4 || dy.shape.length !== 4 || dy.shape[0] !== n || dy.shape[2] !== h ||
    dy.shape[3] !== width || k % 2 !== 1
  ) {
    shapeError(
      "conv2d.weightGrad",
      `expected x [N, Cin, H, W], dy [N, Cout, H, W] and odd k, got x [${x.shape}] dy [${dy.shape}] k ${k}`,
    );
  }
  const d: Conv2dDims = { n, cin, cout, h, w: width, k };
  const shape = [cout, cin, k, k];
  return onBackend(
    "conv2d.weightGrad",
    [x, dy],
    {
      cpu: (be) => {
        const dw = be.empty(shape);
        conv2dWeightGradCpu(cpuData(x), cpuData(dy), cpuData(dw), d);
        const db = bias ? be.empty([cout]) : null;
        if (db) reduceCpu(cpuData(dy), planReduce(dy.shape, [0, 2, 3]), false, cpuData(db));
        return { dw, db };
      },
      webgpu: (be) => {
        const dw = be.empty(shape);
        const db = bias ? be.empty([cout]) : null;
        const dbb = db ? gpuBuffer(db) : null;
        conv2dWeightGradGpu(be.engine, gpuBuffer(x), gpuBuffer(dy), gpuBuffer(dw), dbb, d);
        return { dw, db };
      },
      onnx: (be) => ({
        dw: conv2dWeightGradOnnx(be, x, dy, k),
        db: bias ? reduceOnnx(be, dy, [0, 2, 3], false, [cout]) : null,
      }),
    },
  );
}

/**
 * y = conv2d(x, w) + b with stride 1 and zero padding k//2, so y keeps x's height and width.
 * A bias of shape [N, Cout] adds one row per image (EDM's noise-embedding shift, fused).
 *
 * @param x input [N, Cin, H, W]
 * @param w weight [Cout, Cin, k, k], k odd (PyTorch layout)
 * @param b optional bias [Cout], or [N, Cout] per image
 * @returns y [N, Cout, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { conv2d } from "./conv2d.ts";
 * const be = cpuBackend();
 * const x = be.fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
 * const w = be.full([2, 1, 3, 3], 1); // two box filters
 * const y = conv2d(x, w, be.fromArray([0, 10], [2])); // [1, 2, 3, 3]; y[0,0,0,0] = 1+2+4+5
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  const d = conv2dDims(x, w, b);
  // A per-image bias [N, Cout] sums over pixels only in backward: a reduction, not the kernel's Σ.
  const perImage = b !== null && b.shape.length === 2;
  const y = forward(x, w, b, d, perImage);
  // Decided now: during backward the tape is closed and can no longer say who needs what.
  const wantX = needsGrad([x]);
  const wantW = needsGrad([w]);
  const wantB = needsGrad([b]);
  record(y, [x, w, b], (gOut) => {
    const g = sameShape(gOut.shape, y.shape) ? gOut : reshape(gOut, y.shape);
    const dx = wantX ? conv2dInputGrad(g, w) : null;
    const withB = b !== null && wantB;
    const { dw, db } = wantW
      ? conv2dWeightGrad(x, g, d.k, withB && !perImage)
      : { dw: null, db: null };
    return [dx, dw, db ?? (withB ? sum(g, perImage ? [2, 3] : [0, 2, 3]) : null)];
  });
  return y;
}
