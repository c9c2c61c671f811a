/**
 * A tiny ambient run for smoke tests and CI: the fmnist-inpaint method (p = 0.6, δ = 0.1) on
 * the 512 shipped Fashion-MNIST fixture images, with a U-Net small enough that a step takes
 * a fraction of a second on 2 CPU cores. Not meant to produce good samples.
 *
 * @module
 */
import { EDM_DEFAULTS, type TrainConfig } from "../src/train/config.ts";

/** The task's configuration. */
export const config: TrainConfig = {
  ...EDM_DEFAULTS,
  name: "tiny-inpaint",
  data: { kind: "fmnist", dir: "fixtures/fmnist" },
  network: {
    modelChannels: 8,
    channelMult: [1, 2],
    numBlocks: 1,
    attnResolutions: [],
    dropout: 0,
  },
  ambient: true,
  corruption: { p: 0.6, delta: 0.1 },
  batch: 8,
  lr: 2e-3,
  lrRampupImages: 0,
  emaHalfLifeImages: 500,
  steps: 200,
  logEvery: 10,
  checkpointEvery: 50,
  sampleEvery: 100,
  sampleCount: 4,
  sampleSteps: 4,
};
