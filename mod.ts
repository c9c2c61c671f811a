/**
 * Ambient Diffusion Posterior Sampling (Aali et al. 2024) on WebGPU, the method: networks,
 * the EDM and ambient losses, training, the samplers (A-DPS, FS-DPS, the one-step
 * estimator, ALD), the forward operators, the metrics, and weights on disk. Sub-paths hold
 * the rest: `./ops` (tensor ops and autograd), `./nn` (layers and optimizers), `./data`
 * (data sets and PNGs; needs the native `sharp`), `./gpu` (the WebGPU engine's internals).
 *
 * @example
 * ```ts
 * import { psnr, RandomInpainting, selectBackend } from "./mod.ts";
 * const backend = await selectBackend(); // WebGPU where an adapter exists
 * const x = backend.fromArray(Array.from({ length: 64 }, (_, i) => (i % 8) / 8), [1, 1, 8, 8]);
 * using op = new RandomInpainting(backend, { height: 8, width: 8, p: 0.5, seed: 1 });
 * const y = op.forward(x); // the measurement M ⊙ x
 * console.log(psnr(await x.toArray(), await y.toArray(), { dataRange: 1 }));
 * ```
 */
export { Tensor } from "./src/core/tensor.ts";
export type {
  Arr,
  Backend,
  BackendKind,
  BackendName,
  CpuStorage,
  GpuStorage,
  Storage,
} from "./src/core/backend.ts";
export { CpuBackend, type CpuDtype } from "./src/cpu/backend.ts";
export { cpuBackend, selectBackend } from "./src/core/select_backend.ts";
export { keep, tidy } from "./src/core/scope.ts";
export { Rng } from "./src/core/rng.ts";

export { type InitSpec, type Params, type ParamSpec, Registry } from "./src/nn/module.ts";
export type { InitMode } from "./src/nn/init.ts";
export type { ForwardContext } from "./src/nn/unet_block.ts";
export { SongUNet, type SongUNetConfig } from "./src/nn/song_unet.ts";
export { EDMPrecond, SIGMA_DATA } from "./src/nn/precond.ts";
export { decodeSafetensors, encodeSafetensors } from "./src/io/safetensors.ts";
export type { NamedArray, SafeTensors } from "./src/io/safetensors.ts";

export { edmSchedule, type EdmScheduleOptions } from "./src/sampling/schedule.ts";
export {
  type Denoiser,
  edmSample,
  type EdmSampleOptions,
  type EdmSampleResult,
  type EdmStepInfo,
} from "./src/sampling/edm_sampler.ts";
export {
  type Corruption,
  furtherCorrupt,
  type InpaintingMasks,
  samplingMask,
} from "./src/ambient/masks.ts";
export {
  ambientLoss,
  ambientObjective,
  edmLoss,
  type LossDenoiser,
  type LossTerms,
  P_MEAN,
  P_STD,
} from "./src/ambient/loss.ts";
export { writePriorGrid } from "./src/ambient/prior_grid.ts";
export { priorDenoiser } from "./src/ambient/prior_denoiser.ts";
export {
  buildNetwork,
  DivergenceError,
  emaBeta,
  learningRate,
  type LogRecord,
  train,
  type TrainOptions,
} from "./src/train/train.ts";
export { EDM_DEFAULTS, type TrainConfig, validateConfig } from "./src/train/config.ts";
export type { Adam } from "./src/optim/adam.ts";
export {
  loadCheckpoint,
  saveCheckpoint,
  saveNetwork,
  type TrainState,
} from "./src/train/checkpoint.ts";
export type { DataSpec, ImageDataset, MriDataSpec } from "./src/data/dataset.ts";

