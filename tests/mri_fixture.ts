/**
 * A small fastMRI-layout file for the MRI training tests: random coil maps and complex images,
 * their fully sampled k-space k = F S x.
 */
import { cpuBackend } from "../src/core/select_backend.ts";
import { writeFastMri } from "../src/data/fastmri.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";

/**
 * Writes `dims` = [slices, coils, H, W] of random k-space with its maps.
 *
 * @param path the .h5 file
 * @param dims [S, C, H, W]
 * @param seed seed of the maps and images
 * @param imageStd standard deviation of the images' Re and Im values
 */
export async function writeRandomSlices(
  path: string,
  dims: readonly [number, number, number, number],
  seed: number,
  imageStd = 1,
): Promise<void> {
  const [S, C, H, W] = dims;
  const b = cpuBackend("f64");
  const rng = new Rng(seed);
  const maps = rng.normals(S * C * 2 * H * W, 0.5);
  using op = new MultiCoilFourier(b.fromArray(maps, [S, C, 2, H, W]), b.full([1, W], 1));
  using k = tidy(() => op.forward(b.fromArray(rng.normals(S * 2 * H * W, imageStd), [S, 2, H, W])));
  await writeFastMri(path, {
    kspace: Float32Array.from(await k.toArray()),
    dims: [S, C, H, W],
    rss: new Float32Array(S * H * W),
    header: "<ismrmrdHeader/>",
    maps: Float32Array.from(maps),
  });
}
