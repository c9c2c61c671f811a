/**
 * MRI rows of `deno task bench`: the `train:mri-r4` network (tasks/mri.ts: a gated SongUNet,
 * 4 in / 4 out, at the tasks' 64×56 with 4 coils): images/s of one ambient k-space training
 * step (batch 8), the time of one A-DPS step on a batch of slices and so of one reconstruction
 * with the reference's 500 steps, and WebGPU's peak live memory of each. WebGPU only: the CPU
 * twin takes minutes per step at this size.
 *
 * @module
 */
import { type Model, mriAdps } from "../src/api.ts";
import type { Backend } from "../src/core/backend.ts";
import { Rng } from "../src/core/rng.ts";
import { keep, tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { columnMask, columnMasks, furtherCorruptColumns } from "../src/mri/masks.ts";
import { mriLossBatch, type MriTrainSlice } from "../src/mri/train_batch.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { MRI_DPS } from "../src/sampling/mri.ts";
import type { TrainState } from "../src/train/checkpoint.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { buildNetwork, disposeTrainState, initTrainState, trainStep } from "../src/train/train.ts";
import { MRI_TASK_SIZE, mriTask } from "../tasks/mri.ts";
import { timeNetworkCase } from "./network.ts";

/** The heading of the MRI section of BENCHMARKS.md. */
export const MRI_HEADING = "## MRI steps";

/** Coils of the simulated data (`deno task mri:simulate`'s default). */
const COILS = 4;
/** The training R of the benchmarked prior. */
const R = 4;

/** The network, optimiser state and fixed inputs of the MRI cases on one backend. */
class MriSteps implements Disposable {
  readonly config: TrainConfig;
  readonly #state: TrainState;
  readonly #slices: MriTrainSlice[];
  readonly #op: MultiCoilFourier;
  readonly #y: Tensor;
  readonly #model: Model;
  #step = 0;

  constructor(backend: Backend, readonly batch: number, readonly slices: number) {
    this.config = { ...mriTask(R), batch, lrRampupImages: 0 };
    const [h, w] = MRI_TASK_SIZE;
    const net = buildNetwork(this.config, [2, h, w]);
    this.#state = initTrainState(net, this.config, backend);
    const rng = new Rng(7);
    const per = COILS * 2 * h * w;
    const acs = this.config.data.kind === "mri" ? this.config.data.acs : 0;
    this.#slices = Array.from({ length: batch }, (_, slice) => {
      const mask = columnMask(w, { r: R, acs, seed: 0, slice });
      return {
        kspace: Float32Array.from(rng.normals(per, 0.1)),
        maps: Float32Array.from(rng.normals(per, 0.5)),
        mask,
        further: furtherCorruptColumns(mask, { r: R, acs, seed: 0, slice }),
      };
    });
    const maps = rng.normals(slices * per, 0.5);
    const inf = columnMasks(w, Array.from({ length: slices }, (_, i) => i), { r: 6, acs, seed: 1 });
    this.#op = new MultiCoilFourier(
      backend.fromArray(maps, [slices, COILS, 2, h, w]),
      backend.fromArray(inf, [slices, w]),
    );
    this.#y = keep(
      tidy(() =>
        this.#op.forward(backend.fromArray(rng.normals(slices * 2 * h * w), [slices, 2, h, w]))
      ),
    );
    this.#model = {
      net,
      params: this.#state.ema,
      config: this.config,
      shape: [2, h, w],
      backend,
    };
  }

  /** Scalar parameters of the network. */
  get parameterCount(): number {
    return this.#model.net.model.registry.count();
  }

  /** One case: a training step or one A-DPS step (one forward, one VJP, the updates). */
  run(key: "train" | "adps"): void {
    const step = ++this.#step;
    if (key === "train") {
      const [h, w] = MRI_TASK_SIZE;
      using batch = mriLossBatch(this.#slices, [COILS, h, w], true, this.#model.backend);
      trainStep(this.#model.net, this.#state, this.config, batch, step).dispose();
      return;
    }
    const acs = this.config.data.kind === "mri" ? this.config.data.acs : 0;
    tidy(() =>
      void mriAdps(this.#model, this.#op, this.#y, { seed: step, rTrain: R, acs, steps: 1 })
    );
  }

  [Symbol.dispose](): void {
    disposeTrainState(this.#state);
    this.#op.dispose();
    this.#y.dispose();
  }
}

const mib = (bytes: number | null) => (bytes === null ? "–" : (bytes / 2 ** 20).toFixed(1));

/**
 * Times the MRI cases on WebGPU and builds the section of BENCHMARKS.md.
 *
 * @param gpu the WebGPU backend
 * @param opts minimum timed ms, training batch, slices per A-DPS batch
 * @returns the section's lines, heading first
 * @example
 * ```ts ignore
 * const lines = await benchMri(gpu, { minMs: 1000, batch: 8, slices: 8 });
 * ```
 */
export async function benchMri(
  gpu: Backend,
  opts: { minMs: number; batch: number; slices: number },
): Promise<string[]> {
  using steps = new MriSteps(gpu, opts.batch, opts.slices);
  const timing = { warmup: 1, minReps: 2, minMs: opts.minMs, maxReps: 20 };
  const train = await timeNetworkCase(steps, gpu, "train", timing);
  console.log(`  MRI training step on ${gpu.name}: ${train.ms.toFixed(1)} ms × ${train.reps}`);
  const adps = await timeNetworkCase(steps, gpu, "adps", timing);
  console.log(`  MRI A-DPS step on ${gpu.name}: ${adps.ms.toFixed(1)} ms × ${adps.reps}`);
  const [h, w] = MRI_TASK_SIZE;
  const n = MRI_DPS.steps!;
  const recon = (adps.ms * n) / 1000;
  const net = steps.config.network;
  // The cores may be shared: the load says how much of them this run had.
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ")[0] || "?";
  return [
    MRI_HEADING,
    "",
    `Network: the \`train:mri-r${R}\` prior (tasks/mri.ts), EDMPrecond around a gated SongUNet ` +
    `${h}×${w}, 4 in / 4 out, model channels ${net.modelChannels}, mult [${net.channelMult}], ` +
    `${net.numBlocks} block(s): ${steps.parameterCount} parameters; ${COILS} coils. WebGPU ` +
    `(${gpu.name}) only: the CPU twin takes minutes per step at this size. Training step: the ` +
    `MRI ambient loss on y = M ⊙ k (R = ${R}, M̃ at R + 1), backward, clipping, Adam, EMA. ` +
    `A-DPS step: ÃᴴÃ x through the network, the residual over all coils at R_inf = 6, its ` +
    `gradient w.r.t. x, Euler and likelihood updates; a reconstruction is ${n} of them (the ` +
    `reference's), timed here as ${n} × the step. Peak MiB: the engine's highest live bytes ` +
    `during the timed steps, parameters and state included. Load average at the end of ` +
    `the run: ${load} on ${navigator.hardwareConcurrency} cores.`,
    "",
    "| case | batch | ms per step | rate | peak MiB |",
    "| --- | --- | --- | --- | --- |",
    `| training step | ${opts.batch} slices | ${train.ms.toFixed(1)} | ` +
    `${(opts.batch / (train.ms / 1000)).toFixed(2)} images/s | ${mib(train.peakBytes)} |`,
    `| A-DPS step | ${opts.slices} slices | ${adps.ms.toFixed(1)} | ` +
    `${(opts.slices / (adps.ms / 1000)).toFixed(2)} slice-steps/s | ${mib(adps.peakBytes)} |`,
    `| A-DPS reconstruction, ${n} steps | ${opts.slices} slices | – | ${recon.toFixed(1)} s ` +
    `per batch, ${(recon / opts.slices).toFixed(1)} s per slice | ${mib(adps.peakBytes)} |`,
    "",
  ];
}
