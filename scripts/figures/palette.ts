/**
 * The series colours of every chart, with names for captions ("blue: clean"): Tableau 10's
 * first eight with red before orange, so the first two series differ most.
 *
 * @module
 */

/** One colour of the palette. */
export interface PaletteColour {
  /** Its name in captions. */
  name: string;
  /** CSS hex colour. */
  hex: string;
}

/** Colours for up to eight series, then they repeat. */
export const PALETTE: readonly PaletteColour[] = [
  { name: "blue", hex: "#1f77b4" },
  { name: "red", hex: "#d62728" },
  { name: "green", hex: "#2ca02c" },
  { name: "orange", hex: "#ff7f0e" },
  { name: "purple", hex: "#9467bd" },
  { name: "brown", hex: "#8c564b" },
  { name: "pink", hex: "#e377c2" },
  { name: "cyan", hex: "#17becf" },
];

/**
 * The colour of the i-th series.
 *
 * @param i series index (0-based)
 * @returns its palette entry
 * @example
 * ```ts
 * import { seriesColour } from "./palette.ts";
 * console.log(seriesColour(1).name); // "red"
 * ```
 */
export function seriesColour(i: number): PaletteColour {
  return PALETTE[i % PALETTE.length];
}
