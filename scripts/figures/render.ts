/**
 * Draws a Vega-Lite spec headless: compiled by vega-lite, rendered to SVG by vega (no canvas;
 * text widths are estimated), rasterised to PNG by sharp (librsvg, so the text is real text
 * in the system's sans-serif font). `writeFigure` writes `name.vl.json`, `name.svg` and
 * `name.png` side by side, so a reader can restyle a figure from its spec without rerunning
 * anything (the spec carries its data inline).
 *
 * @module
 */
import sharp from "sharp";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../../src/io/atomic.ts";

/**
 * A Vega-Lite spec as JSON, data inline (https://vega.github.io/vega-lite/docs/spec.html);
 * the builders here return one for the caller to adjust before rendering.
 */
export type FigureSpec = { [key: string]: unknown };

/** The schema every spec here names, so editors and the online Vega editor validate it. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** A figure rendered both ways. */
export interface RenderedFigure {
  /** The SVG document. */
  svg: string;
  /** The PNG bytes, `scale` pixels per SVG unit. */
  png: Uint8Array;
  /** SVG width in CSS pixels (the PNG is `scale` times wider). */
  width: number;
  /** SVG height in CSS pixels. */
  height: number;
}

/**
 * Renders a Vega-Lite spec to SVG and PNG.
 *
 * @param spec a Vega-Lite spec with inline data
 * @param scale PNG pixels per SVG pixel (2: sharp on a high-density screen or in print)
 * @returns the SVG, the PNG and the SVG's size
 * @example
 * ```ts ignore
 * const fig = await renderFigure(lineSpec([{ series: "a", x: 1, y: 2 }], {
 *   title: "t", xTitle: "x", yTitle: "y",
 * }));
 * ```
 */
export async function renderFigure(spec: FigureSpec, scale = 2): Promise<RenderedFigure> {
  if (!(scale > 0)) throw new Error(`renderFigure: scale must be > 0, got ${scale}`);
  // Vega tags the data rows it is given; a copy keeps the caller's spec clean.
  const compiled = compile(structuredClone(spec) as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    const size = svg.match(/^<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/);
    if (!size) throw new Error("renderFigure: vega's SVG has no width/height");
    // librsvg reads SVG pixels at 72 dpi, so density 72·scale gives `scale` PNG pixels each.
    const png = await sharp(new TextEncoder().encode(svg), { density: 72 * scale }).png()
      .toBuffer();
    return { svg, png: new Uint8Array(png), width: Number(size[1]), height: Number(size[2]) };
  } finally {
    view.finalize();
  }
}

/**
 * Writes `base.vl.json`, `base.svg` and `base.png` (atomically).
 *
 * @param base output path without extension, e.g. `docs/x/psnr-vs-m`
 * @param spec the Vega-Lite spec (with inline data)
 * @param scale PNG pixels per SVG pixel
 * @returns the three paths written
 * @example
 * ```ts ignore
 * await writeFigure("out/loss", lineSpec(points, { title: "loss", xTitle: "images", yTitle: "loss" }));
 * ```
 */
export async function writeFigure(
  base: string,
  spec: FigureSpec,
  scale = 2,
): Promise<string[]> {
  const fig = await renderFigure(spec, scale);
  const enc = new TextEncoder();
  const paths = [`${base}.vl.json`, `${base}.svg`, `${base}.png`];
  await writeFileAtomic(paths[0], enc.encode(JSON.stringify(spec, null, 2) + "\n"));
  await writeFileAtomic(paths[1], enc.encode(fig.svg));
  await writeFileAtomic(paths[2], fig.png);
  return paths;
}
