/**
 * Grouped horizontal bars: one row per category (e.g. a benchmark case), one bar per group
 * within it (e.g. which engine), the value printed at the bar's end; optional error bars and a
 * reference line (1 for ratios).
 *
 * @module
 */
import { seriesColour } from "./palette.ts";
import { type FigureSpec, VEGA_LITE_SCHEMA } from "./render.ts";

/** One bar. */
export interface BarDatum {
  /** Row (axis label). */
  category: string;
  /** Bar within the row (legend entry). */
  group: string;
  /** Length of the bar; non-finite values are left out. */
  value: number;
  /** Lower end of an error bar (both lo and hi, or neither). */
  lo?: number;
  /** Upper end of the error bar. */
  hi?: number;
}

/** Options of {@link barSpec}. */
export interface BarOptions {
  /** Title above the chart. */
  title: string;
  /** Caption under the title. */
  subtitle?: string;
  /** Title of the value axis. */
  valueTitle: string;
  /** Title of the category axis (none by default). */
  categoryTitle?: string;
  /** Logarithmic value axis (for ratios; values > 0). */
  logValue?: boolean;
  /** A reference line at this value (e.g. 1: as fast as the peer). */
  rule?: number;
  /** Where bars start (default: `rule`, else 0; a log axis needs one > 0). */
  baseline?: number;
  /** d3 format of the printed values (".2f"); null prints none. */
  format?: string | null;
  /** Suffix of the printed values (e.g. "×"). */
  suffix?: string;
  /** Plot width in pixels (420). */
  width?: number;
  /** Pixels per bar (12). */
  barHeight?: number;
}

/**
 * A Vega-Lite spec of grouped horizontal bars; render it with `writeFigure`.
 *
 * @param data the bars, categories and groups in the order they should appear
 * @param opts titles, scale and reference line
 * @returns the spec, data inline
 * @example
 * ```ts
 * import { barSpec } from "./bars.ts";
 * const spec = barSpec([
 *   { category: "matmul 1024³", group: "PyTorch/WebGPU", value: 0.15 },
 *   { category: "matmul 1024³", group: "PyTorch/CPU twin", value: 0.01 },
 * ], { title: "Speed against PyTorch", valueTitle: "PyTorch ms / our ms", logValue: true, rule: 1 });
 * ```
 */
export function barSpec(data: readonly BarDatum[], opts: BarOptions): FigureSpec {
  const rows = data.filter((d) => Number.isFinite(d.value));
  if (opts.logValue && rows.some((d) => d.value <= 0)) {
    throw new Error("barSpec: a log axis needs values > 0; drop the zeros or use a linear axis");
  }
  const base = opts.baseline ?? opts.rule ?? (opts.logValue ? NaN : 0);
  if (!Number.isFinite(base) || (opts.logValue && base <= 0)) {
    throw new Error("barSpec: a log axis needs a baseline (or rule) > 0 for the bars to start at");
  }
  const format = opts.format === undefined ? ".2f" : opts.format;
  const categories = [...new Set(rows.map((d) => d.category))];
  const groups = [...new Set(rows.map((d) => d.group))];
  const value = {
    field: "value",
    type: "quantitative" as const,
    title: opts.valueTitle,
    // Padding keeps the printed values of the shortest bars inside the plot.
    scale: opts.logValue ? { type: "log" as const, padding: 40 } : { padding: 40 },
  };
  const category = {
    field: "category",
    type: "nominal" as const,
    title: opts.categoryTitle ?? null,
    sort: categories,
    axis: { labelLimit: 400 },
  };
  const yOffset = { field: "group", type: "nominal" as const, sort: groups };
  const color = {
    field: "group",
    type: "nominal" as const,
    title: null,
    scale: { domain: groups, range: groups.map((_, i) => seriesColour(i).hex) },
    legend: { orient: "bottom" as const, direction: "horizontal" as const },
  };
  // Values below the baseline end on the left of it, so their labels go on the left.
  const labels = (side: "left" | "right") => ({
    transform: [
      { filter: `datum.value ${side === "right" ? ">=" : "<"} ${base}` },
      { calculate: `format(datum.value, '${format}') + '${opts.suffix ?? ""}'`, as: "label" },
    ],
    mark: {
      type: "text" as const,
      align: side === "right" ? "left" as const : "right" as const,
      dx: side === "right" ? 3 : -3,
      fontSize: 9,
    },
    encoding: {
      y: category,
      yOffset,
      x: value,
      text: { field: "label", type: "nominal" as const },
    },
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: opts.title, ...(opts.subtitle ? { subtitle: opts.subtitle } : {}) },
    width: opts.width ?? 420,
    height: { step: opts.barHeight ?? 12 },
    data: { values: rows.map((d) => ({ ...d })) },
    layer: [
      { mark: "bar", encoding: { y: category, yOffset, x: value, x2: { datum: base }, color } },
      ...(rows.some((d) => d.lo !== undefined)
        ? [{
          transform: [{ filter: "isValid(datum.lo)" }],
          mark: { type: "errorbar" as const, ticks: true },
          encoding: { y: category, yOffset, x: { ...value, field: "lo" }, x2: { field: "hi" } },
        }]
        : []),
      ...(format !== null ? [labels("right"), labels("left")] : []),
      ...(opts.rule !== undefined
        ? [{
          data: { values: [{ value: opts.rule }] },
          mark: { type: "rule" as const, color: "#444", strokeDash: [4, 3] },
          encoding: { x: { field: "value", type: "quantitative" as const } },
        }]
        : []),
    ],
  };
}
