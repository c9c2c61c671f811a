/**
 * The method in one call per job (Aali et al. 2024; docs/method.md): load a trained prior,
 * then solve an inverse problem with it by A-DPS (an ambient prior) or FS-DPS (a clean one),
 * reconstruct inpainting in one step (A-OS), or draw unconditional samples. Each call builds
 * the network's input, the M̃ masks and the denoiser the way the model was trained.
 *
 * ```ts ignore
 * using model = await loadModel("fixtures/models/fmnist-inpaint");
 * const { x } = adps(model, op, y, { steps: 100, seed: 0 });
 * ```
 *
 * @module
 */
import { inferenceMasks, samplingMask } from "./ambient/masks.ts";
import { priorDenoiser } from "./ambient/prior_denoiser.ts";
import { PRIOR_MASK_SEED } from "./ambient/prior_grid.ts";
import type { Backend } from "./core/backend.ts";
import { UsageError } from "./core/usage_error.ts";
import { decodeSafetensors } from "./io/safetensors.ts";
import type { Params } from "./nn/module.ts";
import type { EDMPrecond } from "./nn/precond.ts";
import type { LinearOperator } from "./operators/linear_operator.ts";
import type { MaskOperator } from "./operators/mask_operator.ts";
import { checkConfig, configFromMetadata, modelFromBytes } from "./io/model_bytes.ts";
import {
  type DpsOptions,
  type DpsResult,
  type DpsStep,
  dpsSteps,
  runSteps,
} from "./sampling/dps.ts";
import { edmSample, type EdmSampleOptions, type EdmSampleResult } from "./sampling/edm_sampler.ts";
import { ambientOneStep, ONE_STEP_SIGMA } from "./sampling/one_step.ts";
import type { Tensor } from "./core/tensor.ts";
import { columnMasks } from "./mri/masks.ts";
import type { MultiCoilFourier } from "./operators/multi_coil_fourier.ts";
import { mriAmbientDenoiser, mriDps, mriOneStep, withColumns } from "./sampling/mri.ts";
import type { TrainConfig } from "./train/config.ts";

/** A trained prior: the network, its (EMA) weights and the configuration it was trained with. */
export interface Model {
  /** The preconditioned network. */
  net: EDMPrecond;
  /** Its weights. */
  params: Params;
  /** The training configuration (ambient or clean, the corruption p and δ). */
  config: TrainConfig;
  /** The image shape [C, H, W] it works on. */
  shape: readonly [number, number, number];
  /** Where the weights live. */
  backend: Backend;
}

/** A model read from disk; `dispose()` (or `using`) frees its weights. */
export interface LoadedModel extends Model, Disposable {
  /** The weights file it was read from. */
  weights: string;
  /** Frees the weights. */
  dispose(): void;
}

/** Options of `loadModel`. */
export interface LoadModelOptions {
  /** Where the weights go (default: `selectBackend()`, WebGPU where available). */
  backend?: Backend;
  /** Image shape [C, H, W] (default: from the training data, e.g. 1×32×32 for Fashion-MNIST). */
  shape?: readonly [number, number, number];
  /** The training configuration, for a weights file without one (a converted state_dict). */
  config?: TrainConfig;
}

/** A model's files as read from disk, before its network is built. */
export interface ModelFiles {
  /** The weights file. */
  weights: string;
  /** Its bytes (safetensors). */
  bytes: Uint8Array<ArrayBuffer>;
  /** The training configuration. */
  config: TrainConfig;
}

/**
 * Reads a model's weights and configuration: a run folder (config.json +
 * network-ema.safetensors) or a network .safetensors whose metadata holds the config.
 *
 * @param path the folder or the file
 * @param given the configuration to use instead of the file's (a bare state_dict has none)
 * @returns the weights file, its bytes and the config
 * @example
 * ```ts ignore
 * const { config } = await readModelFiles("fixtures/models/fmnist-inpaint");
 * console.log(config.corruption); // { p: 0.6, delta: 0.1 }
 * ```
 */
