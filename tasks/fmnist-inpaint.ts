/**
 * Ambient training on Fashion-MNIST with random inpainting (p = 0.6, δ = 0.1 by default),
 * sized to train usefully on 2 CPU cores through WebGPU on lavapipe.
 *
 * @module
 */
import { EDM_DEFAULTS, type TrainConfig } from "../src/train/config.ts";

/** The task's configuration. */
export const config: TrainConfig = {
  ...EDM_DEFAULTS,
  name: "fmnist-inpaint",
  data: { kind: "fmnist" },
  network: {
    modelChannels: 32,
    channelMult: [1, 2, 2],
    numBlocks: 2,
    attnResolutions: [8],
    dropout: 0.1,
  },
  ambient: true,
  corruption: { p: 0.6, delta: 0.1 },
  batch: 32,
  lr: 5e-4,
  lrRampupImages: 2_000,
  steps: 20_000,
  logEvery: 10,
  checkpointEvery: 100,
  sampleEvery: 1000,
  sampleCount: 16,
};
