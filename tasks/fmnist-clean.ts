/**
 * The clean baseline on Fashion-MNIST: the same network and schedule trained with plain EDM
 * (p = δ = 0, no mask channels).
 *
 * @module
 */
import { config as inpaint } from "./fmnist-inpaint.ts";
import type { TrainConfig } from "../src/train/config.ts";

/** The task's configuration. */
export const config: TrainConfig = {
  ...inpaint,
  name: "fmnist-clean",
  ambient: false,
  corruption: { p: 0, delta: 0 },
};
