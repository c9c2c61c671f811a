/**
 * A training experiment as data (EDM's config objects): what `--dry-run` prints and what
 * every checkpoint stores.
 *
 * @module
 */
import type { Corruption } from "./ambient/masks.ts";
import type { DataSpec } from "./data/dataset.ts";
import type { SongUNetConfig } from "./nn/song_unet.ts";

/** Everything that defines a training run. */
export interface TrainConfig {
  /** Experiment name (the task). */
  name: string;
  /** Training images. */
  data: DataSpec;
  /** The U-Net; resolution and channel counts come from the data and `ambient`. */
  network: Omit<SongUNetConfig, "imgResolution" | "inChannels" | "outChannels">;
  /** Ambient training (mask channels in the input, loss on M) or plain EDM. */
  ambient: boolean;
  /** Erasure levels (ambient only). */
  corruption: Corruption;
  /** Seed of the per-image masks (the "data set" corruption). */
  corruptionSeed: number;
  /** Images per step. */
  batch: number;
  /**
   * Images per round (EDM's --batch-gpu): a step's gradients are summed over rounds of this
   * many images before one clip, Adam and EMA update, so memory follows this, not `batch`.
   * Default: the whole batch in one round.
   */
  batchGpu?: number;
  /** Adam learning rate after warm-up. */
  lr: number;
  /** Images over which the learning rate ramps up linearly from 0. */
  lrRampupImages: number;
  /** EMA half-life in images. */
  emaHalfLifeImages: number;
  /** EMA ramp-up ratio: half-life ≤ ratio × images seen (EDM's ema_rampup_ratio). */
  emaRampupRatio: number;
  /** Global gradient-norm clip. */
  gradClip: number;
  /** Seed of everything else (init, batches, noise, dropout). */
  seed: number;
  /** Training steps in all. */
  steps: number;
  /** Read the loss back and log every this many steps. */
  logEvery: number;
  /** Write a checkpoint every this many steps. */
  checkpointEvery: number;
  /** Write a sample grid every this many steps (0: only at the end). */
  sampleEvery: number;
  /** Images in the sample grid. */
  sampleCount: number;
  /** Heun steps of the sample grid (EDM: 18). */
  sampleSteps: number;
  /**
   * Smallest noise level of the sample grid (default EDM's 0.002). Briefly trained ambient models
   * fill hidden pixels only down to σ ≈ 0.05 (docs/fmnist-small).
   */
  sampleSigmaMin?: number;
}

/** Reference hyper-parameters shared by every task (SPEC §2). */
export const EDM_DEFAULTS: Omit<
  TrainConfig,
  "name" | "data" | "network" | "ambient" | "corruption" | "steps"
> = {
  corruptionSeed: 0,
  batch: 32,
  lr: 2e-4,
  lrRampupImages: 10_000,
  emaHalfLifeImages: 500_000,
  emaRampupRatio: 0.05,
  gradClip: 1,
  seed: 0,
  logEvery: 10,
  checkpointEvery: 200,
  sampleEvery: 1000,
  sampleCount: 64,
  sampleSteps: 18,
};

/**
 * Checks a configuration and says what is wrong.
 *
 * @param c the configuration
 */
export function validateConfig(c: TrainConfig): void {
  const bad = (what: string) => {
    throw new Error(`config ${c.name}: ${what}`);
  };
  for (
    const k of [
      "batch",
      "steps",
      "logEvery",
      "checkpointEvery",
      "sampleCount",
      "sampleSteps",
    ] as const
  ) {
    if (!Number.isInteger(c[k]) || c[k] < 1) bad(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (!(c.lr > 0)) bad(`lr must be > 0, got ${c.lr}`);
  if (
    c.batchGpu !== undefined &&
    !(Number.isInteger(c.batchGpu) && c.batchGpu >= 1 && c.batchGpu <= c.batch)
  ) {
    bad(`batchGpu must be an integer in [1, batch = ${c.batch}], got ${c.batchGpu}`);
  }
  if (c.sampleSigmaMin !== undefined && !(c.sampleSigmaMin > 0 && c.sampleSigmaMin < 80)) {
    bad(`sampleSigmaMin must lie in (0, 80), got ${c.sampleSigmaMin}`);
  }
  const { p, delta } = c.corruption;
  if (!(p >= 0 && p < 1 && delta >= 0 && delta < 1)) {
    bad(`p and delta must lie in [0, 1), got ${p}, ${delta}`);
  }
  if (!c.ambient && (p > 0 || delta > 0)) bad("p, delta > 0 need ambient: true");
  if (!(c.network.dropout >= 0 && c.network.dropout < 1)) bad(`dropout must lie in [0, 1)`);
}