export { dps, type DpsOptions, type DpsResult } from "./src/sampling/dps.ts";
export { ald, type AldOptions, type AldResult, geometricSigmas } from "./src/sampling/ald.ts";
export { type AmbientDenoiser, ambientOneStep, ONE_STEP_SIGMA } from "./src/sampling/one_step.ts";
export { LinearOperator } from "./src/operators/linear_operator.ts";
export { MaskOperator } from "./src/operators/mask_operator.ts";
export {
  RandomInpainting,
  type RandomInpaintingOptions,
} from "./src/operators/random_inpainting.ts";
export {
  type Box,
  BoxInpainting,
  type BoxInpaintingOptions,
  boxSide,
} from "./src/operators/box_inpainting.ts";
export {
  type CompressedSensingOptions,
  GaussianCompressedSensing,
} from "./src/operators/compressed_sensing.ts";
export { SuperResolution } from "./src/operators/super_resolution.ts";
export { Identity } from "./src/operators/identity.ts";
export { meanSquaredError, psnr, type PsnrOptions } from "./src/metrics/psnr.ts";
export { ssim, type SsimOptions } from "./src/metrics/ssim.ts";
export { nrmse } from "./src/metrics/nrmse.ts";
export {
  type BatchMetrics,
  batchMetrics,
  batchMetricsFromArrays,
  type ImageMetrics,
  imageMetrics,
  type MetricOptions,
} from "./src/metrics/batch.ts";
export { magnitude, mriBatchMetrics, mriMetrics } from "./src/metrics/mri.ts";
export { UsageError } from "./src/core/usage_error.ts";
export { type ConfigDifference, configDifferences, RESUME_OVERRIDES } from "./src/train/config.ts";
export { readCheckpointRecord } from "./src/train/checkpoint.ts";
export { backendName } from "./src/core/select_backend.ts";
export {
  CheckpointError,
  checkRun,
  disposeTrainState,
  initTrainState,
  type OverrideRecord,
  type RunRecord,
  samplesPath,
  type StepBatch,
  stepSeed,
  trainStep,
} from "./src/train/train.ts";
export { ambientInput } from "./src/ambient/input.ts";
export { inferenceMasks } from "./src/ambient/masks.ts";
export {
  DROPOUT_STREAM,
  NOISE_STREAM,
  SIGMA_STREAM,
  trainingContext,
} from "./src/ambient/streams.ts";
export { loadParamsFile, type LoadParamsOptions } from "./src/io/params_io.ts";
export { measure, type NoiseSpace } from "./src/operators/measure.ts";
export {
  adps,
  fsDps,
  type LoadedModel,
  loadModel,
  type LoadModelOptions,
  type Model,
  type ModelFiles,
  oneStep,
  type PosteriorOptions,
  readModelFiles,
  sample,
} from "./src/api.ts";
export {
  drawSeed,
  posteriorSamples,
  type PosteriorSamplesOptions,
  type PosteriorSpread,
  spreadOfDraws,
  type SpreadOptions,
} from "./src/sampling/posterior_samples.ts";
export {
  type BytesModel,
  checkConfig,
  configFromMetadata,
  type ModelBytesOptions,
  modelFromBytes,
  modelFromUrl,
} from "./src/io/model_bytes.ts";
export { MultiCoilFourier } from "./src/operators/multi_coil_fourier.ts";
export { complexMul } from "./src/mri/complex.ts";
export {
  acsStart,
  columnMask,
  type ColumnMaskKind,
  type ColumnMaskOptions,
  columnMasks,
  furtherCorruptColumns,
  scaledAcs,
  TRAIN_ACS,
} from "./src/mri/masks.ts";
export { birdcageMaps, type BirdcageOptions, resizeArea, smoothPhase } from "./src/mri/phantom.ts";
export { acsScale, coilImages, rootSumOfSquares } from "./src/mri/normalise.ts";
export {
  type SimulatedSlice,
  simulateSlice,
  type SimulateSliceOptions,
} from "./src/mri/simulate.ts";
export { batchDot, senseCg, type SenseOptions, zeroFilled } from "./src/recon/sense.ts";
export { haar, type HaarCoefficients, haarInverse, haarLevels } from "./src/recon/haar.ts";
export { l1WaveletCs, type L1WaveletOptions, softThreshold } from "./src/recon/l1_wavelet.ts";
export { estimateCoilMaps, mapCorrelation } from "./src/recon/coil_maps.ts";
export { OnnxBackend, onnxName } from "./src/onnx/backend.ts";
export { type Attrs, OnnxGraph, OPSET } from "./src/onnx/graph.ts";
export { traceDynamicBatch } from "./src/onnx/dynamic_batch.ts";
export { exportDenoiser } from "./src/onnx/export.ts";
export {
  type Attribute,
  AttributeType,
  DataType,
  decodeModel,
  encodeModel,
  type InitializerSpec,
  type ModelSpec,
  type NodeSpec,
  type ValueInfo,
} from "./src/onnx/proto.ts";
export type { OnnxStorage } from "./src/core/backend.ts";
export { mriAmbientInput, mriImage } from "./src/ambient/input.ts";
export { mriAmbientLoss, mriAmbientObjective } from "./src/ambient/loss.ts";
export {
  MRI_DPS,
  mriAmbientDenoiser,
  mriDps,
  mriOneStep,
  withColumns,
} from "./src/sampling/mri.ts";
export { mriAdps, mriAos, mriFsDps, type MriPosteriorOptions } from "./src/api.ts";
export { type LossBatch } from "./src/train/train.ts";
export { mriLossBatch, type MriMasking, type MriTrainSlice } from "./src/mri/train_batch.ts";
export { adpsSteps, fsDpsSteps } from "./src/api.ts";
export { type DpsStep, dpsSteps, runSteps } from "./src/sampling/dps.ts";
export { type StreamedDataset } from "./src/train/train.ts";
export {
  checkTraceSeed,
  fillRandomInputs,
  type RandomInput,
  type RandomInputKind,
} from "./src/onnx/random_inputs.ts";
export { trainStepScalars } from "./src/onnx/step_scalars.ts";
export {
  outputTrainState,
  STATE_PARTS,
  type StatePart,
  traceTrainState,
} from "./src/onnx/train_state.ts";
export { type NetworkRunner } from "./src/nn/precond.ts";
export { type TrainStepRunner } from "./src/train/train.ts";
export { type OnnxRuntimeOpener, provideOnnxRuntime } from "./src/core/select_backend.ts";
export { exportAdpsStep, weightConstants } from "./src/onnx/export.ts";
