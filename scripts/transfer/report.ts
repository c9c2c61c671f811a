/**
 * The study's tables: results.csv (one row per cell) and results.md (problem × model, mean
 * PSNR / SSIM at the main number of steps, and PSNR against NFE), plus its figures: PSNR
 * against m and against NFE with error bars, and a heat map of the paired differences.
 *
 * @module
 */
import { writeFileAtomic } from "../../src/io/atomic.ts";
import { heatMapSpec, type LinePoint, lineSpec, writeFigure } from "../figures/mod.ts";
import type { CellResult } from "./cells.ts";
import { methodLabel, type ModelInfo } from "./models.ts";
import { type Problem, problemId, problemLabel } from "./problems.ts";

/** Mean PSNR / SSIM / NRMSE of a set of cells, pooled over their images. */
export interface Summary {
  /** Mean PSNR (dB). */
  psnr: number;
  /** Standard deviation of the per-image PSNR. */
  psnrStd: number;
  /** Standard error of the mean PSNR (sample standard deviation / √images; 0 for one image). */
  psnrSe: number;
  /** Mean SSIM. */
  ssim: number;
  /** Mean NRMSE. */
  nrmse: number;
  /** NFE per image (of the first cell). */
  nfe: number;
  /** VJPs through the network per image (of the first cell). */
  vjps: number;
  /** Images pooled. */
  images: number;
}

/**
 * Pools the per-image metrics of cells (e.g. the seeds of one model × problem).
 *
 * @param cells finished cells
 * @returns the summary, or null if there are none
 */
export function summarize(cells: readonly CellResult[]): Summary | null {
  const all = cells.flatMap((c) => c.perImage);
  if (all.length === 0) return null;
  const avg = (f: (m: (typeof all)[0]) => number) => all.reduce((s, m) => s + f(m), 0) / all.length;
  const psnr = avg((m) => m.psnr);
  const n = all.length;
  const variance = avg((m) => (m.psnr - psnr) ** 2);
  return {
    psnr,
    psnrStd: Math.sqrt(variance),
    psnrSe: n > 1 ? Math.sqrt((variance * n) / (n - 1) / n) : 0,
    ssim: avg((m) => m.ssim),
    nrmse: avg((m) => m.nrmse),
    nfe: cells[0].nfe,
    vjps: cells[0].vjps,
    images: all.length,
  };
}

const CSV_COLUMNS = [
  "model",
  "method",
  "ambient",
  "p",
  "delta",
  "problem",
  "kind",
  "param",
  "seed",
  "steps",
  "nfe",
  "vjps",
  "zeta",
  "sigma_y",
  "sigma_min",
  "count",
  "psnr",
  "psnr_std",
  "ssim",
  "nrmse",
  "seconds",
  "backend",
  "key",
];

