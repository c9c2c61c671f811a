/**
 * The MRI study (Aali et al. 2024, §4–6; docs/method.md §7.1): every prior × R_inf on held-out
 * slices (A-DPS and A-OS for ambient priors, FS-DPS for the fully sampled one), plus
 * L1-wavelet and zero-filled; PSNR / SSIM / NRMSE as mean ± standard error, paired per slice
 * against FS-DPS; results.csv, results.md, the PSNR-vs-R_inf plot and image grids with error
 * maps. Each cell is cached (atomic writes), so a rerun or a run after a kill computes only
 * what is missing; `--shard i/n` computes every n-th cell (one machine each) and `--merge`
 * builds the report from the shards' folders.
 *
 * ```
 * deno task mri:sweep --steps 100 --out out/mri-sweep
 * deno task mri:sweep --shard 1/2 --out out/s1 & deno task mri:sweep --shard 2/2 --out out/s2
 * deno task mri:sweep --merge out/s1,out/s2 --out out/mri-sweep
 * ```
 */
import { selectBackend } from "../src/core/select_backend.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { exitOnUsageError, numberFlag, parseFlags, UsageError } from "./cli.ts";
import { Progress } from "./progress.ts";
import {
  mriCellKey,
  type MriCellResult,
  readMriCell,
  readMriReconstructions,
  runMriCell,
} from "./mri/cells.ts";
import {
  intList,
  parseModelPaths,
  parseShard,
  planCells,
  shardCells,
  studyAcs,
  studySeries,
} from "./mri/plan.ts";
import { readHeldOut, type ReconSettings } from "./mri/recon.ts";
import { type MriStudyView, writeMriGrids, writeMriTables, writePsnrVsR } from "./mri/report.ts";
import { disposeModel, loadModel, type ModelInfo, readModelInfo } from "./transfer/models.ts";
import { fmtTime } from "./transfer/report_page.ts";

// The five priors shipped in fixtures/models and the committed held-out slices.
const DEFAULT_MODELS = [1, 2, 4, 6, 8].map((r) => `fixtures/models/mri-r${r}`).join(",");
const DEFAULT_DATA = "fixtures/mri/sim-64x56-held-out.h5";

const USAGE = `usage: deno task mri:sweep [options]   (every prior × R_inf on held-out slices)
  --models LIST      priors: paths (or name=path), comma separated (${DEFAULT_MODELS})
  --data FILE|DIR    held-out slices: fastMRI-layout .h5 with maps and ground truth, or a
                     folder with held-out.h5 (${DEFAULT_DATA})
  --slices LIST      slice indices (default: all)
  --r LIST           inference accelerations R_inf (2,4,6,8)
  --steps N          DPS steps (500, the reference's)
  --seed S           seed of M_inf, M̃ and the initial noise (0)
  --acs N            ACS columns of M_inf (default: the priors' training ACS)
  --lambda L         L1-wavelet λ (0.005)
  --batch N          slices per sampler run (8)
  --grid-slices N    slices shown in the grids (4)
  --backend B        cpu | webgpu (default: WebGPU where available)
  --shard i/n        compute only every n-th cell, from the i-th; no report
  --merge LIST       build the report from these output folders' cells (the shards')
  --out DIR          output folder (out/mri-sweep)`;

