/**
 * Simulated multi-coil k-space from a real-valued anatomical slice (docs/mri-physics/):
 * x = |image|·e^{iφ} with a smooth phase φ, y = F S x + n with complex Gaussian noise n at a
 * stated SNR, then the paper's per-slice normalisation (Aali et al. 2024, §4). Everything
 * made from it must be labelled "simulated k-space".
 *
 * @module
 */
import { cpuBackend } from "../core/select_backend.ts";
import { cpuData } from "../cpu/backend.ts";
import { MultiCoilFourier } from "../operators/multi_coil_fourier.ts";
import { Rng } from "../core/rng.ts";
import { tidy } from "../core/scope.ts";
import { acsScale, coilImages, rootSumOfSquares } from "./normalise.ts";
import { smoothPhase } from "./phantom.ts";

/** Inputs of {@link simulateSlice}. */
export interface SimulateSliceOptions {
  /** Magnitude image, row-major [H, W]. */
  image: Float32Array;
  /** Coil maps, planar complex [C, 2, H, W], Σ_c |S_c|² = 1. */
  maps: Float32Array;
  /** [C, H, W]. */
  dims: [number, number, number];
  /** k-space SNR in dB: 20·log10(‖F S x‖ / E‖n‖). */
  snrDb: number;
  /** Seed of the phase and the noise. */
  seed: number;
}

/** One simulated slice, normalised by its ACS scale. */
export interface SimulatedSlice {
  /** Noisy k-space, planar complex [C, 2, H, W]. */
  kspace: Float32Array;
  /** The complex image x, planar [2, H, W], on the same scale as the k-space. */
  groundTruth: Float32Array;
  /** RSS of the noisy fully sampled coil images, [H, W]. */
  rss: Float32Array;
  /** The scale s the slice was divided by (99th percentile of the central 24×24 RSS). */
  scale: number;
  /** Noise standard deviation per real component, after scaling. */
  sigma: number;
}

/**
 * Simulates the k-space of one slice.
 *
 * @param o image, maps, sizes, SNR and seed
 * @returns normalised k-space, ground truth and RSS
 * @example
 * ```ts
 * import { birdcageMaps } from "./phantom.ts";
 * import { simulateSlice } from "./simulate.ts";
 * const [c, h, w] = [4, 32, 28];
 * const image = new Float32Array(h * w).fill(1);
 * const maps = birdcageMaps({ coils: c, height: h, width: w });
 * const s = simulateSlice({ image, maps, dims: [c, h, w], snrDb: 30, seed: 1 });
 * ```
 */
export function simulateSlice(o: SimulateSliceOptions): SimulatedSlice {
  const [c, h, w] = o.dims;
  const hw = h * w;
  if (o.image.length !== hw || o.maps.length !== c * 2 * hw) {
    throw new Error(`simulateSlice: image or maps do not match [C, H, W] = [${o.dims}]`);
  }
  const phase = smoothPhase(h, w, o.seed);
  let peak = 0;
  for (const v of o.image) peak = Math.max(peak, Math.abs(v));
  const x = new Float32Array(2 * hw);
  for (let p = 0; p < hw; p++) {
    x[p] = (o.image[p] / (peak || 1)) * Math.cos(phase[p]);
    x[hw + p] = (o.image[p] / (peak || 1)) * Math.sin(phase[p]);
  }
  const b = cpuBackend("f32");
  using op = new MultiCoilFourier(b.fromArray(o.maps, [1, c, 2, h, w]), b.full([1, w], 1));
  const y = tidy(() => op.forward(b.fromArray(x, [1, 2, h, w])));
  const k = Float32Array.from(cpuData(y));
  y.dispose();
  let energy = 0;
  for (const v of k) energy += v * v;
  const sigma = Math.sqrt(energy / k.length) / 10 ** (o.snrDb / 20);
  const rng = new Rng(o.seed ^ 0x5bd1e995);
  for (let i = 0; i < k.length; i++) k[i] += sigma * rng.normal();
  const scale = acsScale(k, o.dims);
  for (let i = 0; i < k.length; i++) k[i] /= scale;
  for (let i = 0; i < x.length; i++) x[i] /= scale;
  return {
    kspace: k,
    groundTruth: x,
    rss: rootSumOfSquares(coilImages(k, o.dims), c),
    scale,
    sigma: sigma / scale,
  };
}
