/**
 * The MRI study's report: results.csv (one row per cell), results.md (PSNR / SSIM / NRMSE per
 * method × R_inf as mean ± standard error over the slices, and every method against FS-DPS,
 * paired per slice), the PSNR-vs-R_inf plot and image grids with error maps. Everything here
 * follows from the cells alone (no timings, no paths), so shards merged give the same bytes
 * as one run.
 *
 * @module
 */
import { writeFileAtomic } from "../../src/io/atomic.ts";
import type { ImageMetrics } from "../../src/metrics/batch.ts";
import {
  type GridRow,
  type LinePoint,
  lineSpec,
  writeFigure,
  writeLabelledGrid,
} from "../figures/mod.ts";
import { fmtPaired, type PairedDifference, pairedStats } from "../transfer/report.ts";
import type { MriCellResult } from "./cells.ts";
import { showErrors, showMagnitudes } from "./images.ts";
import type { HeldOut, MriMethod } from "./recon.ts";

/** One line of the tables and the plot: a method with its prior. */
export interface MriSeries {
  /** Label, e.g. "A-DPS (R_train 4)". */
  label: string;
  /** The method. */
  method: MriMethod;
  /** The prior's name (null for the classical methods). */
  model: string | null;
}

/** What the report is drawn from. */
export interface MriStudyView {
  /** The series, in table order. */
  series: readonly MriSeries[];
  /** The inference accelerations. */
  rs: readonly number[];
  /** The finished cell of each series label × R_inf, keyed `${label}@${r}`. */
  cells: ReadonlyMap<string, MriCellResult>;
  /** What the data is (e.g. "simulated k-space") and the settings, one line each. */
  about: readonly string[];
}

/** The cell of a series at R_inf. */
function cellOf(v: MriStudyView, s: MriSeries, r: number): MriCellResult | undefined {
  return v.cells.get(`${s.label}@${r}`);
}

/** Mean and standard error (sample SD / √n; 0 for one value) of a metric over the slices. */
export interface MeanSe {
  /** Mean. */
  mean: number;
  /** Standard error of the mean. */
  se: number;
}

/**
 * Mean ± standard error of values (e.g. one metric over a cell's slices).
 *
 * @param v the values
 * @returns mean and standard error
 * @example
 * ```ts
 * import { meanSe } from "./report.ts";
 * meanSe([30, 32]); // 31 ± 1
 * ```
 */
export function meanSe(v: readonly number[]): MeanSe {
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, se: Math.sqrt(variance / n) };
}

/** A metric of every slice of a cell. */
function metricOf(c: MriCellResult, metric: keyof ImageMetrics): number[] {
  return c.perSlice.map((m) => m[metric]);
}

/** PSNR(a) − PSNR(FS-DPS) slice by slice at R_inf, or null without both cells. */
export function againstFsDps(
  v: MriStudyView,
  s: MriSeries,
  r: number,
): PairedDifference | null {
  const fs = v.series.find((x) => x.method === "FS-DPS");
  const a = cellOf(v, s, r), b = fs ? cellOf(v, fs, r) : undefined;
  if (!fs || s === fs || !a || !b) return null;
  return pairedStats(a.perSlice.map((m) => m.psnr), b.perSlice.map((m) => m.psnr));
}

const CSV_COLUMNS = [
  "series",
  "method",
  "model",
  "r_train",
  "r_inf",
  "steps",
  "nfe",
  "slices",
  "psnr",
  "psnr_se",
  "ssim",
  "ssim_se",
  "nrmse",
  "nrmse_se",
  "psnr_minus_fs_dps",
  "psnr_minus_fs_dps_se",
  "key",
];