exitOnUsageError();
const a = parseFlags({
  models: { type: "string", default: DEFAULT_MODELS },
  data: { type: "string", default: DEFAULT_DATA },
  slices: { type: "string" },
  r: { type: "string", default: "2,4,6,8" },
  steps: { type: "string", default: "500" },
  seed: { type: "string", default: "0" },
  acs: { type: "string" },
  lambda: { type: "string", default: "0.005" },
  batch: { type: "string", default: "8" },
  "grid-slices": { type: "string", default: "4" },
  backend: { type: "string" },
  shard: { type: "string" },
  merge: { type: "string" },
  out: { type: "string", default: "out/mri-sweep" },
  help: { type: "boolean" },
});
if (a.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const rs = intList(a.r!, "r", 1);
const steps = numberFlag(a.steps, "steps", "positive")!;
const seed = numberFlag(a.seed, "seed", "int")!;
const lambda = numberFlag(a.lambda, "lambda")!;
const batch = numberFlag(a.batch, "batch", "positive")!;
const gridSlices = numberFlag(a["grid-slices"], "grid-slices", "positive")!;
if (!(lambda >= 0)) throw new UsageError(`--lambda must be ≥ 0, got ${lambda}`);
const shard = a.shard === undefined ? null : parseShard(a.shard);
if (shard && a.merge !== undefined) throw new UsageError("give --shard or --merge, not both");
const out = a.out!;
const cellsDir = `${out}/cells`;

const data = await readHeldOut(
  a.data!,
  a.slices === undefined ? undefined : intList(a.slices, "slices", 0),
);
const infos: ModelInfo[] = [];
for (const s of parseModelPaths(a.models!)) infos.push(await readModelInfo(s));
const [c, h, w] = data.dims;
const acs = numberFlag(a.acs, "acs", "positive") ?? studyAcs(infos, w);
const settings: ReconSettings = { steps, seed, acs, lambda, batch };
const series = studySeries(infos, ["L1-wavelet", "zero-filled"]);
const plan = planCells(series, rs, settings, data);
await Deno.mkdir(cellsDir, { recursive: true });

if (a.merge !== undefined) {
  // The shards' cells, copied beside this run's, so the report's folder stands alone.
  for (const dir of a.merge.split(",").filter((s) => s.trim() !== "")) {
    for (const p of plan) {
      const key = mriCellKey(p.spec);
      if (await readMriCell(`${dir}/cells`, p.spec)) {
        for (const ext of ["f32", "json"]) {
          await writeFileAtomic(
            `${cellsDir}/${key}.${ext}`,
            await Deno.readFile(`${dir}/cells/${key}.${ext}`),
          );
        }
      }
    }
  }
}

const mine = shard ? shardCells(plan, shard) : a.merge !== undefined ? [] : plan;
const backend = await selectBackend(a.backend);
console.log(
  `MRI study → ${out}: ${series.length} series × ${rs.length} R_inf = ${plan.length} cells` +
    `${shard ? `, shard ${shard[0]}/${shard[1]}: ${mine.length}` : ""}; ${data.slices.length} ` +
    `slices ${h}×${w}, ${c} coils (${data.label}); ${steps} DPS steps, ACS ${acs}; ` +
    `backend ${backend.name}`,
);

const results = new Map<string, MriCellResult>();
for (const p of plan) {
  const r = await readMriCell(cellsDir, p.spec);
  if (r) results.set(r.key, r);
}
const todo = mine.filter((p) => !results.has(mriCellKey(p.spec)));
// Progress in slices × network evaluations (1 for the classical methods), so DPS cells weigh.
const work = (p: (typeof plan)[0]) => data.slices.length * Math.max(1, p.spec.steps);
const progress = new Progress({ label: "cells", total: todo.reduce((t, p) => t + work(p), 0) });
let done = 0;
const started = performance.now();
for (const info of [...infos, null]) {
  const cells = todo.filter((p) => p.info === info);
  if (cells.length === 0) continue;
  const model = info ? await loadModel(info, [2, h, w], backend) : null;
  try {
    for (const p of cells) {
      const base = done;
      const r = await runMriCell(cellsDir, p.spec, model, data, settings, backend, (n) => {
        progress.update(base + (work(p) * n) / data.slices.length);
      });
      results.set(r.key, r);
      progress.log(
        `${p.series.label} R_inf ${p.spec.rInf}: PSNR ${mean(r, "psnr").toFixed(2)} dB, ` +
          `SSIM ${mean(r, "ssim").toFixed(4)} (${fmtTime(r.seconds)})`,
      );
      progress.update(done += work(p));
    }
  } finally {
    if (model) disposeModel(model);
  }
}
progress.finish();

/** A metric's mean over a cell's slices. */
function mean(r: MriCellResult, m: "psnr" | "ssim"): number {
  return r.perSlice.reduce((s, x) => s + x[m], 0) / r.perSlice.length;
}

if (shard) {
  console.log(
    `shard ${shard[0]}/${shard[1]} done (${fmtTime((performance.now() - started) / 1000)}); ` +
      `build the report with --merge <the shards' --out folders> --out DIR`,
  );
  Deno.exit(0);
}
const missing = plan.filter((p) => !results.has(mriCellKey(p.spec)));
if (missing.length > 0) {
  throw new UsageError(
    `${missing.length} of ${plan.length} cells are missing (first: ${missing[0].series.label} ` +
      `R_inf ${missing[0].spec.rInf}): merge every shard, with the shards' flags`,
  );
}
const view: MriStudyView = {
  series: series.map((s) => s.series),
  rs,
  cells: new Map(
    plan.map((p) => [`${p.series.label}@${p.spec.rInf}`, results.get(mriCellKey(p.spec))!]),
  ),
  about: [
    `data: ${data.label}, ${data.slices.length} held-out slices (${data.slices.join(", ")}) of ` +
    `${data.path.slice(data.path.lastIndexOf("/") + 1)}, ${h}×${w}, ${c} coils, sha256 ` +
    `${data.digest.slice(0, 12)}`,
    `priors: ${infos.map((m) => `${m.name} (sha256 ${m.digest.slice(0, 12)})`).join(", ")}`,
    `A-DPS / FS-DPS: Euler, ${steps} steps, ρ 7, σ 10 → 0.004, ζ = 2 per slice (the ` +
    `reference's l = 1), one M̃ per run; A-OS: one evaluation at σ = 0.003`,
    `masks: random columns, ACS ${acs}, one M_inf per (slice, R_inf), seed ${seed}; ` +
    `L1-wavelet: λ ${lambda}, 100 FISTA iterations; ${batch} slices per sampler run`,
  ],
};
await writeMriTables(out, view);
await writePsnrVsR(`${out}/psnr-vs-r`, view, data.label);
const grids = await writeMriGrids(
  out,
  view,
  data,
  (key) => readMriReconstructions(cellsDir, key),
  gridSlices,
);
const seconds = [...results.values()].map((r) => ({
  key: r.key,
  seconds: r.seconds,
  backend: r.backend,
}));
await writeFileAtomic(
  `${out}/run.json`,
  new TextEncoder().encode(
    JSON.stringify(
      {
        command: `deno task mri:sweep ${Deno.args.join(" ")}`.trim(),
        data: a.data,
        slices: data.slices,
        rs,
        settings,
        grids,
        cells: seconds,
      },
      null,
      1,
    ) + "\n",
  ),
);
// As `deno fmt` leaves them (the repository's line width), so a committed report passes
// `deno fmt --check` and equals what the sweep writes.
await new Deno.Command(Deno.execPath(), {
  args: [
    "fmt",
    "--quiet",
    "--no-config",
    "--line-width",
    "100",
    `${out}/results.md`,
    `${out}/run.json`,
  ],
}).output();
console.log(await Deno.readTextFile(`${out}/results.md`));
