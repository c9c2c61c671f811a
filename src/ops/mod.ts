/**
 * The differentiable tensor ops (each runs on the CPU twin and on WebGPU) and the autograd
 * tape they record on: what the networks and the samplers are built from.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../../mod.ts";
 * import { conv2d, grad, silu, sumSquares } from "./mod.ts";
 * const backend = cpuBackend();
 * const x = backend.full([1, 3, 8, 8], 0.5);
 * const w = backend.full([4, 3, 3, 3], 0.1);
 * const { grads } = grad(() => sumSquares(silu(conv2d(x, w))), [w]);
 * console.log(await grads[0].toArray());
 * ```
 *
 * @module
 */
export { grad, type GradResult } from "./autograd.ts";
export { keep, tidy } from "../core/scope.ts";
export { Tensor } from "../core/tensor.ts";
export type {
  Arr,
  Backend,
  BackendKind,
  CpuStorage,
  GpuStorage,
  Storage,
} from "../core/backend.ts";
export {
  add,
  addScalar,
  addScaled,
  clip,
  div,
  exp,
  log,
  mul,
  neg,
  scale,
  sigmoid,
  silu,
  sqrt,
  square,
  sub,
  tanh,
  UNARY,
  unary,
  type UnaryDef,
  type UnaryName,
  where,
} from "./elementwise.ts";
export { mean, perSampleNorm, sum, sumSquares, sumTo } from "./reduce.ts";
export { reshape } from "./reshape.ts";
export { matmul, type MatmulOptions } from "./matmul.ts";
export { linear } from "./linear.ts";
export { conv2d } from "./conv2d.ts";
export { groupNorm, type GroupNormOptions } from "./group_norm.ts";
export { downsample2x, upsample2x } from "./resample.ts";
export { fft2, type Fft2Options } from "./fft.ts";
export { softmax } from "./softmax.ts";
export { multiHeadAttention } from "./attention.ts";
export { permute } from "./permute.ts";
export { concat, slice } from "./concat.ts";
export { positionalEmbedding, type PositionalEmbeddingOptions } from "./positional_embedding.ts";
export { bernoulli, randomNormal, randomUniform } from "./random.ts";
export { dropout } from "./dropout.ts";
