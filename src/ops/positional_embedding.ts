/**
 * EDM's PositionalEmbedding (sinusoidal embedding of the noise labels), differentiable
 * with respect to the positions.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import {
  positionalEmbeddingBackwardGpu,
  positionalEmbeddingGpu,
} from "../../gpu/kernels/positional_embedding.ts";
import { record } from "./autograd.ts";
import { cpuData } from "../cpu/backend.ts";
import {
  positionalEmbeddingBackwardCpu,
  positionalEmbeddingCpu,
} from "../cpu/positional_embedding.ts";
import type { Tensor } from "../core/tensor.ts";
import { positionalEmbeddingBackwardOnnx } from "../onnx/lower_grad.ts";
import { positionalEmbeddingOnnx } from "../onnx/lower_nn.ts";
import { onBackend, shapeError } from "./dispatch.ts";

/** Options of positionalEmbedding (EDM's defaults). */
export interface PositionalEmbeddingOptions {
  /** The longest period's scale: the lowest frequency is 1/maxPositions (default 10000). */
  maxPositions?: number;
  /** Whether the frequencies reach 1/maxPositions exactly (default false). */
  endpoint?: boolean;
}

/**
 * The frequencies freqs[j] = (1/maxPositions)^(j / (channels/2 − (endpoint ? 1 : 0))),
 * j = 0 … channels/2 − 1, in float64.
 *
 * @param channels embedding width (even)
 * @param maxPositions see PositionalEmbeddingOptions
 * @param endpoint see PositionalEmbeddingOptions
 * @returns the channels/2 frequencies
 */
export function positionalFrequencies(
  channels: number,
  maxPositions: number,
  endpoint: boolean,
): Float64Array {
  const half = channels / 2;
  const denom = half - (endpoint ? 1 : 0);
  return Float64Array.from({ length: half }, (_, j) => Math.pow(1 / maxPositions, j / denom));
}

/**
 * Sinusoidal positional embedding, as EDM's PositionalEmbedding: with
 * freqs = positionalFrequencies(channels, maxPositions, endpoint),
 * out = cat([cos(x ⊗ freqs), sin(x ⊗ freqs)], dim 1).
 *
 * @param x positions (noise labels) [N]
 * @param channels embedding width: a positive even number (at least 4 with endpoint)
 * @param opts maxPositions (default 10000), endpoint (default false)
 * @returns the embedding [N, channels]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { positionalEmbedding } from "./positional_embedding.ts";
 * const labels = cpuBackend().fromArray([0, 0.5, -1.2], [3]);
 * const emb = positionalEmbedding(labels, 8, { endpoint: true }); // [3, 8]
 * ```
 */
export function positionalEmbedding(
  x: Tensor,
  channels: number,
  opts: PositionalEmbeddingOptions = {},
): Tensor {
  const op = "positionalEmbedding";
  const maxPositions = opts.maxPositions ?? 10000;
  const endpoint = opts.endpoint ?? false;
  if (x.shape.length !== 1) shapeError(op, `x must be [N], got [${x.shape}]`);
  if (!Number.isInteger(channels) || channels < 2 || channels % 2 !== 0) {
    shapeError(op, `channels must be a positive even integer, got ${channels}`);
  }
  if (endpoint && channels < 4) {
    shapeError(op, `endpoint needs at least 4 channels, got ${channels}`);
  }
  if (!(maxPositions > 0)) shapeError(op, `maxPositions must be positive, got ${maxPositions}`);
  const N = x.shape[0];
  const freqs = positionalFrequencies(channels, maxPositions, endpoint);
  const key = `${channels}/${maxPositions}/${endpoint}`;
  const y = onBackend(
    op,
    [x],
    {
      cpu: (b) => {
        const out = b.empty([N, channels]);
        const f = b.array(freqs.length);
        f.set(freqs);
        positionalEmbeddingCpu(cpuData(x), N, f, cpuData(out));
        return out;
      },
      webgpu: (b) => {
        const out = b.empty([N, channels]);
        positionalEmbeddingGpu(b.engine, gpuBuffer(x), N, freqs, key, gpuBuffer(out));
        return out;
      },
      onnx: (b) => positionalEmbeddingOnnx(b, x, freqs),
    },
  );
  // First order only: the backward kernel is not itself recorded.
  record(y, [x], (g) => [onBackend(
    `${op}.backward`,
    [x, g],
    {
      cpu: (b) => {
        const dx = b.empty([N]);
        const f = b.array(freqs.length);
        f.set(freqs);
        positionalEmbeddingBackwardCpu(cpuData(x), N, f, cpuData(g), cpuData(dx));
        return dx;
      },
      webgpu: (b) => {
        const dx = b.empty([N]);
        positionalEmbeddingBackwardGpu(
          b.engine,
          gpuBuffer(x),
          N,
          freqs,
          key,
          gpuBuffer(g),
          gpuBuffer(dx),
        );
        return dx;
      },
      onnx: (b) => positionalEmbeddingBackwardOnnx(b, x, freqs, g),
    },
  )]);
  return y;
}
