/**
 * report.md of the study: the setup in words, the results table, and links to every table,
 * chart and image grid, with the colour of each model in the charts.
 *
 * @module
 */
import { seriesColour } from "../figures/mod.ts";
import type { CellResult, StudySettings } from "./cells.ts";
import { methodLabel } from "./models.ts";
import { problemLabel } from "./problems.ts";
import { ERROR_BARS, resultsMarkdown, type StudyView } from "./report.ts";

/** What report.md says beyond the tables. */
export interface ReportContext {
  /** The study's cells and layout. */
  view: StudyView;
  /** Shared settings. */
  settings: StudySettings;
  /** The command line that produced it. */
  command: string;
  /** Where the held-out images came from. */
  imagesPath: string;
  /** Seeds. */
  seeds: readonly number[];
  /** Backend description. */
  backend: string;
  /** Figure files that were written (names relative to the report). */
  figures: {
    psnrVsM: boolean;
    psnrVsNfe: boolean;
    paired: boolean;
    grids: { problem: string; file: string }[];
  };
  /** Cells recomputed by this run. */
  computed: readonly CellResult[];
}

/**
 * The markdown of report.md.
 *
 * @param r what to report
 * @returns the page
 */
export function reportMarkdown(r: ReportContext): string {
  const { view: v, settings: s } = r;
  const colour = (i: number) => seriesColour(i).name;
  const seconds = v.cells.reduce((a, c) => a + c.seconds, 0);
  const zeta = Object.entries(s.zeta).map(([k, z]) => `${k} ${z}`).join(", ");
  const out = [
    `# Cross-operator transfer study (docs/method.md §7.2)`,
    ``,
    `Written ${new Date().toISOString()} by:`,
    ``,
    "```",
    r.command,
    "```",
    ``,
    `## Setup`,
    ``,
    `- Held-out images: the first ${s.count} of \`${r.imagesPath}\`, ` +
    `${s.shape.join("×")} in [−1, 1] (SHA-256 ${s.imagesDigest.slice(0, 12)}…).`,
    `- Problems: ${v.problems.map(problemLabel).join("; ")}` +
    (s.method.boxPlacement === "anywhere" ? " (boxes may cross the border)" : "") +
    `. Measurement noise σ_y = ${s.sigmaY} (in [−1, 1] units), ` +
    (s.method.noise === "image"
      ? "drawn in image space, y = A(x + σ_y n), as the reference code does"
      : "added to the measurements, y = A x + σ_y n") +
    `; the operator, noise, ambient mask M̃ and DPS initial noise are seeded by the seed ` +
    `(${r.seeds.join(", ")}), so every model sees the same y.`,
    `- Sampler: DPS with EDM's Heun schedule (σ ∈ [${s.sigmaMin}, 80], ρ = 7), D clipped to [−1, 1] ` +
    `at both stages, likelihood step −ζ ∇ₓ‖A(D) − y‖ (norm per ${s.method.norm}) with ζ: ` +
    `${zeta}, ` +
    (s.method.secondStageLikelihood
      ? "at both Heun stages and averaged (2 NFE and 2 VJPs per step)"
      : "at the first Heun stage only (2 NFE and 1 VJP per step)") +
    `; ${v.steps} steps in the table. Ambient models run A-DPS: D = h([M̃ ⊙ x, M̃], σ) with ` +
    (s.method.mask === "per-image"
      ? "one M̃ ~ Bernoulli((1 − p)(1 − δ)) per image, seeded by the image"
      : "one M̃ ~ Bernoulli((1 − p)(1 − δ)) per seed, shared by the batch") +
    `; clean models run FS-DPS. Reconstructions are clipped to [−1, 1]; PSNR / SSIM / NRMSE ` +
    `with data range 2.`,
    `- Backend: ${r.backend}. Compute in the cached cells: ${fmtTime(seconds)} ` +
    `(${r.computed.length} of ${v.cells.length} cells computed by this run).`,
    ``,
    `| model | method | weights | colour in charts |`,
    `|---|---|---|---|`,
    ...v.models.map((m, i) =>
      `| ${m.name} | ${methodLabel(m.config)} | \`${m.weights}\` (${m.digest.slice(0, 12)}…) | ` +
      `${colour(i)} |`
    ),
    ``,
    `## Results`,
    ``,
    `Tables: [results.md](results.md); every cell (model × problem × seed × steps): ` +
    `[results.csv](results.csv); per-cell metrics of every image: \`cells/<key>.json\`.`,
    ``,
    resultsMarkdown(v).replace(/^# .*\n\n/, "").replace(/^## /m, "### "),
    `## Figures`,
    ``,
    `Each chart is \`name.svg\` (linked here), \`name.png\` and its Vega-Lite spec ` +
    `\`name.vl.json\` with the data inline (restyle it in any Vega-Lite editor). Error bars ` +
    `of the line charts: ${ERROR_BARS} (sample SD / √n); every model sees the same ` +
    `images, so their paired differences (the table above, the heat map below) are ` +
    `tighter than these bars suggest.`,
    ``,
  ];
  if (r.figures.psnrVsM) {
    out.push(`PSNR against the number of Gaussian measurements m (log axis):`, ``);
    out.push(`![PSNR vs m](psnr-vs-m.svg)`, ``);
  }
  if (r.figures.psnrVsNfe && v.nfeProblem) {
    out.push(
      `PSNR against network evaluations per image on ${problemLabel(v.nfeProblem)} ` +
        `(DPS steps ${v.sweep.join(", ")}; NFE = 2·steps − 1, and as many VJPs with the ` +
        `likelihood step at both Heun stages, steps without):`,
      ``,
      `![PSNR vs NFE](psnr-vs-nfe.svg)`,
      ``,
    );
  }
  if (r.figures.paired) {
    out.push(
      `Ambient minus clean, image by image (the paired table above; ± 1 paired SE):`,
      ``,
      `![ambient minus clean](paired-difference.svg)`,
      ``,
    );
  }
  out.push(
    `Reconstructions (seed ${r.seeds[0]}, ${v.steps} steps). Rows: ground truth; the ` +
      `measurement shown as c·Aᴴy with c = ⟨AAᴴy, y⟩/‖AAᴴy‖² (1 for inpainting, f² for ` +
      `×f pooling, about m/d for CS); then each model's reconstruction.`,
    ``,
  );
  for (const g of r.figures.grids) {
    out.push(`### ${g.problem}`, ``, `![${g.problem}](${g.file})`, ``);
  }
  return out.join("\n");
}

/**
 * 1h02m03s.
 *
 * @param s seconds
 * @returns the duration, or "…" when not finite
 */
export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "…";
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = Math.floor(s) % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, "0")}m${String(sec).padStart(2, "0")}s`
    : m > 0
    ? `${m}m${String(sec).padStart(2, "0")}s`
    : `${(Math.round(s * 10) / 10).toFixed(1)}s`;
}

/**
 * The grid file of a problem.
 *
 * @param id problem id
 * @returns its file name
 */
export function gridFile(id: string): string {
  return `grid-${id}.png`;
}