export async function readModelFiles(path: string, given?: TrainConfig): Promise<ModelFiles> {
  const stat = await Deno.stat(path).catch(() => {
    throw new UsageError(
      `${path} does not exist: give a run folder (config.json + network-ema.safetensors) ` +
        `or a network .safetensors`,
    );
  });
  const weights = stat.isDirectory ? `${path}/network-ema.safetensors` : path;
  const bytes = await Deno.readFile(weights).catch(() => {
    throw new UsageError(`cannot read ${weights} (has training finished?)`);
  });
  let config: TrainConfig;
  try {
    if (given) {
      config = given;
    } else if (stat.isDirectory) {
      config = JSON.parse(await Deno.readTextFile(`${path}/config.json`));
    } else {
      config = configFromMetadata(decodeSafetensors(bytes).metadata, weights);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path}: not a model of this package (${(e as Error).message})`);
  }
  checkConfig(config, path);
  return { weights, bytes, config };
}

/**
 * Loads a trained prior: a run folder (config.json + network-ema.safetensors, as training and
 * `scripts/export-model.ts` write them) or a network .safetensors whose metadata holds the
 * config.
 *
 * @param path the folder or the file
 * @param options backend and image shape
 * @returns the model (free with `dispose()` or `using`)
 * @example
 * ```ts ignore
 * import { cpuBackend, loadModel } from "./mod.ts";
 * using model = await loadModel("fixtures/models/fmnist-clean", { backend: cpuBackend() });
 * console.log(model.config.ambient, model.shape); // false [1, 32, 32]
 * ```
 */
export async function loadModel(
  path: string,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const { weights, bytes, config } = await readModelFiles(path, options.config);
  const model = await modelFromBytes(bytes, { ...options, config, name: weights });
  return { ...model, weights };
}

/** Options of `adps` and `fsDps`: those of `dps` (steps, ζ, Heun, schedule, seed, …). */
export interface PosteriorOptions extends DpsOptions {
  /**
   * A-DPS's M̃: "per-image" (default, the reference's: image i's mask seeded by `images[i]`),
   * "per-batch" (one mask shared by the batch) or a given 0/1 tensor [1 or N, 1, H, W].
   */
  mask?: "per-image" | "per-batch" | Tensor;
  /** Seed of the M̃ masks (default: `seed`). */
  maskSeed?: number;
  /** An index per image of y (e.g. its place in the test set) for per-image M̃ (default 0…N−1). */
  images?: readonly number[];
}

/** Checks y against the model and returns the batch's sample shape [N, C, H, W]. */
function sampleShape(model: Model, y: Tensor, who: string): number[] {
  const n = y.shape[0];
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${who}: y [${y.shape}] has no batch`);
  return [n, ...model.shape];
}

/** The M̃ masks of a batch of n images as `options` ask (caller disposes). */
function furtherMasks(model: Model, n: number, options: PosteriorOptions, backend: Backend) {
  const { mask = "per-image", maskSeed = options.seed, images } = options;
  const [, h, w] = model.shape;
  const c = model.config.corruption;
  if (mask === "per-batch") return samplingMask(backend, 1, h, w, c, maskSeed);
  if (mask === "per-image") {
    const idx = images ?? Array.from({ length: n }, (_, i) => i);
    if (idx.length !== n) throw new Error(`adps: ${idx.length} image indices for ${n} images`);
    return inferenceMasks(backend, idx, h, w, c, maskSeed);
  }
  return null;
}

