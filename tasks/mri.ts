/**
 * The MRI priors of Aali et al. 2024, §4 (`deno task train:mri-r1` … `train:mri-r8`): an
 * ambient prior per training acceleration R trained on y = M ⊙ k alone, and (R = 1) the fully
 * sampled baseline trained with EDM's loss on the coil-combined complex images. Sized to
 * train here: 64×56 simulated slices (`deno task mri:simulate --out out/mri-sim-64x56 --size
 * 64x56`), a small gated SongUNet, the same images seen for every R. At 56 columns the
 * paper's ACS 20 cannot hold at R = 8 (M̃ keeps ⌊56/9⌋ = 6 columns), so the ACS keeps the
 * paper's fraction, round(20·W/320) = 4; `--preset paper` (paperPreset) restores the
 * reference: 384×320, ACS 20, the 36 768 644-parameter network.
 *
 * @module
 */
import { EDM_DEFAULTS, type TrainConfig } from "../src/train/config.ts";
import { scaledAcs } from "../src/mri/masks.ts";

/** [H, W] of the tasks' slices. */
export const MRI_TASK_SIZE: [number, number] = [64, 56];

/**
 * The configuration of the MRI task at training acceleration R.
 *
 * @param r R (1: fully sampled)
 * @returns the task's configuration
 */
export function mriTask(r: number): TrainConfig {
  const [h, w] = MRI_TASK_SIZE;
  return {
    ...EDM_DEFAULTS,
    name: `mri-r${r}`,
    data: { kind: "mri", dir: `out/mri-sim-${h}x${w}`, r, acs: scaledAcs(w), size: [h, w] },
    network: {
      modelChannels: 16,
      channelMult: [1, 2, 2],
      numBlocks: 1,
      attnResolutions: [],
      dropout: 0,
      gated: true,
    },
    ambient: r > 1,
    corruption: { p: 0, delta: 0 },
    batch: 8,
    lr: 1e-3,
    lrRampupImages: 400,
    emaHalfLifeImages: 500_000,
    steps: 500,
    logEvery: 10,
    checkpointEvery: 50,
    sampleEvery: 300,
    sampleCount: 9,
    sampleSteps: 18,
  };
}

/**
 * The reference's configuration (Aali et al. 2024, §4 and its public code): 384×320 slices,
 * ACS 20, EDMPrecond around a gated SongUNet with 128 channels, mult [1,1,1,1], 4 blocks,
 * dropout 0.1, lr 2e-4, batch 8, clip 1.0, EMA half-life 0.5 Mimg. Its attention resolution
 * 16 matches none of the levels of 384 rows (384, 192, 96, 48), so it has no attention; the
 * ambient network has 36 768 644 parameters.
 *
 * @param c a task's configuration (its R, name and schedule are kept)
 * @returns the reference configuration at that R
 */
export function paperPreset(c: TrainConfig): TrainConfig {
  if (c.data.kind !== "mri") throw new Error(`--preset paper is for the MRI tasks`);
  return {
    ...c,
    data: { ...c.data, dir: "out/mri-sim-384x320", acs: 20, size: [384, 320] },
    network: {
      modelChannels: 128,
      channelMult: [1, 1, 1, 1],
      numBlocks: 4,
      attnResolutions: [],
      dropout: 0.1,
      gated: true,
    },
    lr: 2e-4,
    lrRampupImages: EDM_DEFAULTS.lrRampupImages,
    batch: 8,
    gradClip: 1,
    emaHalfLifeImages: 500_000,
  };
}
