/**
 * Image grids of the study, one per problem: a row of ground-truth images, a row of what
 * was measured (the adjoint Aᴴy, scaled so that A applied to it best matches y), and one row
 * per model's reconstruction; each row labelled on the left.
 *
 * @module
 */
import type { Backend } from "../../src/backend.ts";
import { encodePng, imageGrid } from "../../src/io/png.ts";
import { writeFileAtomic } from "../../src/io/safetensors.ts";
import { tidy } from "../../src/scope.ts";
import { type MethodSettings, REFERENCE_METHOD } from "./cells.ts";
import { buildOperator, measure, type Problem } from "./problems.ts";
import { Canvas, textWidth } from "./raster.ts";

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

/**
 * Writes a labelled grid: row r holds rows[r].images ([cols, C, H, W] in [−1, 1]; NaN
 * shows black where a reconstruction is missing), labelled rows[r].label.
 *
 * @param path output PNG
 * @param rows labelled rows of equal length
 * @param shape image shape [C, H, W]
 * @param scale pixel magnification (small images are hard to see)
 */
export async function writeLabelledGrid(
  path: string,
  rows: readonly { label: string; images: Float32Array }[],
  shape: readonly number[],
  scale = 2,
): Promise<void> {
  const [c, h, w] = shape;
  const cols = rows[0].images.length / (c * h * w);
  const all = new Float32Array(rows.length * cols * c * h * w);
  rows.forEach((r, i) => all.set(r.images, i * r.images.length));
  const grid = imageGrid(all, [rows.length * cols, c, h, w], { cols });
  const big = magnify(grid, scale);
  const labelW = 12 + Math.max(...rows.map((r) => textWidth(r.label)));
  const cv = new Canvas(labelW + big.width, big.height);
  cv.blit(big, labelW, 0);
  const rowH = (h + 2) * scale;
  rows.forEach((r, i) =>
    cv.text(r.label, 6, 2 * scale + i * rowH + (h * scale) / 2 - 5, [0, 0, 0])
  );
  await writeFileAtomic(path, await encodePng(cv.toRaster()));
}

/** Nearest-neighbour enlargement by an integer factor. */
function magnify(
  img: ReturnType<typeof imageGrid>,
  s: number,
): ReturnType<typeof imageGrid> {
  const { width, height, channels } = img;
  const pixels = new Uint8Array(width * s * height * s * channels);
  for (let y = 0; y < height * s; y++) {
    for (let x = 0; x < width * s; x++) {
      const from = ((Math.floor(y / s) * width) + Math.floor(x / s)) * channels;
      pixels.set(img.pixels.subarray(from, from + channels), (y * width * s + x) * channels);
    }
  }
  return { width: width * s, height: height * s, channels, pixels };
}
