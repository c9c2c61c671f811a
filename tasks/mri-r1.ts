/**
 * The fully sampled MRI baseline (R = 1), the FS-DPS prior: EDM's loss on the coil-combined
 * complex images (Aali et al. 2024, §4); sizes in tasks/mri.ts.
 *
 * @module
 */
import type { TrainConfig } from "../src/train/config.ts";
import { mriTask } from "./mri.ts";

/** The task's configuration. */
export const config: TrainConfig = mriTask(1);
