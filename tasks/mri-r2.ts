/**
 * The ambient MRI prior trained on R = 2 under-sampled k-space alone (Aali et al. 2024, §4);
 * sizes in tasks/mri.ts.
 *
 * @module
 */
import type { TrainConfig } from "../src/train/config.ts";
import { mriTask } from "./mri.ts";

/** The task's configuration. */
export const config: TrainConfig = mriTask(2);
