/**
 * A labelled image grid as a PNG: rows of images in [−1, 1] (the core's `imageGrid`),
 * enlarged without smoothing, with row labels on the left and optional column labels above,
 * drawn as SVG text and composited by sharp, so the labels are real text, not a bitmap font.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { imageGrid } from "../../src/io/png.ts";
import { writeFileAtomic } from "../../src/io/atomic.ts";

/** One labelled row of the grid. */
export interface GridRow {
  /** Row label (left of the row). */
  label: string;
  /** [cols, C, H, W] values in [−1, 1]; NaN shows black (e.g. a missing reconstruction). */
  images: Float32Array;
}

/** Options of {@link labelledGridPng}. */
export interface LabelledGridOptions {
  /** Pixel magnification of the images (2). */
  scale?: number;
  /** Labels above the columns (one per column). */
  columns?: readonly string[];
  /** Font size of the labels in PNG pixels (14). */
  fontSize?: number;
}

const PAD = 2;

/** The characters SVG text needs escaped. */
function xmlEscape(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

/**
 * Draws the grid.
 *
 * @param rows labelled rows, each with the same number of images
 * @param shape image shape [C, H, W] (C = 1 or 3)
 * @param opts magnification, column labels, font size
 * @returns the PNG bytes
 * @example
 * ```ts ignore
 * const png = await labelledGridPng([{ label: "truth", images }], [1, 32, 32], { scale: 2 });
 * ```
 */
export async function labelledGridPng(
  rows: readonly GridRow[],
  shape: readonly number[],
  opts: LabelledGridOptions = {},
): Promise<Uint8Array> {
  const [c, h, w] = shape;
  const per = c * h * w;
  if (rows.length === 0) throw new Error("labelledGridPng: no rows");
  const cols = rows[0].images.length / per;
  if (!Number.isInteger(cols) || cols < 1 || rows.some((r) => r.images.length !== cols * per)) {
    throw new Error(`labelledGridPng: every row needs the same whole number of [${shape}] images`);
  }
  if (opts.columns && opts.columns.length !== cols) {
    throw new Error(`labelledGridPng: ${opts.columns.length} column labels for ${cols} columns`);
  }
  const scale = opts.scale ?? 2, font = opts.fontSize ?? 14;
  const all = new Float32Array(rows.length * cols * per);
  rows.forEach((r, i) => all.set(r.images, i * cols * per));
  const grid = imageGrid(all, [rows.length * cols, c, h, w], { cols, pad: PAD });
  const [gw, gh] = [grid.width * scale, grid.height * scale];
  // Label width from an estimate of 0.6 em per character (sans-serif); real text, no metrics.
  const left = Math.ceil(12 + 0.6 * font * Math.max(...rows.map((r) => r.label.length)));
  const top = opts.columns ? Math.ceil(font * 1.6) : 0;
  const cell = (n: number, size: number) => (PAD + n * (size + PAD) + size / 2) * scale;
  const text = [
    ...rows.map((r, i) =>
      `<text x="${left - 8}" y="${top + cell(i, h)}" text-anchor="end" ` +
      `dominant-baseline="central">${xmlEscape(r.label)}</text>`
    ),
    ...(opts.columns ?? []).map((label, j) =>
      `<text x="${left + cell(j, w)}" y="${top - font * 0.5}" text-anchor="middle">` +
      `${xmlEscape(label)}</text>`
    ),
  ];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${left + gw}" height="${top + gh}">` +
    `<g font-family="sans-serif" font-size="${font}" fill="black">${text.join("")}</g></svg>`;
  const images = await sharp(grid.pixels, {
    raw: { width: grid.width, height: grid.height, channels: grid.channels },
  }).resize(gw, gh, { kernel: "nearest" }).png().toBuffer();
  const png = await sharp({
    create: { width: left + gw, height: top + gh, channels: 3, background: "white" },
  }).composite([
    { input: images, left, top },
    { input: Buffer.from(svg), left: 0, top: 0 },
  ]).png().toBuffer();
  return new Uint8Array(png);
}

/**
 * Writes {@link labelledGridPng}'s PNG atomically.
 *
 * @param path output PNG
 * @param rows labelled rows of equal length
 * @param shape image shape [C, H, W]
 * @param opts magnification, column labels, font size
 */
export async function writeLabelledGrid(
  path: string,
  rows: readonly GridRow[],
  shape: readonly number[],
  opts: LabelledGridOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await labelledGridPng(rows, shape, opts));
}
