/**
 * Networks and their parts: the parameter registry, the layers, EDM's SongUNet and its
 * preconditioning, a small convolutional denoiser for tests, and the optimizers.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../../mod.ts";
 * import { EDMPrecond, SongUNet } from "./mod.ts";
 * const net = new EDMPrecond(
 *   new SongUNet({
 *     imgResolution: 8,
 *     inChannels: 1,
 *     outChannels: 1,
 *     modelChannels: 8,
 *     channelMult: [1],
 *     numBlocks: 1,
 *     attnResolutions: [],
 *     dropout: 0,
 *   }),
 * );
 * const params = net.model.registry.materialize(cpuBackend(), 0);
 * ```
 *
 * @module
 */
export { Tensor } from "../core/tensor.ts";
export type {
  Arr,
  Backend,
  BackendKind,
  CpuStorage,
  GpuStorage,
  Storage,
} from "../core/backend.ts";
export { type InitSpec, type Params, type ParamSpec, Registry } from "./module.ts";
export type { InitMode } from "./init.ts";
export { Conv2d, GroupNorm, Linear } from "./layers.ts";
export { type ForwardContext, UNetBlock } from "./unet_block.ts";
export { SongUNet, type SongUNetConfig } from "./song_unet.ts";
export { EDMPrecond, SIGMA_DATA } from "./precond.ts";
export {
  Adam,
  type AdamItem,
  type AdamOptions,
  type AdamStepOptions,
  adamUpdate,
  adamUpdateMany,
} from "../optim/adam.ts";
export { emaUpdate, emaUpdateMany } from "../optim/ema.ts";
export { clipScale } from "../optim/clip.ts";
