/**
 * Multi-coil k-space slices as a training batch (Aali et al. 2024, §4; docs/method.md §4):
 * each slice streamed from a fastMRI-layout file with its maps, its training mask M at
 * acceleration R and its further corruption M̃, both fixed per slice. Ambient priors train on
 * y = M ⊙ k only; the fully sampled baseline (R = 1, a clean model) on the coil-combined
 * images Sᴴ F⁻¹ k with EDM's loss.
 *
 * @module
 */
import { edmLoss, mriAmbientLoss } from "../ambient/loss.ts";
import type { Backend } from "../core/backend.ts";
import type { FastMriFile } from "../data/fastmri.ts";
import { mul } from "../ops/elementwise.ts";
import { MultiCoilFourier } from "../operators/multi_coil_fourier.ts";
import type { LossBatch } from "../train/train.ts";
import { columnMask, furtherCorruptColumns } from "./masks.ts";

/** One training slice as read from disk. */
export interface MriTrainSlice {
  /** Fully sampled k-space [C, 2, H, W] (only M ⊙ k reaches an ambient loss). */
  kspace: Float32Array;
  /** Coil maps [C, 2, H, W]. */
  maps: Float32Array;
  /** The training mask M (W columns). */
  mask: Uint8Array;
  /** M̃ ⊆ M (W columns). */
  further: Uint8Array;
}

/** How slices are masked: acceleration R (1: fully sampled), the ACS width and the mask seed. */
export interface MriMasking {
  /** Training acceleration R ≥ 1. */
  r: number;
  /** Central ACS columns (default the paper's 20; narrower images keep the fraction 20/320). */
  acs?: number;
  /** Seed of the per-slice masks. */
  seed: number;
}

/**
 * Reads the given slices of an open file with their fixed masks; nothing else is held, so a
 * training loop streams the data set a batch at a time.
 *
 * @param file an open fastMRI-layout file with `maps`
 * @param indices slice indices (each slice's masks follow its index)
 * @param masking R and the mask seed
 * @returns the slices, in order
 * @example
 * ```ts ignore
 * using f = await FastMriFile.open("out/mri-sim/train.h5");
 * const slices = readMriSlices(f, [3, 17], { r: 4, seed: 0 });
 * ```
 */
export function readMriSlices(
  file: FastMriFile,
  indices: readonly number[],
  masking: MriMasking,
): MriTrainSlice[] {
  if (!file.info.has.maps) {
    throw new Error("readMriSlices: the file has no coil maps; estimate them first (bart ecalib)");
  }
  const w = file.info.width;
  return indices.map((slice) => {
    const opts = { r: masking.r, acs: masking.acs, seed: masking.seed, slice };
    const mask = masking.r === 1 ? new Uint8Array(w).fill(1) : columnMask(w, opts);
    const further = masking.r === 1 ? mask : furtherCorruptColumns(mask, opts);
    return { kspace: file.kspace(slice), maps: file.maps(slice), mask, further };
  });
}

/**
 * Slices as a `trainStep` batch: per round, the slices' operator A = M F S and the MRI
 * ambient loss on y = M ⊙ k, or (clean) EDM's loss on the images Aᴴ k, A fully sampled.
 * The rounds' operators live until the batch is disposed (the backward pass needs the maps).
 *
 * @param slices the step's slices
 * @param dims [C, H, W] of every slice
 * @param ambient ambient loss (true) or the fully sampled baseline's EDM loss
 * @param backend where to compute
 * @returns the batch; dispose it after the step
 * @example
 * ```ts ignore
 * using batch = mriLossBatch(readMriSlices(file, indices, { r: 4, seed: 0 }), [4, 128, 112], true, backend);
 * using terms = trainStep(net, state, config, batch, step);
 * ```
 */
export function mriLossBatch(
  slices: readonly MriTrainSlice[],
  dims: readonly [number, number, number],
  ambient: boolean,
  backend: Backend,
): LossBatch & Disposable {
  const [c, h, w] = dims;
  for (const s of slices) {
    if (
      s.kspace.length !== c * 2 * h * w || s.maps.length !== s.kspace.length || s.mask.length !== w
    ) {
      throw new Error(`mriLossBatch: a slice does not fit [C, H, W] = [${dims}]`);
    }
  }
  const ops: MultiCoilFourier[] = [];
  return {
    count: slices.length,
    loss(net, params, first, m, seed, ctx) {
      const part = slices.slice(first, first + m);
      const join = (f: (s: MriTrainSlice) => ArrayLike<number>) => {
        const out = new Float32Array(m * f(part[0]).length);
        part.forEach((s, i) => out.set(f(s), i * f(s).length));
        return out;
      };
      const op = new MultiCoilFourier(
        backend.fromArray(join((s) => s.maps), [m, c, 2, h, w]),
        backend.fromArray(join((s) => (ambient ? s.mask : s.mask.map(() => 1))), [m, w]),
      );
      ops.push(op);
      const k = backend.fromArray(join((s) => s.kspace), [m, c, 2, h, w]);
      if (!ambient) return edmLoss(net, params, op.adjoint(k), seed, ctx);
      const further = backend.fromArray(join((s) => s.further), [m, w]);
      return mriAmbientLoss(net, params, mul(k, op.mask), op, further, seed, ctx);
    },
    [Symbol.dispose]() {
      for (const op of ops.splice(0)) op.dispose();
    },
  };
}
