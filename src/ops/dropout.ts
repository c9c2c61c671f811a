/**
 * Inverted dropout with a counter-based mask: the mask is a function of (seed, stream,
 * element index), so the backward regenerates exactly the forward's mask.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { dropoutGpu } from "../../gpu/kernels/dropout.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import { dropoutCpu } from "../cpu/dropout.ts";
import { bernoulliThreshold, philoxKey, philoxStream } from "../cpu/philox.ts";
import type { Tensor } from "../core/tensor.ts";
import { onBackend } from "./dispatch.ts";

function applyMask(
  x: Tensor,
  seed: number,
  stream: number,
  threshold: number,
  s: number,
  offset4: number,
) {
  const key = philoxKey(seed);
  return onBackend(
    "dropout",
    [x],
    {
      cpu: (b) => {
        const out = b.empty(x.shape);
        // The f32 twin scales by the f32 value the kernel gets as a uniform.
        const sc = b.dtype === "f32" ? Math.fround(s) : s;
        dropoutCpu(cpuData(x), cpuData(out), x.size, key, stream, threshold, sc, offset4);
        return out;
      },
      webgpu: (b) => {
        const out = b.empty(x.shape);
        if (x.size > 0) {
          dropoutGpu(
            b.engine,
            gpuBuffer(x),
            gpuBuffer(out),
            x.size,
            key,
            stream,
            threshold,
            s,
            offset4,
          );
        }
        return out;
      },
      // The keep-mask is a graph input (src/onnx/random_inputs.ts), shared with the backward.
      onnx: (b) => {
        const draw = { kind: "dropout", seed, stream, threshold, offset: 4 * offset4 } as const;
        const kept = b.node("Mul", [x, b.random({ ...draw, shape: x.shape })], x.shape);
        return b.node("Mul", [kept, b.graph.float([s], [])], x.shape);
      },
    },
  );
}

/**
 * Dropout: x · mask / (1 − p) with mask ~ Bernoulli(1 − p) drawn by Philox4x32-10 under
 * the seed: element i uses word i mod 4 of the counter (⌊(offset + i)/4⌋, stream), the same on every
 * backend. Differentiable; the backward regenerates the mask.
 *
 * @param x input
 * @param p drop probability in [0, 1)
 * @param seed a u32, e.g. derived from the training step
 * @param stream a u32 distinguishing dropout layers (and calls) under one seed
 * @param offset element index of x's first element in a larger tensor whose masks it
 *   continues (a multiple of 4): a batch in slices gets the whole batch's masks
 * @returns a new tensor, or `x` itself when p = 0
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { dropout } from "./dropout.ts";
 * const x = cpuBackend().full([4, 8], 1);
 * const y = dropout(x, 0.1, 1234, 0); // entries 0 or 1/0.9
 * ```
 */
export function dropout(x: Tensor, p: number, seed: number, stream = 0, offset = 0): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (
    !(Number.isInteger(offset) && offset >= 0 && offset % 4 === 0 && offset + x.size <= 2 ** 34)
  ) {
    throw new Error(`dropout: offset must be a multiple of 4 below 2³⁴ − size, got ${offset}`);
  }
  if (p === 0) return x;
  // Checked here, so a bad seed or stream fails at the call on every backend.
  philoxKey(seed);
  philoxStream(stream);
  const threshold = bernoulliThreshold(1 - p);
  const s = 1 / (1 - p);
  const y = applyMask(x, seed, stream, threshold, s, offset / 4);
  record(y, [x], (g) => [applyMask(g, seed, stream, threshold, s, offset / 4)]);
  return y;
}
