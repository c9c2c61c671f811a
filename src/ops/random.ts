/**
 * Random tensors on either backend from the counter-based Philox4x32-10 generator: the same
 * (seed, stream, element index) gives the same bits on the CPU twin and on WebGPU, with no
 * generator state to carry. Seeds are u32s: derive them from the step number, the epoch,
 * the sample index…; give independent draws under one seed different streams.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { randomGpu, type RandomKind } from "../../gpu/kernels/random.ts";
import type { Backend } from "../core/backend.ts";
import { cpuData } from "../cpu/backend.ts";
import { bernoulliThreshold, philoxKey, philoxStream } from "../cpu/philox.ts";
import { randomCpu } from "../cpu/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { onKind } from "./dispatch.ts";

function draw(
  backend: Backend,
  kind: Exclude<RandomKind, "bits">,
  shape: readonly number[],
  seed: number,
  stream: number,
  threshold = 0,
  offset = 0,
): Tensor {
  const key = philoxKey(seed);
  philoxStream(stream);
  const size = shape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > 2 ** 32) {
    throw new Error(
      `random: offset ${offset} + ${size} elements must stay within 2³² counters`,
    );
  }
  return onKind(`random ${kind}`, backend, {
    cpu: (b) => {
      const out = b.empty(shape);
      randomCpu(kind, cpuData(out), out.size, key, stream, threshold, offset);
      return out;
    },
    webgpu: (b) => {
      const out = b.empty(shape);
      if (out.size > 0) {
        randomGpu(b.engine, kind, gpuBuffer(out), out.size, key, stream, threshold, offset);
      }
      return out;
    },
    // A graph input that the runner fills with the CPU twin's draw (src/onnx/random_inputs.ts).
    onnx: (b) => b.random({ kind, shape, seed, stream, threshold, offset }),
  });
}

/**
 * Uniform samples in (0, 1]: k/2²⁴ with k from the top 24 bits of a Philox word, so the
 * values are exact in f32 and identical on every backend.
 *
 * @param backend where the tensor lives
 * @param shape output shape
 * @param seed a u32 (safe integers up to 2⁵³ use the key's high word)
 * @param stream independent stream under the same seed (a u32)
 * @returns the samples
 */
export function randomUniform(
  backend: Backend,
  shape: readonly number[],
  seed: number,
  stream = 0,
): Tensor {
  return draw(backend, "uniform", shape, seed, stream);
}

/**
 * Standard normal samples by Box–Muller, r·cos θ with r = √(−2 ln u₁), θ = 2π·u₂ − π, from
 * two uniforms in (0, 1] (words 0 and 1 of the element's Philox output).
 *
 * @param backend where the tensor lives
 * @param shape output shape
 * @param seed a u32, e.g. derived from the step number
 * @param stream independent stream under the same seed (a u32)
 * @param offset counter of element 0: draws `offset`.. of a larger tensor under the same
 *   seed and stream (a batch drawn in slices equals the batch drawn at once)
 * @returns the samples
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { randomNormal } from "./random.ts";
 * const noise = randomNormal(cpuBackend(), [2, 3, 8, 8], 1234, 0);
 * ```
 */
export function randomNormal(
  backend: Backend,
  shape: readonly number[],
  seed: number,
  stream = 0,
  offset = 0,
): Tensor {
  return draw(backend, "normal", shape, seed, stream, 0, offset);
}

/**
 * Bernoulli samples as 0/1 floats with P(1) = p (to within 2⁻²⁴): 1 where the element's
 * uniform u ≤ p, decided on integers so both backends agree exactly.
 *
 * @param backend where the tensor lives
 * @param shape output shape
 * @param p probability of a 1, in [0, 1]
 * @param seed a u32
 * @param stream independent stream under the same seed (a u32)
 * @returns the 0/1 samples
 */
export function bernoulli(
  backend: Backend,
  shape: readonly number[],
  p: number,
  seed: number,
  stream = 0,
): Tensor {
  return draw(backend, "bernoulli", shape, seed, stream, bernoulliThreshold(p));
}
