/**
 * The per-step scalar inputs of a traced training step (`OnnxBackend.scalar`): the learning
 * rate with its warm-up and Adam's bias corrections, and the EMA's weight, which change from
 * step to step while the graph does not (docs/method.md §2.5).
 *
 * @module
 */
import { adamScalars } from "../optim/adam.ts";
import type { TrainConfig } from "../train/config.ts";
import { emaBeta, learningRate } from "../train/train.ts";

/**
 * Feeds of the scalar inputs of `trainStep` at `step` (Adam's step count equals the step).
 *
 * @param config the experiment
 * @param step the step number (from 1)
 * @returns name → [value, shape []] for `adam.stepSize`, `adam.invBc2Sqrt`, `ema.weight`
 * @example
 * ```ts
 * import { trainStepScalars } from "./step_scalars.ts";
 * import { EDM_DEFAULTS, type TrainConfig } from "../train/config.ts";
 * const network = { modelChannels: 8, channelMult: [1], numBlocks: 1, attnResolutions: [], dropout: 0 };
 * const config: TrainConfig = {
 *   ...EDM_DEFAULTS, name: "x", data: { kind: "fmnist" }, network, ambient: false,
 *   corruption: { p: 0, delta: 0 }, steps: 10,
 * };
 * const feeds = trainStepScalars(config, 4);
 * ```
 */
export function trainStepScalars(
  config: TrainConfig,
  step: number,
): Record<string, [Float32Array, readonly number[]]> {
  const images = step * config.batch;
  const s = adamScalars({ lr: learningRate(config, images), step });
  const values: Record<string, number> = {
    "adam.stepSize": s.stepSize,
    "adam.invBc2Sqrt": s.invBc2Sqrt,
    "ema.weight": 1 - emaBeta(config, images),
  };
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, [Float32Array.of(v), []]]),
  );
}
