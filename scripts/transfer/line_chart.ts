/**
 * A line chart as a raster: one polyline with square markers per series, axes with tick
 * labels at the data's x values (log or linear), "nice" y ticks, a title and a legend
 * in rows under the title.
 *
 * @module
 */
import type { RasterImage } from "../../src/io/png.ts";
import { Canvas, type Rgb, textWidth } from "./raster.ts";

/** One line of the chart. */
export interface Series {
  /** Legend entry. */
  label: string;
  /** Colour of the line and markers. */
  color: Rgb;
  /** Points, in any order (drawn sorted by x); non-finite y values are skipped. */
  points: readonly { x: number; y: number }[];
}

/** Options of `lineChart`. */
export interface LineChartOptions {
  /** Title above the plot. */
  title: string;
  /** Label under the x axis. */
  xLabel: string;
  /** Label of the y axis (written above it). */
  yLabel: string;
  /** Logarithmic x axis (the x values must be > 0). */
  logX?: boolean;
  /** Image width (720). */
  width?: number;
  /** Image height (440). */
  height?: number;
}

/** Distinct colours for up to eight series, then they repeat. */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [23, 190, 207],
];

/**
 * Round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k).
 *
 * @param lo lower end
 * @param hi upper end
 * @param target about how many ticks
 * @returns the ticks, ascending
 */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/**
 * A short label for a tick value (at most 4 significant digits, no trailing zeros).
 *
 * @param v the value
 * @returns the label
 */
export function tickLabel(v: number): string {
  return String(Number(v.toPrecision(4)));
}

/**
 * Draws the chart.
 *
 * @param series the lines
 * @param opts titles, axis scale, size
 * @returns an RGB raster for `encodePng`
 * @example
 * ```ts ignore
 * const img = lineChart([{ label: "clean", color: PALETTE[0], points: [{ x: 25, y: 18 }] }], {
 *   title: "PSNR vs m", xLabel: "m", yLabel: "PSNR (dB)", logX: true,
 * });
 * ```
 */
export function lineChart(series: readonly Series[], opts: LineChartOptions): RasterImage {
  const W = opts.width ?? 720, H = opts.height ?? 440;
  // The legend goes in rows between the title and the plot, so it never hides a point.
  const legend = legendLayout(series.map((s) => s.label), 70, W - 20);
  const left = 70, right = 20, bottom = 60;
  const top = 44 + legend.rows * 16 + 18;
  const cv = new Canvas(W, H);
  const black: Rgb = [0, 0, 0], grid: Rgb = [225, 225, 225], grey: Rgb = [90, 90, 90];
  const pts = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)));
  const fx = (x: number) => (opts.logX ? Math.log10(x) : x);
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  const ys = pts.map((p) => p.y);
  let [x0, x1] = xs.length ? [fx(xs[0]), fx(xs.at(-1)!)] : [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const margin = Math.max((y1 - y0) * 0.08, 0.5);
  [y0, y1] = [y0 - margin, y1 + margin];
  const plotW = W - left - right, plotH = H - top - bottom;
  const X = (x: number) => left + ((fx(x) - x0) / (x1 - x0)) * plotW * 0.92 + plotW * 0.04;
  const Y = (y: number) => top + plotH - ((y - y0) / (y1 - y0)) * plotH;

  for (const t of niceTicks(y0, y1)) {
    if (t < y0 || t > y1) continue;
    cv.line(left, Y(t), left + plotW, Y(t), grid);
    const label = tickLabel(t);
    cv.text(label, left - 8 - textWidth(label), Y(t) - 5, grey);
  }
  for (const x of xs) {
    cv.line(X(x), top, X(x), top + plotH, grid);
    const label = tickLabel(x);
    cv.text(label, X(x) - textWidth(label) / 2, top + plotH + 8, grey);
  }
  cv.line(left, top + plotH, left + plotW, top + plotH, black);
  cv.line(left, top, left, top + plotH, black);
  cv.text(opts.title, (W - textWidth(opts.title, 3)) / 2, 12, black, 3);
  cv.text(opts.xLabel, left + (plotW - textWidth(opts.xLabel)) / 2, H - 26, black);
  cv.text(opts.yLabel, 8, top - 16, black);

  for (const s of series) {
    const p = s.points.filter((q) => Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
    for (let i = 1; i < p.length; i++) {
      cv.line(X(p[i - 1].x), Y(p[i - 1].y), X(p[i].x), Y(p[i].y), s.color, 2);
    }
    for (const q of p) cv.fill(Math.round(X(q.x)) - 3, Math.round(Y(q.y)) - 3, 7, 7, s.color);
  }
  series.forEach((s, i) => {
    const { x, row } = legend.at[i];
    cv.fill(x, 40 + row * 16 + 1, 16, 8, s.color);
    cv.text(s.label, x + 22, 40 + row * 16, black);
  });
  return cv.toRaster();
}

/** Legend entries placed left to right from `x0`, wrapping before `x1`. */
function legendLayout(
  labels: readonly string[],
  x0: number,
  x1: number,
): { rows: number; at: { x: number; row: number }[] } {
  const at: { x: number; row: number }[] = [];
  let x = x0, row = 0;
  for (const label of labels) {
    const w = 22 + textWidth(label) + 24;
    if (x > x0 && x + w > x1) [x, row] = [x0, row + 1];
    at.push({ x, row });
    x += w;
  }
  return { rows: labels.length === 0 ? 0 : row + 1, at };
}
