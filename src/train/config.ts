/**
 * A training experiment as data (EDM's config objects): what `--dry-run` prints and what
 * every checkpoint stores.
 *
 * @module
 */
import type { Corruption } from "../ambient/masks.ts";
import { UsageError } from "../core/usage_error.ts";
import { dataShape, type DataSpec, type MriDataSpec } from "../data/dataset.ts";
import type { SongUNetConfig } from "../nn/song_unet.ts";

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

/** Reference hyper-parameters shared by every task (docs/method.md §2.5). */
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
 * Checks a configuration and says what is wrong (a UsageError: the values come from the
 * user), before any data is read or any GPU work is recorded.
 *
 * @param c the configuration
 * @example
 * ```ts
 * import { EDM_DEFAULTS, type TrainConfig, validateConfig } from "./config.ts";
 * const config: TrainConfig = {
 *   ...EDM_DEFAULTS,
 *   name: "tiny",
 *   data: { kind: "fmnist", dir: "fixtures/fmnist" },
 *   network: { modelChannels: 8, channelMult: [1], numBlocks: 1, attnResolutions: [], dropout: 0 },
 *   ambient: true,
 *   corruption: { p: 0.6, delta: 0.1 },
 *   steps: 10,
 * };
 * validateConfig(config); // passes; { ...config, batch: 0 } would throw a UsageError naming the field
 * ```
 */
export function validateConfig(c: TrainConfig): void {
  const bad = (what: string) => {
    throw new UsageError(`config ${c.name}: ${what}`);
  };
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
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
    if (!positive(c[k])) bad(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (!(Number.isInteger(c.sampleEvery) && c.sampleEvery >= 0)) {
    bad(`sampleEvery must be an integer ≥ 0 (0: only at the end), got ${c.sampleEvery}`);
  }
  for (const k of ["seed", "corruptionSeed"] as const) {
    if (!(Number.isInteger(c[k]) && c[k] >= 0)) bad(`${k} must be an integer ≥ 0, got ${c[k]}`);
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
  const limit = (c.data as { limit?: number }).limit;
  if (limit !== undefined && !positive(limit)) {
    bad(`data.limit must be a positive integer (images to train on), got ${limit}`);
  }
  if (c.data.kind === "mri") validateMri(c, c.data, bad);
  validateNetwork(c, bad);
}

/**
 * k-space training (Aali et al. 2024, §4): ambient exactly when R > 1, and M̃ (⌊W/(R+1)⌋
 * columns) must still hold the ACS block.
 */
function validateMri(c: TrainConfig, d: MriDataSpec, bad: (what: string) => never): void {
  const [h, w] = d.size;
  if (![h, w].every((v) => Number.isInteger(v) && v >= 1)) bad(`data.size must be [H, W]`);
  if (!(d.r >= 1)) bad(`data.r (the training R) must be ≥ 1, got ${d.r}`);
  if (c.ambient !== d.r > 1) {
    bad(
      `R = ${d.r} trains ${
        d.r > 1 ? "an ambient" : "a clean (fully sampled)"
      } model: ambient must be ${d.r > 1}`,
    );
  }
  if (!(Number.isInteger(d.acs) && d.acs >= 0)) {
    bad(`data.acs must be an integer ≥ 0, got ${d.acs}`);
  }
  if (d.r > 1 && Math.floor(w / (d.r + 1)) < d.acs) {
    bad(
      `M̃ at R + 1 = ${d.r + 1} keeps ⌊${w}/${d.r + 1}⌋ columns, fewer than the ${d.acs} ACS ` +
        `columns: lower the ACS (round(20·W/320) = ${
          Math.round((20 * w) / 320)
        } keeps the paper's fraction)`,
    );
  }
}

/** Sizes of the U-Net: nothing zero-sized may reach the GPU, no attention resolution ignored. */
function validateNetwork(c: TrainConfig, bad: (what: string) => never): void {
  const { modelChannels: mc, channelMult, numBlocks, attnResolutions, dropout } = c.network;
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
  if (!positive(mc)) bad(`network.modelChannels must be a positive integer, got ${mc}`);
  if (channelMult.length === 0 || !channelMult.every(positive)) {
    bad(`network.channelMult must be positive integers, e.g. 1,2,2; got [${channelMult}]`);
  }
  if (!positive(numBlocks)) bad(`network.numBlocks must be a positive integer, got ${numBlocks}`);
  if (!(dropout >= 0 && dropout < 1)) bad(`dropout must lie in [0, 1), got ${dropout}`);
  for (const ch of channelMult.map((m) => mc * m)) {
    // EDM's GroupNorm uses min(32, C/4) groups, which must exist and divide C.
    const groups = Math.min(32, Math.floor(ch / 4));
    if (groups < 1 || ch % groups !== 0) {
      bad(`network: ${ch} channels do not split into GroupNorm's min(32, C/4) groups`);
    }
  }
  const [, side, width] = dataShape(c.data);
  const resolutions = channelMult.map((_, level) => side >> level);
  if (side % 2 ** (channelMult.length - 1) !== 0 || width % 2 ** (channelMult.length - 1) !== 0) {
    bad(`network: ${channelMult.length} levels halve ${side}×${width} images to a fraction`);
  }
  const unknown = attnResolutions.filter((r) => !resolutions.includes(r));
  if (unknown.length > 0) {
    bad(
      `network.attnResolutions [${unknown}] is not a resolution of this network ` +
        `(${resolutions.join(", ")}): attention would be silently left out`,
    );
  }
}

/** Fields a resumed run may change: they say how long and how often, not what is trained. */
export const RESUME_OVERRIDES: readonly string[] = [
  "steps",
  "logEvery",
  "checkpointEvery",
  "sampleEvery",
  "sampleCount",
  "sampleSteps",
  "sampleSigmaMin",
];

/** One field where two configurations differ (a dotted path, e.g. "corruption.p"). */
export interface ConfigDifference {
  /** Dotted path of the field. */
  field: string;
  /** Value in the recorded run. */
  recorded: unknown;
  /** Value asked for now. */
  wanted: unknown;
}

/**
 * Every field where `wanted` differs from `recorded` (arrays compared whole).
 *
 * @param recorded the configuration a run was trained with
 * @param wanted the configuration asked for now
 * @returns the differences, in field order
 * @example
 * ```ts
 * import { configDifferences } from "./config.ts";
 * import { config } from "../../tasks/tiny-inpaint.ts";
 * configDifferences(config, { ...config, batch: 4 }); // [{ field: "batch", recorded: 8, wanted: 4 }]
 * ```
 */
export function configDifferences(recorded: TrainConfig, wanted: TrainConfig): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    const nested = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    if (nested(a) && nested(b)) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const k of keys) {
        walk(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          path ? `${path}.${k}` : k,
        );
      }
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push({ field: path, recorded: a, wanted: b });
    }
  };
  walk(recorded, wanted, "");
  return out;
}
