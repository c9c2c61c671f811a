/**
 * The package for a web page (or any host without Deno): the samplers, the networks, the
 * operators, the metrics and the WebGPU engine (its device from `navigator.gpu`), with models
 * loaded from bytes or a URL. Nothing here touches the file system, Deno's globals or a native
 * package; file and image IO stay in `./data` and the scripts.
 *
 * ```ts ignore
 * import { adps, measure, modelFromUrl, psnr, RandomInpainting, selectBackend } from "@adps/ambient/web";
 * const backend = await selectBackend(); // WebGPU where the browser has it, else the CPU
 * using model = await modelFromUrl("fmnist-inpaint.safetensors", { backend });
 * ```
 *
 * @module
 */
export { Tensor } from "./core/tensor.ts";
export type { Backend, BackendName } from "./core/backend.ts";
export { backendName, cpuBackend, selectBackend } from "./core/select_backend.ts";
export { keep, tidy } from "./core/scope.ts";
export { clip, scale } from "./ops/elementwise.ts";
export { adps, fsDps, type Model, oneStep, type PosteriorOptions, sample } from "./api.ts";
export { adpsSteps, fsDpsSteps } from "./api.ts";
export type { DpsResult, DpsStep } from "./sampling/dps.ts";
export { MaskOperator } from "./operators/mask_operator.ts";
export {
  type BytesModel,
  checkConfig,
  configFromMetadata,
  type ModelBytesOptions,
  modelFromBytes,
  modelFromUrl,
} from "./io/model_bytes.ts";
export {
  drawSeed,
  posteriorSamples,
  type PosteriorSamplesOptions,
  type PosteriorSpread,
} from "./sampling/posterior_samples.ts";
export { decodeSafetensors } from "./io/safetensors.ts";
export type { TrainConfig } from "./train/config.ts";
export { LinearOperator } from "./operators/linear_operator.ts";
export { RandomInpainting } from "./operators/random_inpainting.ts";
export { BoxInpainting } from "./operators/box_inpainting.ts";
export { GaussianCompressedSensing } from "./operators/compressed_sensing.ts";
export { SuperResolution } from "./operators/super_resolution.ts";
export { measure, type NoiseSpace } from "./operators/measure.ts";
export { psnr } from "./metrics/psnr.ts";
export { ssim } from "./metrics/ssim.ts";
export { batchMetricsFromArrays, type ImageMetrics } from "./metrics/batch.ts";
export { UsageError } from "./core/usage_error.ts";
