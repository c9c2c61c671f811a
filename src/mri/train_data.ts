/**
 * k-space slices as the training loop's data (Aali et al. 2024, §4; docs/method.md §4): an
 * open fastMRI-layout file read a batch at a time (no copy of the data set is held), each
 * slice under its fixed training mask M (and M̃), and sample grids of the prior's magnitude
 * images, an ambient prior seeing ÃᴴÃ x through training slices' maps and a fixed M̃.
 *
 * @module
 */
import { mriAmbientDenoiser } from "../sampling/mri.ts";
import type { Backend } from "../core/backend.ts";
import { UsageError } from "../core/usage_error.ts";
import type { MriDataSpec } from "../data/dataset.ts";
import { FastMriFile } from "../data/fastmri.ts";
import { writePngGrid } from "../io/png.ts";
import type { Params } from "../nn/module.ts";
import type { EDMPrecond } from "../nn/precond.ts";
import { MultiCoilFourier } from "../operators/multi_coil_fourier.ts";
import { edmSample } from "../sampling/edm_sampler.ts";
import { PRIOR_MASK_SEED } from "../ambient/prior_grid.ts";
import type { TrainConfig } from "../train/config.ts";
import type { StreamedDataset } from "../train/train.ts";
import { columnMasks } from "./masks.ts";
import { mriLossBatch, readMriSlices } from "./train_batch.ts";

/**
 * The training file of a data spec: `dir` itself if it is an .h5 file, else `dir/train.h5`.
 *
 * @param spec the MRI data
 * @returns the path
 */
export function mriTrainFile(spec: MriDataSpec): string {
  return spec.dir.endsWith(".h5") ? spec.dir : `${spec.dir}/train.h5`;
}

/**
 * Opens a config's k-space slices for `train()`: checks the file against the config's size,
 * then streams batches (`mriLossBatch`, masks seeded by `corruptionSeed`) and writes sample
 * grids.
 *
 * @param config an experiment with `data.kind === "mri"`
 * @returns the data; dispose it to close the file
 * @example
 * ```ts ignore
 * using data = await openMriTrainData(config);
 * await train(config, data, { out: "runs/mri-r4", backend });
 * ```
 */
export async function openMriTrainData(
  config: TrainConfig,
): Promise<StreamedDataset & Disposable> {
  const spec = config.data;
  if (spec.kind !== "mri") throw new Error(`openMriTrainData: data kind is ${spec.kind}`);
  const path = mriTrainFile(spec);
  const file = await FastMriFile.open(path);
  const { slices, coils, height, width } = file.info;
  const [h, w] = spec.size;
  const fail = (why: string) => {
    file.close();
    throw new UsageError(`${path}: ${why}`);
  };
  if (height !== h || width !== w) {
    fail(
      `slices are ${height}×${width}, the run trains ${h}×${w}: simulate that size ` +
        `(deno task mri:simulate --out out/mri-sim-${h}x${w} --size ${h}x${w}) or pass such data`,
    );
  }
  if (!file.info.has.maps) fail("no coil maps (maps [slices, C, H, W, 2]): estimate them first");
  const count = Math.min(slices, spec.limit ?? Infinity);
  const dims = [coils, h, w] as const;
  const masking = { r: spec.r, acs: spec.acs, seed: config.corruptionSeed };
  return {
    description: `${count} k-space slices (${coils} coils, ${h}×${w}) of ${path}, R = ${spec.r}` +
      (spec.r > 1 ? `, ACS ${spec.acs}` : " (fully sampled)"),
    count,
    shape: [2, h, w],
    lossBatch: (indices, backend) =>
      mriLossBatch(readMriSlices(file, indices, masking), dims, config.ambient, backend),
    writeGrid(path, net, ema, c, backend) {
      const n = c.sampleCount;
      const idx = Array.from({ length: n }, (_, i) => i % count);
      const maps = new Float32Array(n * coils * 2 * h * w);
      idx.forEach((s, i) => maps.set(file.maps(s), i * maps.length / n));
      return writeMriPriorGrid(path, net, ema, c, maps, backend);
    },
    [Symbol.dispose]: () => file.close(),
  };
}

/**
 * Prior samples of an MRI model as a PNG grid of magnitude images (EDM Heun, `sampleSteps`):
 * an ambient model sees [ÃᴴÃ x, M̃, ones] with each sample's maps and a fixed M̃ of the
 * training kind (R, ACS; seed PRIOR_MASK_SEED); the fully sampled model sees x. Magnitudes are
 * shown on one scale: [0, their 99th percentile] → black..white.
 *
 * @param path output PNG
 * @param net the network
 * @param ema its EMA weights
 * @param config the run (an MRI data spec; sample count, steps, seed)
 * @param maps coil maps of the samples [n, C, 2, H, W]
 * @param backend where to compute
 */
export async function writeMriPriorGrid(
  path: string,
  net: EDMPrecond,
  ema: Params,
  config: TrainConfig,
  maps: Float32Array,
  backend: Backend,
): Promise<void> {
  const spec = config.data;
  if (spec.kind !== "mri") throw new Error(`writeMriPriorGrid: data kind is ${spec.kind}`);
  const n = config.sampleCount;
  const [h, w] = spec.size;
  const ctx = { training: false, seed: 0, stream: 0 };
  const network = (u: Parameters<typeof net.forward>[1], sigma: number) =>
    net.forward(ema, u, backend.full([u.shape[0]], sigma), ctx);
  const slices = Array.from({ length: n }, (_, i) => i);
  using tilde = config.ambient
    ? new MultiCoilFourier(
      backend.fromArray(maps, [n, maps.length / (n * 2 * h * w), 2, h, w]),
      backend.fromArray(
        columnMasks(w, slices, { r: spec.r, acs: spec.acs, seed: PRIOR_MASK_SEED, further: true }),
        [n, w],
      ),
    )
    : null;
  const denoise = tilde ? mriAmbientDenoiser(network, tilde) : network;
  const { x } = edmSample(denoise, backend, [n, 2, h, w], {
    sigmaMin: config.sampleSigmaMin,
    steps: config.sampleSteps,
    seed: config.seed,
  });
  const planes = await x.toArray();
  x.dispose();
  const magnitude = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < h * w; p++) {
      const [re, im] = [planes[(2 * i) * h * w + p], planes[(2 * i + 1) * h * w + p]];
      magnitude[i * h * w + p] = Math.hypot(re, im);
    }
  }
  const top = [...magnitude].sort((a, b) => a - b)[Math.floor(0.99 * (magnitude.length - 1))];
  const shown = magnitude.map((m) => (2 * m) / Math.max(top, 1e-12) - 1);
  await writePngGrid(path, shown, [n, 1, h, w], { cols: Math.ceil(Math.sqrt(n)) });
}