function csvField(v: string | number | boolean): string {
  const s = typeof v === "number" ? String(Number(v.toPrecision(8))) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes results.csv: one row per cell, in the given order.
 *
 * @param path output file
 * @param cells finished cells
 */
export async function writeCsv(path: string, cells: readonly CellResult[]): Promise<void> {
  const rows = cells.map((c) => {
    const s = c.spec;
    const pr = s.problem;
    const sum = summarize([c])!;
    return [
      s.model,
      s.ambient ? "A-DPS" : "FS-DPS",
      s.ambient,
      s.p,
      s.delta,
      problemId(pr),
      pr.kind,
      pr.kind === "cs" ? pr.m : pr.kind === "sr" ? pr.factor : pr.p,
      s.seed,
      s.steps,
      c.nfe,
      c.vjps,
      s.zeta,
      s.sigmaY,
      s.sigmaMin,
      s.count,
      c.mean.psnr,
      sum.psnrStd,
      c.mean.ssim,
      c.mean.nrmse,
      c.seconds,
      c.backend,
      c.key,
    ].map(csvField).join(",");
  });
  const text = [CSV_COLUMNS.join(","), ...rows].join("\n") + "\n";
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/** What the tables and charts are drawn from. */
export interface StudyView {
  /** Every finished cell. */
  cells: readonly CellResult[];
  /** The models, in command-line order. */
  models: readonly ModelInfo[];
  /** The problems, in order. */
  problems: readonly Problem[];
  /** The main number of DPS steps. */
  steps: number;
  /** The problem of the NFE sweep (null: no sweep). */
  nfeProblem: Problem | null;
  /** Step counts of the NFE sweep (the main count included). */
  sweep: readonly number[];
}

/**
 * The cells of one model × problem at one step count (all seeds).
 *
 * @param v the study
 * @param model model name
 * @param problem the problem
 * @param steps DPS steps
 * @returns matching cells
 */
export function select(
  v: StudyView,
  model: string,
  problem: Problem,
  steps: number,
): CellResult[] {
  const id = problemId(problem);
  return v.cells.filter((c) =>
    c.spec.model === model && problemId(c.spec.problem) === id && c.spec.steps === steps
  );
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));

/** Per-image PSNR differences a − b on the same images and seeds. */
export interface PairedDifference {
  /** Mean difference (dB). */
  mean: number;
  /** Its standard error (sample standard deviation of the differences / √n). */
  se: number;
  /** Images where a scored higher. */
  wins: number;
  /** Images compared. */
  n: number;
}

/**
 * Compares two models image by image (the same y for both, so differences are paired).
 *
 * @param a the cells of one model × problem × steps
 * @param b the other model's cells for the same problem and steps
 * @returns the difference, or null unless both cover the same seeds and images
 */
export function pairedDifference(
  a: readonly CellResult[],
  b: readonly CellResult[],
): PairedDifference | null {
  const bySeed = (cs: readonly CellResult[]) =>
    [...cs].sort((x, y) => x.spec.seed - y.spec.seed).flatMap((c) => c.perImage);
  return pairedStats(bySeed(a).map((m) => m.psnr), bySeed(b).map((m) => m.psnr));
}

/**
 * Paired differences a − b of per-image scores (the same images, measurements and seeds).
 *
 * @param a one method's scores, image by image
 * @param b the other's, in the same order
 * @returns mean ± standard error of the differences and the wins of a, or null unless both
 *   have the same n ≥ 2 scores
 * @example
 * ```ts
 * import { pairedStats } from "./report.ts";
 * pairedStats([30, 31, 33], [29, 30, 30]); // mean 5/3, se 2/3, wins 3, n 3
 * ```
 */
export function pairedStats(
  a: readonly number[],
  b: readonly number[],
): PairedDifference | null {
  if (a.length < 2 || a.length !== b.length) return null;
  const d = a.map((x, i) => x - b[i]);
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const variance = d.reduce((s, x) => s + (x - mean) ** 2, 0) / (d.length - 1);
  return {
    mean,
    se: Math.sqrt(variance / d.length),
    wins: d.filter((x) => x > 0).length,
    n: d.length,
  };
}

/**
 * A paired difference as "+1.81 ± 0.63 (10/16)" ("–" for none).
 *
 * @param p the difference
 * @returns the text
 */
export function fmtPaired(p: PairedDifference | null): string {
  if (!p) return "–";
  return `${p.mean >= 0 ? "+" : "−"}${f2(Math.abs(p.mean))} ± ${f2(p.se)} (${p.wins}/${p.n})`;
}

/** The rows of the paired table: every problem at the main steps, then the NFE sweep. */
function pairedRows(v: StudyView): [string, Problem, number][] {
  const rows: [string, Problem, number][] = v.problems.map((p) => [problemLabel(p), p, v.steps]);
  if (v.nfeProblem) {
    for (const steps of v.sweep.filter((s) => s !== v.steps)) {
      rows.push([`${problemLabel(v.nfeProblem)}, ${steps} steps`, v.nfeProblem, steps]);
    }
  }
  return rows;
}

/** The paired table of results.md. */
function pairedSection(v: StudyView): string[] {
  const clean = v.models.find((m) => !m.config.ambient);
  const ambient = v.models.filter((m) => m.config.ambient);
  if (!clean || ambient.length === 0) return [];
  const rows = pairedRows(v);
  return [
    ``,
    `## Ambient minus clean, image by image`,
    ``,
    `PSNR(ambient) − PSNR(${clean.name}) in dB on the same images and measurements: mean ± ` +
    `standard error of the paired differences (images where the ambient model scored higher).`,
    ``,
    `| problem | ${ambient.map((m) => `${m.name} − ${clean.name}`).join(" | ")} |`,
    `|---|${ambient.map(() => "---|").join("")}`,
    ...rows.map(([label, p, steps]) =>
      `| ${label} | ${
        ambient.map((m) =>
          fmtPaired(pairedDifference(select(v, m.name, p, steps), select(v, clean.name, p, steps)))
        ).join(" | ")
      } |`
    ),
  ];
}

/**
 * results.md: the transfer table and the NFE table.
 *
 * @param v the study
 * @returns the markdown
 */
export function resultsMarkdown(v: StudyView): string {
  const head = `| problem | ${v.models.map((m) => m.name).join(" | ")} |\n` +
    `|---|${v.models.map(() => "---|").join("")}\n`;
  const lines = [
    `# Cross-operator transfer: mean PSNR (dB) / SSIM`,
    ``,
    `DPS with ${v.steps} Heun steps; metrics on [−1, 1] images (data range 2), pooled over ` +
    `held-out images and seeds. Models: ` +
    v.models.map((m) => `**${m.name}** = ${methodLabel(m.config)}`).join("; ") + ".",
    ``,
    head.trimEnd(),
  ];
  for (const p of v.problems) {
    const cols = v.models.map((m) => {
      const s = summarize(select(v, m.name, p, v.steps));
      return s ? `${f2(s.psnr)} / ${s.ssim.toFixed(3)}` : "–";
    });
    lines.push(`| ${problemLabel(p)} | ${cols.join(" | ")} |`);
  }
  if (v.nfeProblem && v.sweep.length > 0) {
    lines.push(
      ``,
      `## PSNR (dB) against NFE, ${problemLabel(v.nfeProblem)}`,
      ``,
      `| DPS steps (NFE, VJPs) | ${v.models.map((m) => m.name).join(" | ")} |`,
      `|---|${v.models.map(() => "---|").join("")}`,
    );
    for (const steps of v.sweep) {
      const sums = v.models.map((m) => summarize(select(v, m.name, v.nfeProblem!, steps)));
      const first = sums.find((s) => s);
      const counts = first ? `${first.nfe}, ${first.vjps}` : "–";
      lines.push(
        `| ${steps} (${counts}) | ${sums.map((s) => (s ? f2(s.psnr) : "–")).join(" | ")} |`,
      );
    }
  }
  lines.push(...pairedSection(v));
  return lines.join("\n") + "\n";
}

/** What the line charts' error bars are. */
export const ERROR_BARS = "± 1 standard error of the mean PSNR over the images";

/** A model's mean PSNR ± 1 SE on one problem at one step count, at x; none if not run. */
function psnrPoint(
  v: StudyView,
  model: string,
  problem: Problem,
  steps: number,
  x: (s: Summary) => number,
): LinePoint[] {
  const s = summarize(select(v, model, problem, steps));
  return s
    ? [{ series: model, x: x(s), y: s.psnr, lo: s.psnr - s.psnrSe, hi: s.psnr + s.psnrSe }]
    : [];
}

/**
 * Draws PSNR against m (Gaussian CS) per model with error bars, as `base`.svg, .png and
 * .vl.json; nothing without CS problems.
 *
 * @param base output path without extension
 * @param v the study
 * @returns whether a chart was written
 */
export async function writePsnrVsM(base: string, v: StudyView): Promise<boolean> {
  const cs = v.problems.flatMap((p) => (p.kind === "cs" ? [p] : []));
  if (cs.length === 0) return false;
  const points = v.models.flatMap((m) =>
    cs.flatMap((p) => psnrPoint(v, m.name, p, v.steps, () => p.m))
  );
  await writeFigure(
    base,
    lineSpec(points, {
      title: `Gaussian CS: PSNR vs measurements (${v.steps} DPS steps)`,
      subtitle: `error bars: ${ERROR_BARS}`,
      xTitle: "measurements m (log scale)",
      yTitle: "PSNR (dB)",
      logX: true,
      xTicks: cs.map((p) => p.m),
      series: v.models.map((m) => m.name),
    }),
  );
  return true;
}

/**
 * Draws PSNR against NFE per model on the sweep's problem with error bars, as `base`.svg,
 * .png and .vl.json; nothing without a sweep.
 *
 * @param base output path without extension
 * @param v the study
 * @returns whether a chart was written
 */
export async function writePsnrVsNfe(base: string, v: StudyView): Promise<boolean> {
  const problem = v.nfeProblem;
  if (!problem || v.sweep.length === 0) return false;
  const points = v.models.flatMap((m) =>
    v.sweep.flatMap((steps) => psnrPoint(v, m.name, problem, steps, (s) => s.nfe))
  );
  await writeFigure(
    base,
    lineSpec(points, {
      title: `${problemLabel(problem)}: PSNR vs NFE`,
      subtitle: `error bars: ${ERROR_BARS}`,
      xTitle: "network evaluations per image, NFE (log scale)",
      yTitle: "PSNR (dB)",
      logX: true,
      xTicks: [...new Set(points.map((p) => p.x))],
      series: v.models.map((m) => m.name),
    }),
  );
  return true;
}

/**
 * Draws the paired table as a heat map: problem (and NFE-sweep step count) × ambient model,
 * coloured by the mean of PSNR(ambient) − PSNR(clean), labelled "mean ± paired SE (wins/n)";
 * nothing without a clean and an ambient model.
 *
 * @param base output path without extension
 * @param v the study
 * @returns whether a chart was written
 */
export async function writePairedHeatMap(base: string, v: StudyView): Promise<boolean> {
  const clean = v.models.find((m) => !m.config.ambient);
  const ambient = v.models.filter((m) => m.config.ambient);
  if (!clean || ambient.length === 0) return false;
  const rows = pairedRows(v);
  const cells = rows.flatMap(([label, p, steps]) =>
    ambient.flatMap((m) => {
      const d = pairedDifference(select(v, m.name, p, steps), select(v, clean.name, p, steps));
      return d ? [{ x: m.name, y: label, value: d.mean, label: fmtPaired(d) }] : [];
    })
  );
  if (cells.length === 0) return false;
  await writeFigure(
    base,
    heatMapSpec(cells, {
      title: `PSNR(ambient) − PSNR(${clean.name}), dB, image by image`,
      subtitle: "mean ± 1 standard error of the paired differences (images where ambient won / n)",
      xTitle: "ambient prior",
      yTitle: "problem",
      valueTitle: "dB",
      center: 0,
      xOrder: ambient.map((m) => m.name),
      yOrder: rows.map(([label]) => label),
      cellWidth: 150,
    }),
  );
  return true;
}