/**
 * A-DPS: posterior sampling for y = A x + noise with an ambient prior, whose network sees each
 * image through its fixed further-corruption mask M̃ (Aali et al. 2024, §4). The sampler is
 * `dps`: Heun with the likelihood step at both stages by default.
 *
 * @param model an ambient model (`loadModel`)
 * @param op the forward operator A
 * @param y the measurements [N, …]
 * @param options steps (300), ζ (4), seed, σ_min, the M̃ masks, …
 * @returns the reconstructions [N, C, H, W] (caller disposes) and the NFE / VJP counts
 * @example
 * ```ts ignore
 * using model = await loadModel("fixtures/models/fmnist-inpaint");
 * const { x, nfe } = adps(model, op, y, { steps: 50, zeta: 2, sigmaMin: 0.05, seed: 0 });
 * ```
 */
export function adps(
  model: Model,
  op: LinearOperator,
  y: Tensor,
  options: PosteriorOptions,
): DpsResult {
  return runSteps(adpsSteps(model, op, y, options), options.onStep);
}

/**
 * `adps` one step per `next()` (`dpsSteps`): each yields the current x, so a caller may pause
 * between steps, e.g. a web page that redraws the estimate. Run it to the end or close it.
 *
 * @param model an ambient model
 * @param op the forward operator A
 * @param y the measurements [N, …]
 * @param options as `adps`'s (`onStep` is not called: the caller sees each step)
 * @returns a generator of the steps, returning `adps`'s result
 * @example
 * ```ts ignore
 * const steps = adpsSteps(model, op, y, { steps: 50, seed: 0 });
 * let r = steps.next();
 * for (; !r.done; r = steps.next()) await redraw(r.value.x); // valid until the next step
 * using x = r.value.x;
 * ```
 */
export function* adpsSteps(
  model: Model,
  op: LinearOperator,
  y: Tensor,
  options: PosteriorOptions,
): Generator<DpsStep, DpsResult, void> {
  if (!model.config.ambient) {
    throw new Error("adps: the model was trained on clean data: use fsDps");
  }
  const shape = sampleShape(model, y, "adps");
  const made = furtherMasks(model, shape[0], options, y.backend);
  try {
    const denoise = priorDenoiser(model.net, model.params, true, made ?? (options.mask as Tensor));
    return yield* dpsSteps(denoise, op, y, y.backend, shape, options);
  } finally {
    made?.dispose();
  }
}

/**
 * FS-DPS: the same posterior sampler with a prior trained on clean (fully sampled) data.
 *
 * @param model a clean model (`loadModel`)
 * @param op the forward operator A
 * @param y the measurements [N, …]
 * @param options steps (300), ζ (4), seed, σ_min, …
 * @returns the reconstructions [N, C, H, W] (caller disposes) and the NFE / VJP counts
 * @example
 * ```ts ignore
 * using model = await loadModel("fixtures/models/fmnist-clean");
 * const { x } = fsDps(model, op, y, { steps: 50, zeta: 2, sigmaMin: 0.05, seed: 0 });
 * ```
 */
export function fsDps(
  model: Model,
  op: LinearOperator,
  y: Tensor,
  options: DpsOptions,
): DpsResult {
  return runSteps(fsDpsSteps(model, op, y, options), options.onStep);
}

/**
 * `fsDps` one step per `next()` (`dpsSteps`): each yields the current x.
 *
 * @param model a clean model
 * @param op the forward operator A
 * @param y the measurements [N, …]
 * @param options as `fsDps`'s (`onStep` is not called: the caller sees each step)
 * @returns a generator of the steps, returning `fsDps`'s result
 * @example
 * ```ts ignore
 * const steps = fsDpsSteps(model, op, y, { steps: 50, seed: 0 });
 * let r = steps.next();
 * for (; !r.done; r = steps.next()) await redraw(r.value.x);
 * using x = r.value.x;
 * ```
 */
export function* fsDpsSteps(
  model: Model,
  op: LinearOperator,
  y: Tensor,
  options: DpsOptions,
): Generator<DpsStep, DpsResult, void> {
  if (model.config.ambient) {
    throw new Error("fsDps: the model is ambient (mask channels): use adps");
  }
  const shape = sampleShape(model, y, "fsDps");
  const denoise = priorDenoiser(model.net, model.params, false, null);
  return yield* dpsSteps(denoise, op, y, y.backend, shape, options);
}

