/**
 * Figures for the scripts (not part of the published core, which needs no vega): Vega-Lite
 * specs for lines with error bars or bands, grouped bars and heat maps, rendered headless to
 * `name.svg`, `name.png` and `name.vl.json` (`writeFigure`), and labelled image grids with
 * real-text labels (`writeLabelledGrid`).
 *
 * @example
 * ```ts ignore
 * import { lineSpec, writeFigure } from "./scripts/figures/mod.ts";
 * await writeFigure("out/psnr-vs-m", lineSpec(points, {
 *   title: "PSNR vs m", subtitle: "bars: ± 1 SE over 16 images",
 *   xTitle: "measurements m", yTitle: "PSNR (dB)", logX: true,
 * }));
 * ```
 *
 * @module
 */
export { type BarDatum, type BarOptions, barSpec } from "./bars.ts";
export { type HeatCell, type HeatMapOptions, heatMapSpec } from "./heatmap.ts";
export {
  type GridRow,
  type LabelledGridOptions,
  labelledGridPng,
  writeLabelledGrid,
} from "./image_grid.ts";
export { type LineOptions, type LinePoint, lineSpec } from "./lines.ts";
export { PALETTE, type PaletteColour, seriesColour } from "./palette.ts";
export {
  type FigureSpec,
  type RenderedFigure,
  renderFigure,
  VEGA_LITE_SCHEMA,
  writeFigure,
} from "./render.ts";
