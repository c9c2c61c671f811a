/**
 * A heat map of a grid of cells (e.g. PSNR over R_train × R_inf, or ambient − clean over
 * problem × prior): one coloured rectangle per cell with its number (or a given label) printed
 * in it, in black or white, whichever reads on the cell's colour.
 *
 * @module
 */
import { type FigureSpec, VEGA_LITE_SCHEMA } from "./render.ts";

/** One cell of the grid. */
export interface HeatCell {
  /** Column (category or number, shown as a category). */
  x: string | number;
  /** Row. */
  y: string | number;
  /** The coloured value; non-finite cells are left blank. */
  value: number;
  /** Text printed in the cell (default: the value, `format`ted). */
  label?: string;
}

/** Options of {@link heatMapSpec}. */
export interface HeatMapOptions {
  /** Title above the chart. */
  title: string;
  /** Caption under the title. */
  subtitle?: string;
  /** x axis title. */
  xTitle: string;
  /** y axis title. */
  yTitle: string;
  /** Legend title of the colour. */
  valueTitle: string;
  /**
   * A diverging scale centred here (e.g. 0 for differences: red below, blue above);
   * default: a sequential scale (viridis).
   */
  center?: number;
  /** d3 format of the default labels (".2f"). */
  format?: string;
  /** Column order (default: first appearance). */
  xOrder?: readonly (string | number)[];
  /** Row order (default: first appearance). */
  yOrder?: readonly (string | number)[];
  /** Pixels per column (64). */
  cellWidth?: number;
  /** Pixels per row (28). */
  cellHeight?: number;
}

/**
 * A Vega-Lite spec of a heat map with the numbers in the cells; render it with `writeFigure`.
 *
 * @param cells the grid's cells (missing cells stay blank)
 * @param opts titles, colour scale and orders
 * @returns the spec, data inline
 * @example
 * ```ts
 * import { heatMapSpec } from "./heatmap.ts";
 * const spec = heatMapSpec([
 *   { x: 4, y: 2, value: 31.2 }, { x: 4, y: 4, value: 33.0 },
 *   { x: 8, y: 2, value: 27.5 }, { x: 8, y: 4, value: 30.1 },
 * ], { title: "PSNR", xTitle: "R_inf", yTitle: "R_train", valueTitle: "PSNR (dB)" });
 * ```
 */
export function heatMapSpec(cells: readonly HeatCell[], opts: HeatMapOptions): FigureSpec {
  const rows = cells.filter((c) => Number.isFinite(c.value));
  if (rows.length === 0) throw new Error("heatMapSpec: no cell has a finite value");
  const values = rows.map((c) => c.value);
  let [lo, hi] = [Math.min(...values), Math.max(...values)];
  if (opts.center !== undefined) {
    const r = Math.max(Math.abs(lo - opts.center), Math.abs(hi - opts.center)) || 1;
    [lo, hi] = [opts.center - r, opts.center + r];
  }
  const fmt = opts.format ?? ".2f";
  // Where the cell is the dark end of its scale, its text is white.
  const ink = (v: number) => {
    const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return (opts.center !== undefined ? Math.abs(t - 0.5) > 0.3 : t < 0.45) ? "white" : "black";
  };
  const sortOf = (o?: readonly (string | number)[]) => (o ? o.map(String) : null);
  const axis = (field: "x" | "y", title: string, o?: readonly (string | number)[]) => ({
    field,
    type: "ordinal" as const,
    title,
    axis: { labelAngle: 0, labelLimit: 400 },
    sort: sortOf(o) ?? [...new Set(rows.map((c) => String(c[field])))],
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: opts.title, ...(opts.subtitle ? { subtitle: opts.subtitle } : {}) },
    width: { step: opts.cellWidth ?? 64 },
    height: { step: opts.cellHeight ?? 28 },
    data: {
      values: rows.map((c) => ({
        x: String(c.x),
        y: String(c.y),
        value: c.value,
        ink: ink(c.value),
        ...(c.label !== undefined ? { label: c.label } : {}),
      })),
    },
    transform: [{
      calculate: `isValid(datum.label) ? datum.label : format(datum.value, '${fmt}')`,
      as: "text",
    }],
    encoding: { x: axis("x", opts.xTitle, opts.xOrder), y: axis("y", opts.yTitle, opts.yOrder) },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: {
            field: "value",
            type: "quantitative",
            title: opts.valueTitle,
            scale: opts.center !== undefined
              ? { scheme: "redblue", domain: [lo, hi] }
              : { scheme: "viridis" },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: "text", type: "nominal" },
          color: { condition: { test: "datum.ink === 'white'", value: "white" }, value: "black" },
        },
      },
    ],
  };
}
