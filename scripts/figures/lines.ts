/**
 * Lines with error bars or error bands: one line per series against a quantitative x, each
 * point optionally with an interval [lo, hi] (say in `subtitle` what it is, e.g. ± 1 SE).
 *
 * @module
 */
import { seriesColour } from "./palette.ts";
import { type FigureSpec, VEGA_LITE_SCHEMA } from "./render.ts";

/** One point of one series. */
export interface LinePoint {
  /** Series (legend entry). */
  series: string;
  /** x value. */
  x: number;
  /** y value; non-finite values are left out. */
  y: number;
  /** Lower end of the interval drawn around y (both lo and hi, or neither). */
  lo?: number;
  /** Upper end of the interval. */
  hi?: number;
}

/** Options of {@link lineSpec}. */
export interface LineOptions {
  /** Title above the chart. */
  title: string;
  /** Caption under the title: what the intervals are, where the numbers come from. */
  subtitle?: string;
  /** x axis title. */
  xTitle: string;
  /** y axis title. */
  yTitle: string;
  /** Logarithmic x axis (x > 0). */
  logX?: boolean;
  /** Logarithmic y axis (y > 0). */
  logY?: boolean;
  /** Intervals as error bars at the points (default) or as a shaded band. */
  errors?: "bars" | "band";
  /** Markers at the points (default: true with bars, false with bands). */
  points?: boolean;
  /** Tick values of the x axis (e.g. exactly the measured m); default: the axis's own. */
  xTicks?: readonly number[];
  /** A horizontal reference line at this y (e.g. 0 for differences). */
  rule?: number;
  /** Series order of legend and colours (default: first appearance). */
  series?: readonly string[];
  /** Plot width in pixels (480). */
  width?: number;
  /** Plot height in pixels (300). */
  height?: number;
}

/**
 * A Vega-Lite spec of lines with error bars or bands; render it with `writeFigure`.
 *
 * @param data the points of every series
 * @param opts titles, scales and how intervals are drawn
 * @returns the spec, data inline
 * @example
 * ```ts
 * import { lineSpec } from "./lines.ts";
 * const spec = lineSpec([
 *   { series: "clean", x: 25, y: 15.4, lo: 15.0, hi: 15.8 },
 *   { series: "clean", x: 50, y: 17.8, lo: 17.3, hi: 18.3 },
 * ], { title: "PSNR vs m", subtitle: "bars: ± 1 SE", xTitle: "m", yTitle: "PSNR (dB)", logX: true });
 * ```
 */
export function lineSpec(data: readonly LinePoint[], opts: LineOptions): FigureSpec {
  const rows = data.filter((d) => Number.isFinite(d.x) && Number.isFinite(d.y));
  for (const d of rows) {
    if ((d.lo === undefined) !== (d.hi === undefined)) {
      throw new Error(`lineSpec: point (${d.series}, ${d.x}) has only one of lo and hi`);
    }
  }
  const order = opts.series ?? [...new Set(rows.map((d) => d.series))];
  const band = opts.errors === "band";
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: opts.xTitle,
    // The data's own range, padded, so the first and last points sit near the axis ends.
    scale: { type: opts.logX ? "log" as const : "linear" as const, nice: false, padding: 16 },
    ...(opts.xTicks ? { axis: { values: [...opts.xTicks] } } : {}),
  };
  const yScale = opts.logY ? { type: "log" as const } : { zero: false };
  const y = { field: "y", type: "quantitative" as const, title: opts.yTitle, scale: yScale };
  const color = {
    field: "series",
    type: "nominal" as const,
    title: null,
    scale: { domain: [...order], range: order.map((_, i) => seriesColour(i).hex) },
    legend: { orient: "bottom" as const, direction: "horizontal" as const, symbolOpacity: 1 },
  };
  const intervals = rows.filter((d) => d.lo !== undefined);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: opts.title, ...(opts.subtitle ? { subtitle: opts.subtitle } : {}) },
    width: opts.width ?? 480,
    height: opts.height ?? 300,
    data: { values: rows.map((d) => ({ ...d })) },
    layer: [
      ...(opts.rule !== undefined
        ? [{
          data: { values: [{ y: opts.rule }] },
          mark: { type: "rule" as const, color: "#888", strokeDash: [4, 3] },
          encoding: { y: { field: "y", type: "quantitative" as const } },
        }]
        : []),
      ...(intervals.length > 0
        ? [{
          transform: [{ filter: "isValid(datum.lo)" }],
          mark: band
            ? { type: "errorband" as const, opacity: 0.2 }
            : { type: "errorbar" as const, ticks: true },
          encoding: {
            x,
            y: { ...y, field: "lo" },
            y2: { field: "hi" },
            color,
          },
        }]
        : []),
      {
        mark: { type: "line", point: opts.points ?? !band, strokeWidth: band ? 1.5 : 2 },
        encoding: { x, y, color },
      },
    ],
  };
}