/**
 * A-OS: the one-step ambient reconstruction of an inpainting problem, x̂ = h([M ⊙ Aᴴy, M], σ)
 * with the operator's own mask, one network evaluation (Aali et al. 2024, §4).
 *
 * @param model an ambient model
 * @param op a mask operator (random or box inpainting)
 * @param y the measurements [N, C, H, W]
 * @param sigma the noise level given to the network (the reference's 0.003)
 * @returns the reconstructions (caller disposes)
 * @example
 * ```ts ignore
 * using model = await loadModel("fixtures/models/fmnist-inpaint");
 * using op = new BoxInpainting(model.backend, { height: 32, width: 32, p: 0.375, seed: 0 });
 * using x = oneStep(model, op, measure(op, images, 0.05, 1));
 * ```
 */
export function oneStep(
  model: Model,
  op: MaskOperator,
  y: Tensor,
  sigma: number = ONE_STEP_SIGMA,
): Tensor {
  if (!model.config.ambient) throw new Error("oneStep: A-OS needs an ambient model");
  const ctx = { training: false, seed: 0, stream: 0 };
  return ambientOneStep(
    (input, s) =>
      model.net.forward(model.params, input, input.backend.full([input.shape[0]], s), ctx),
    op,
    y,
    sigma,
  );
}

/**
 * Unconditional samples of the prior: EDM's Heun sampler (18 steps by default); an ambient
 * model sees concat[M̃ ⊙ x, M̃] with one fixed M̃ for the run (seed `maskSeed`).
 *
 * @param model the model
 * @param count number of samples
 * @param options steps, seed, σ_min, …, and the M̃ seed
 * @returns the samples [count, C, H, W] (caller disposes) and the NFE
 * @example
 * ```ts ignore
 * using model = await loadModel("fixtures/models/fmnist-clean");
 * const { x } = sample(model, 16, { seed: 0, sigmaMin: 0.05 });
 * ```
 */
export function sample(
  model: Model,
  count: number,
  options: EdmSampleOptions & { maskSeed?: number },
): EdmSampleResult {
  const { backend } = model;
  const [, h, w] = model.shape;
  const further = model.config.ambient
    ? samplingMask(backend, 1, h, w, model.config.corruption, options.maskSeed ?? PRIOR_MASK_SEED)
    : null;
  try {
    const denoise = priorDenoiser(model.net, model.params, model.config.ambient, further);
    return edmSample(denoise, backend, [count, ...model.shape], options);
  } finally {
    further?.dispose();
  }
}

/** Options of `mriAdps` and `mriFsDps`: `dps`'s, defaulting to the reference's `MRI_DPS`. */
export interface MriPosteriorOptions extends Partial<DpsOptions> {
  /** Seed of the initial noise. */
  seed: number;
  /** A-DPS: the training acceleration R, whose kind of M̃ (ACS 20, ⌊W/(R+1)⌋ columns) is drawn. */
  rTrain?: number;
  /** A-DPS: seed of that one M̃, drawn once per run and shared by the batch (default `seed`). */
  maskSeed?: number;
  /** A-DPS: the ACS width of that M̃, as in training (default the paper's 20). */
  acs?: number;
}

/** The network of a model as h(u, σ), in eval mode. */
function networkOf(model: Model) {
  const ctx = { training: false, seed: 0, stream: 0 };
  return (u: Tensor, s: number) =>
    model.net.forward(model.params, u, u.backend.full([u.shape[0]], s), ctx);
}

