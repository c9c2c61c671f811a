/**
 * What the study's image grids show as the measurement row: the adjoint Aᴴy, scaled so
 * that A applied to it best matches y (the grids themselves: scripts/figures/image_grid.ts).
 *
 * @module
 */
import type { Backend } from "../../src/core/backend.ts";
import { tidy } from "../../src/core/scope.ts";
import { type MethodSettings, REFERENCE_METHOD } from "./cells.ts";
import { buildOperator, measure, type Problem } from "./problems.ts";

/**
 * Aᴴy of the first `show` images, each scaled by c = ⟨A Aᴴy, y⟩ / ‖A Aᴴy‖² so that it is
 * on the images' scale for every operator (c = 1 for inpainting, f² for ×f pooling, about
 * m/d for Gaussian CS), batch by batch exactly as the cells measured them.
 *
 * @param backend where to compute
 * @param problem the problem
 * @param shape image shape [C, H, W]
 * @param images held-out images [count, C, H, W]
 * @param count number of images
 * @param batch images per batch
 * @param seed experiment seed
 * @param sigmaY measurement noise
 * @param show how many images to return
 * @param method noise convention and box placement, as the cells used them
 * @returns [show, C, H, W] values
 */
export async function measurementImages(
  backend: Backend,
  problem: Problem,
  shape: [number, number, number],
  images: Float32Array,
  count: number,
  batch: number,
  seed: number,
  sigmaY: number,
  show: number,
  method: MethodSettings = REFERENCE_METHOD,
): Promise<Float32Array> {
  const per = shape[0] * shape[1] * shape[2];
  const out = new Float32Array(show * per);
  for (let start = 0, b = 0; start < show; start += batch, b++) {
    const n = Math.min(batch, count - start);
    using op = buildOperator(backend, problem, shape, seed, b, n, method.boxPlacement);
    using x = backend.fromArray(images.subarray(start * per, (start + n) * per), [n, ...shape]);
    const [y, a, aa] = tidy(() => {
      const y = measure(op, problem, x, sigmaY, seed, b, method.noise);
      const a = op.adjoint(y);
      return [y, a, op.forward(a)];
    });
    const [yv, av, aav] = await backend.readMany([y, a, aa]);
    for (const t of [y, a, aa]) t.dispose();
    const perY = yv.length / n;
    for (let i = 0; i < n && start + i < show; i++) {
      let num = 0, den = 0;
      for (let k = i * perY; k < (i + 1) * perY; k++) {
        num += aav[k] * yv[k];
        den += aav[k] * aav[k];
      }
      const c = den > 0 ? num / den : 0;
      for (let k = 0; k < per; k++) out[(start + i) * per + k] = c * av[i * per + k];
    }
  }
  return out;
}