/** A number with 8 significant digits (stable text), or a string field quoted as RFC 4180. */
function csvField(x: string | number | null): string {
  const s = x === null ? "" : typeof x === "number" ? String(Number(x.toPrecision(8))) : x;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * results.csv: one row per finished cell, series by series.
 *
 * @param v the study
 * @returns the CSV text
 */
export function mriCsv(v: MriStudyView): string {
  const rows: string[] = [CSV_COLUMNS.join(",")];
  for (const s of v.series) {
    for (const r of v.rs) {
      const c = cellOf(v, s, r);
      if (!c) continue;
      const [p, q, e] = (["psnr", "ssim", "nrmse"] as const).map((m) => meanSe(metricOf(c, m)));
      const d = againstFsDps(v, s, r);
      rows.push(
        [
          s.label,
          s.method,
          s.model,
          c.spec.rTrain,
          r,
          c.spec.steps,
          c.nfe,
          c.perSlice.length,
          p.mean,
          p.se,
          q.mean,
          q.se,
          e.mean,
          e.se,
          d?.mean ?? null,
          d?.se ?? null,
          c.key,
        ].map(csvField).join(","),
      );
    }
  }
  return rows.join("\n") + "\n";
}

/** A metric table: series × R_inf, "mean ± se". */
function metricTable(v: MriStudyView, metric: keyof ImageMetrics, digits: number): string[] {
  return [
    `| method | ${v.rs.map((r) => `R_inf = ${r}`).join(" | ")} |`,
    `|---|${v.rs.map(() => "---|").join("")}`,
    ...v.series.map((s) =>
      `| ${s.label} | ${
        v.rs.map((r) => {
          const c = cellOf(v, s, r);
          if (!c) return "–";
          const m = meanSe(metricOf(c, metric));
          return `${m.mean.toFixed(digits)} ± ${m.se.toFixed(digits)}`;
        }).join(" | ")
      } |`
    ),
  ];
}

/**
 * results.md: the three metric tables and the paired comparison with FS-DPS.
 *
 * @param v the study
 * @returns markdown
 */
export function mriMarkdown(v: MriStudyView): string {
  const n = [...v.cells.values()][0]?.perSlice.length ?? 0;
  const fs = v.series.find((s) => s.method === "FS-DPS");
  const out = [
    `# MRI: R_train × R_inf`,
    ``,
    ...v.about.map((line) => `- ${line}`),
    ``,
    `Mean ± standard error over ${n} held-out slices; metrics on magnitude images ` +
    `(docs/method.md §6). "–": not computed.`,
    ``,
    `## PSNR (dB)`,
    ``,
    ...metricTable(v, "psnr", 2),
    ``,
    `## SSIM`,
    ``,
    ...metricTable(v, "ssim", 4),
    ``,
    `## NRMSE`,
    ``,
    ...metricTable(v, "nrmse", 4),
  ];
  if (fs) {
    out.push(
      ``,
      `## Against ${fs.label}, slice by slice`,
      ``,
      `PSNR(method) − PSNR(${fs.label}) in dB on the same slices, masks and measurements: ` +
        `mean ± standard error of the paired differences (slices where the method scored higher).`,
      ``,
      `| method | ${v.rs.map((r) => `R_inf = ${r}`).join(" | ")} |`,
      `|---|${v.rs.map(() => "---|").join("")}`,
      ...v.series.filter((s) => s !== fs).map((s) =>
        `| ${s.label} | ${v.rs.map((r) => fmtPaired(againstFsDps(v, s, r))).join(" | ")} |`
      ),
    );
  }
  return out.join("\n") + "\n";
}

/**
 * Writes results.csv and results.md.
 *
 * @param dir output folder
 * @param v the study
 */
export async function writeMriTables(dir: string, v: MriStudyView): Promise<void> {
  const enc = new TextEncoder();
  await writeFileAtomic(`${dir}/results.csv`, enc.encode(mriCsv(v)));
  await writeFileAtomic(`${dir}/results.md`, enc.encode(mriMarkdown(v)));
}

/**
 * The PSNR-vs-R_inf plot: one line per series, ± 1 standard error bars.
 *
 * @param base output path without extension
 * @param v the study
 * @param data what the data is, for the title
 */
export async function writePsnrVsR(base: string, v: MriStudyView, data: string): Promise<void> {
  const points: LinePoint[] = [];
  for (const s of v.series) {
    for (const r of v.rs) {
      const c = cellOf(v, s, r);
      if (!c) continue;
      const m = meanSe(metricOf(c, "psnr"));
      points.push({ series: s.label, x: r, y: m.mean, lo: m.mean - m.se, hi: m.mean + m.se });
    }
  }
  const n = [...v.cells.values()][0]?.perSlice.length ?? 0;
  await writeFigure(
    base,
    lineSpec(points, {
      title: `PSNR against the inference acceleration (${data})`,
      subtitle: `mean over ${n} held-out slices, bars ± 1 standard error`,
      xTitle: "R_inf",
      yTitle: "PSNR (dB)",
      xTicks: v.rs,
      series: v.series.map((s) => s.label),
    }),
  );
}

/** The fraction of a slice's largest magnitude shown white in the error maps. */
export const ERROR_WHITE = 0.25;

/**
 * The grid of one R_inf: the truth, then a row per series; per slice its magnitude image and
 * its error map ||x̂| − |gt|| (white = ERROR_WHITE of the slice's largest magnitude).
 *
 * @param v the study
 * @param r the inference acceleration
 * @param data the held-out slices
 * @param recon the reconstructions of a cell key, [N, 2, H, W] (null if missing)
 * @param show how many slices
 * @returns the rows and the column labels
 */
export async function mriGridRows(
  v: MriStudyView,
  r: number,
  data: HeldOut,
  recon: (key: string) => Promise<Float32Array | null>,
  show: number,
): Promise<{ rows: GridRow[]; columns: string[] }> {
  const [, h, w] = data.dims;
  const hw = h * w;
  const n = Math.min(show, data.slices.length);
  const maxOf = (i: number) => {
    let m = 0;
    for (let p = 0; p < hw; p++) {
      m = Math.max(m, Math.hypot(data.gt[2 * i * hw + p], data.gt[(2 * i + 1) * hw + p]));
    }
    return m;
  };
  const maxes = Array.from({ length: n }, (_, i) => maxOf(i));
  const row = (x: Float32Array | null) => {
    const images = new Float32Array(2 * n * hw).fill(NaN);
    for (let i = 0; i < n; i++) {
      const g = data.gt.subarray(2 * i * hw, 2 * (i + 1) * hw);
      const e = x ? x.subarray(2 * i * hw, 2 * (i + 1) * hw) : g;
      images.set(showMagnitudes(x ? e : g, 1, hw, maxes[i]), 2 * i * hw);
      if (x) images.set(showErrors(g, e, 1, hw, ERROR_WHITE * maxes[i]), (2 * i + 1) * hw);
    }
    return images;
  };
  const rows: GridRow[] = [{ label: "ground truth", images: row(null) }];
  for (const s of v.series) {
    const c = cellOf(v, s, r);
    rows.push({ label: s.label, images: row(c ? await recon(c.key) : null) });
  }
  const columns = data.slices.slice(0, n).flatMap((s) => [`slice ${s}`, "|error|"]);
  return { rows, columns };
}

/**
 * Writes one grid per R_inf (grid-R<r>.png).
 *
 * @param dir output folder
 * @param v the study
 * @param data the held-out slices
 * @param recon the reconstructions of a cell key
 * @param show how many slices
 * @returns the file names written
 */
export async function writeMriGrids(
  dir: string,
  v: MriStudyView,
  data: HeldOut,
  recon: (key: string) => Promise<Float32Array | null>,
  show: number,
): Promise<string[]> {
  const names: string[] = [];
  for (const r of v.rs) {
    const { rows, columns } = await mriGridRows(v, r, data, recon, show);
    const name = `grid-R${r}.png`;
    await writeLabelledGrid(`${dir}/${name}`, rows, [1, data.dims[1], data.dims[2]], {
      columns,
      scale: 2,
      fontSize: 12,
    });
    names.push(name);
  }
  return names;
}
