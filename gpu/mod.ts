/**
 * The WebGPU engine's internals, for kernel work and benchmarks: the backend class, the
 * engine (buffer pool, pipeline cache, batched dispatches), the device, and the FFT's
 * radix plan.
 *
 * @example
 * ```ts
 * import { webgpuBackend } from "./mod.ts";
 * const gpu = await webgpuBackend(); // null where there is no adapter
 * if (gpu) console.log(gpu.name, gpu.engine.preferTextures);
 * ```
 *
 * @module
 */
export { gpuBuffer, WebGpuBackend } from "./backend.ts";
export {
  BindingSizeError,
  type BufferRange,
  type Dispatch,
  Engine,
  GpuError,
  type Uniforms,
} from "./engine.ts";
export { getGpuDevice, type GpuDevice } from "./device.ts";
export { webgpuBackend } from "../src/core/select_backend.ts";
export { fftRadices } from "../src/layout/fft_plan.ts";
export { Tensor } from "../src/core/tensor.ts";
export type {
  Arr,
  Backend,
  BackendKind,
  CpuStorage,
  GpuStorage,
  Storage,
} from "../src/core/backend.ts";
