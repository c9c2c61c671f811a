/**
 * The paper's CelebA-64 ambient run (docs/method.md §3): p = 0.6, δ = 0.1, lr 2e-4, dropout 0.1,
 * batch 256, the EDM 64×64 network. Needs `--data <img_align_celeba folder>`.
 *
 * @module
 */
import { EDM_DEFAULTS, type TrainConfig } from "../src/train/config.ts";

/** The task's configuration. */
export const config: TrainConfig = {
  ...EDM_DEFAULTS,
  name: "celeba-inpaint",
  data: { kind: "celeba", dir: "" },
  network: {
    modelChannels: 128,
    channelMult: [1, 2, 2, 2],
    numBlocks: 4,
    attnResolutions: [16],
    dropout: 0.1,
  },
  ambient: true,
  corruption: { p: 0.6, delta: 0.1 },
  batch: 256,
  lr: 2e-4,
  lrRampupImages: 10_000_000,
  steps: 200_000,
  logEvery: 10,
  checkpointEvery: 500,
  sampleEvery: 5000,
  sampleCount: 64,
};