/** Checks that the model works on complex images of the operator's size. */
function checkMriModel(model: Model, op: MultiCoilFourier, who: string): void {
  const [, , , h, w] = op.maps.shape;
  if (model.shape.join() !== [2, h, w].join()) {
    throw new Error(`${who}: the model works on [${model.shape}], the k-space on [2, ${h}, ${w}]`);
  }
}

/**
 * A-DPS for multi-coil MRI (Aali et al. 2024, §4): the reference's sampler (`MRI_DPS`: Euler,
 * 500 steps, ζ = 2, no clipping) with an ambient prior that sees ÃᴴÃ x, Ã = M̃ F S, through
 * one M̃ of the training kind drawn once per run.
 *
 * @param model an ambient MRI model (4 input channels, images [2, H, W])
 * @param op A_inf = M_inf F S of the slices
 * @param y their k-space [N, C, 2, H, W]
 * @param options seed, the training R (required), the M̃ seed, any `dps` option
 * @returns the reconstructions [N, 2, H, W] (caller disposes) and the NFE / VJP counts
 * @example
 * ```ts ignore
 * using model = await loadModel("runs/mri-r4");
 * const { x } = mriAdps(model, op, y, { seed: 0, rTrain: 4 });
 * ```
 */
export function mriAdps(
  model: Model,
  op: MultiCoilFourier,
  y: Tensor,
  options: MriPosteriorOptions,
): DpsResult {
  if (!model.config.ambient) {
    throw new Error("mriAdps: the model was trained on clean data: use mriFsDps");
  }
  const { rTrain, maskSeed = options.seed, acs } = options;
  if (rTrain === undefined) {
    throw new Error("mriAdps: give rTrain, the model's training acceleration");
  }
  checkMriModel(model, op, "mriAdps");
  const w = op.maps.shape[4];
  const further = y.backend.fromArray(
    columnMasks(w, [0], { r: rTrain, acs, seed: maskSeed, further: true }),
    [1, w],
  );
  using tilde = withColumns(op, further);
  return mriDps(mriAmbientDenoiser(networkOf(model), tilde), op, y, options);
}

/**
 * FS-DPS for multi-coil MRI: the same sampler with a prior trained on fully sampled images.
 *
 * @param model a clean MRI model (2 channels in and out)
 * @param op A_inf = M_inf F S
 * @param y k-space [N, C, 2, H, W]
 * @param options seed and any `dps` option (defaults `MRI_DPS`)
 * @returns the reconstructions [N, 2, H, W] (caller disposes) and the NFE / VJP counts
 * @example
 * ```ts ignore
 * using model = await loadModel("runs/mri-r1");
 * const { x } = mriFsDps(model, op, y, { seed: 0 });
 * ```
 */
export function mriFsDps(
  model: Model,
  op: MultiCoilFourier,
  y: Tensor,
  options: MriPosteriorOptions,
): DpsResult {
  if (model.config.ambient) throw new Error("mriFsDps: the model is ambient: use mriAdps");
  checkMriModel(model, op, "mriFsDps");
  return mriDps(networkOf(model), op, y, options);
}

/**
 * A-OS for multi-coil MRI: one evaluation at σ = 0.003 on [M_infᴴ y, M_inf over rows, ones].
 *
 * @param model an ambient MRI model
 * @param op A_inf = M_inf F S
 * @param y k-space [N, C, 2, H, W]
 * @param sigma the σ given to the network (the reference's 0.003)
 * @returns the reconstructions [N, 2, H, W] (caller disposes)
 * @example
 * ```ts ignore
 * using model = await loadModel("runs/mri-r4");
 * using x = mriAos(model, op, y);
 * ```
 */
export function mriAos(
  model: Model,
  op: MultiCoilFourier,
  y: Tensor,
  sigma: number = ONE_STEP_SIGMA,
): Tensor {
  if (!model.config.ambient) throw new Error("mriAos: A-OS needs an ambient model");
  checkMriModel(model, op, "mriAos");
  return mriOneStep(networkOf(model), op, y, sigma);
}
