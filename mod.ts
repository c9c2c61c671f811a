/**
 * Ambient Diffusion Posterior Sampling on WebGPU: tensors, autograd and hand-written WGSL
 * kernels with a pure TypeScript CPU twin, and the EDM network they build.
 *
 * @example
 * ```ts
 * import { conv2d, grad, selectBackend, silu, sumSquares } from "./mod.ts";
 * const backend = await selectBackend();
 * const x = backend.full([1, 3, 8, 8], 0.5);
 * const w = backend.full([4, 3, 3, 3], 0.1);
 * const { grads } = grad(() => sumSquares(silu(conv2d(x, w))), [w]);
 * console.log(await grads[0].toArray());
 * ```
 *
 * @module
 */
export { Tensor } from "./src/tensor.ts";
export type { Arr, Backend, BackendName, CpuStorage, GpuStorage, Storage } from "./src/backend.ts";
export { CpuBackend, type CpuDtype } from "./src/cpu/backend.ts";
export { WebGpuBackend } from "./gpu/backend.ts";
export { Engine, GpuError } from "./gpu/engine.ts";
export type { Dispatch, Uniforms } from "./gpu/engine.ts";
export { cpuBackend, selectBackend, webgpuBackend } from "./src/backends.ts";
export { grad, type GradResult } from "./src/autograd.ts";
export { keep, tidy } from "./src/scope.ts";
export { Rng } from "./src/rng.ts";

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
  unary,
  where,
} from "./src/ops/elementwise.ts";
export { UNARY, type UnaryDef, type UnaryName } from "./src/ops/elementwise.ts";
export { mean, perSampleNorm, sum, sumSquares, sumTo } from "./src/ops/reduce.ts";
export { matmul, type MatmulOptions } from "./src/ops/matmul.ts";
export { linear } from "./src/ops/linear.ts";
export { conv2d } from "./src/ops/conv2d.ts";
export { groupNorm, type GroupNormOptions } from "./src/ops/group_norm.ts";
export { downsample2x, upsample2x } from "./src/ops/resample.ts";
export { fft2, type Fft2Options } from "./src/ops/fft.ts";
export { fftRadices } from "./src/fft_plan.ts";
export { softmax } from "./src/ops/softmax.ts";
export { multiHeadAttention } from "./src/ops/attention.ts";
export { permute } from "./src/ops/permute.ts";
export { concat, slice } from "./src/ops/concat.ts";
export {
  positionalEmbedding,
  type PositionalEmbeddingOptions,
} from "./src/ops/positional_embedding.ts";
export { bernoulli, randomNormal, randomUniform } from "./src/ops/random.ts";
export { dropout } from "./src/ops/dropout.ts";
export {
  Adam,
  type AdamItem,
  type AdamOptions,
  type AdamStepOptions,
  adamUpdate,
  adamUpdateMany,
} from "./src/optim/adam.ts";
export { emaUpdate, emaUpdateMany } from "./src/optim/ema.ts";
export { clipScale } from "./src/optim/clip.ts";

export { type InitSpec, type Params, type ParamSpec, Registry } from "./src/nn/module.ts";
export type { InitMode } from "./src/nn/init.ts";
export { Conv2d, GroupNorm, Linear } from "./src/nn/layers.ts";
export { type ForwardContext, UNetBlock } from "./src/nn/unet_block.ts";
export { SongUNet, type SongUNetConfig } from "./src/nn/song_unet.ts";
export { EDMPrecond, SIGMA_DATA } from "./src/nn/precond.ts";
export { ConvDenoiser } from "./src/nn/conv_denoiser.ts";
export { decodeSafetensors, encodeSafetensors, writeFileAtomic } from "./src/io/safetensors.ts";
export type { NamedArray, SafeTensors } from "./src/io/safetensors.ts";
export { fashionMnistToTensorData, readFashionMnist, readIdxImages } from "./src/data/idx.ts";
export type { IdxArray, IdxImages, IdxLabels } from "./src/data/idx.ts";

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
export { priorDenoiser, writePriorGrid } from "./src/ambient/prior_grid.ts";
export {
  buildNetwork,
  DivergenceError,
  emaBeta,
  learningRate,
  type LogRecord,
  train,
  type TrainOptions,
} from "./src/train.ts";
export { EDM_DEFAULTS, type TrainConfig, validateConfig } from "./src/train_config.ts";
export { loadCheckpoint, saveCheckpoint, saveNetwork, type TrainState } from "./src/checkpoint.ts";
export {
  batchIndices,
  type DataSpec,
  gatherBatch,
  type ImageDataset,
  loadDataset,
} from "./src/data/dataset.ts";
export {
  type CelebAOptions,
  type ImageFolder,
  type ImageFolderOptions,
  readCelebA,
  readImageFolder,
} from "./src/data/image_folder.ts";
export {
  encodePng,
  type GridOptions,
  imageGrid,
  type RasterImage,
  writePngGrid,
} from "./src/io/png.ts";

export { dps, type DpsOptions, type DpsResult } from "./src/sampling/dps.ts";
export { ald, type AldOptions, type AldResult, geometricSigmas } from "./src/sampling/ald.ts";
export {
  type AmbientDenoiser,
  ambientInput,
  ambientOneStep,
  ONE_STEP_SIGMA,
} from "./src/sampling/one_step.ts";
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
export { MultiCoilFourier } from "./src/operators/multi_coil_fourier.ts";
export { complexMul } from "./src/mri/complex.ts";
export {
  acsStart,
  columnMask,
  type ColumnMaskKind,
  type ColumnMaskOptions,
  columnMasks,
  furtherCorruptColumns,
  TRAIN_ACS,
} from "./src/mri/masks.ts";
export { type NiftiVolume, parseNifti, readNifti } from "./src/data/nifti.ts";
export {
  type Cfl,
  interleavedFromPlanar,
  planarFromInterleaved,
  readCfl,
  writeCfl,
} from "./src/data/cfl.ts";
export {
  type FastMriContents,
  FastMriFile,
  type FastMriInfo,
  writeFastMri,
} from "./src/data/fastmri.ts";
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
