/**
 * The cross-operator study (docs/method.md §7.2): models trained on randomly erased images
 * (ambient) or on clean ones, used as priors in DPS for other operators: Gaussian compressed
 * sensing at several m, super-resolution, box inpainting; PSNR / SSIM / NRMSE per model × problem,
 * PSNR against m and against NFE, image grids, report.md. Each cell is cached, so a rerun (or a run
 * after a kill) computes only what is missing.
 *
 * ```
 * deno run -A scripts/transfer-cs.ts \
 *   --models ambient=runs/fmnist-inpaint,clean=runs/fmnist-clean --count 32 --out out/transfer
 * ```
 */
import { backendName, selectBackend } from "../src/core/select_backend.ts";
import "../src/onnx/ort_backend.ts"; // makes --backend onnx|onnx-cuda selectable
import { exitOnUsageError, parseFlags, UsageError } from "./cli.ts";
import { FASHION_MNIST_DIR, fashionMnistToTensorData, readIdxImages } from "../src/data/idx.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import {
  cellKey,
  type CellResult,
  type CellSpec,
  cellSpec,
  readCell,
  readReconstructions,
  REFERENCE_METHOD,
  runCell,
  type StudySettings,
} from "./transfer/cells.ts";
import { writeLabelledGrid } from "./figures/mod.ts";
import {
  readSpread,
  runSpread,
  spreadGridRows,
  type SpreadMaps,
  spreadMarkdown,
  type SpreadRow,
} from "./transfer/spread.ts";
import { measurementImages } from "./transfer/grids.ts";
import { Progress } from "./progress.ts";
import {
  disposeModel,
  type LoadedModel,
  loadModel,
  methodLabel,
  type ModelInfo,
  parseModels,
  readModelInfo,
} from "./transfer/models.ts";
import {
  listProblems,
  parseProblemId,
  type Problem,
  problemId,
  type ProblemKind,
} from "./transfer/problems.ts";
import { fmtTime, gridFile, reportMarkdown } from "./transfer/report_page.ts";
import {
  resultsMarkdown,
  type StudyView,
  writeCsv,
  writePairedHeatMap,
  writePsnrVsM,
  writePsnrVsNfe,
} from "./transfer/report.ts";

const USAGE = `usage: deno run -A scripts/transfer-cs.ts --models name=path[,name=path…] [options]
  --models LIST      each path a run folder (config.json + network-ema.safetensors) or a .safetensors
  --config FILE      the models' configuration (JSON), for bare state_dicts that carry none
  --images PATH      IDX images (default: Fashion-MNIST t10k, else fixtures/fmnist)
  --count N          held-out images (32)
  --m LIST           Gaussian CS measurement counts (25,50,100,200; "" for none)
  --sr LIST          super-resolution factors (2,4; "" for none)
  --box LIST         box sides as fractions of the image side (0.25; "" for none)
  --steps N          DPS Heun steps of the main table (300)
  --nfe-sweep LIST   DPS steps of the NFE sweep (10,25,50,100; "" for none)
  --nfe-problem ID   problem of the sweep, e.g. cs-m100 (default: the middle CS problem)
  --zeta Z           likelihood step: a number, and/or per kind: cs=Z,sr=Z,box=Z (4)
  --sigma-y S        measurement noise in [-1, 1] units (0.05)
  --sigma-min S      smallest noise level of the DPS schedule (0.002, the paper's)
  --noise SPACE      image: y = A(x + σ_y n), the reference's (default); measurement: A x + σ_y n
  --mask M           A-DPS's M̃: per-image, seeded by the image (default) | per-batch
  --likelihood L     both: the likelihood step at both Heun stages (default) | first
  --norm N           ‖A D − y‖ per sample (default) | batch (the reference's, ζ ≈ √batch larger)
  --box-placement P  anywhere: boxes may cross the border (default) | inside
  --seeds LIST       experiment seeds (0)
  --batch N          images per DPS batch (16)
  --grid N           images per row of the image grids (8)
  --posterior-samples K  also K posterior draws per measurement (main steps, first seed): mean,
                     std and |error| grids and how well the std predicts the error (0: none)
  --backend B        cpu | webgpu | onnx | onnx-cuda (default: WebGPU on a hardware GPU, else onnx)
  --out DIR          output folder (out/transfer-cs)`;

exitOnUsageError();
const a = parseFlags({
  models: { type: "string" },
  config: { type: "string" },
  images: { type: "string" },
  count: { type: "string", default: "32" },
  m: { type: "string", default: "25,50,100,200" },
  sr: { type: "string", default: "2,4" },
  box: { type: "string", default: "0.25" },
  steps: { type: "string", default: "300" },
  "nfe-sweep": { type: "string", default: "10,25,50,100" },
  "nfe-problem": { type: "string" },
  zeta: { type: "string", default: "4" },
  "sigma-y": { type: "string", default: "0.05" },
  "sigma-min": { type: "string", default: "0.002" },
  noise: { type: "string", default: REFERENCE_METHOD.noise },
  mask: { type: "string", default: REFERENCE_METHOD.mask },
  likelihood: { type: "string", default: "both" },
  norm: { type: "string", default: REFERENCE_METHOD.norm },
  "box-placement": { type: "string", default: REFERENCE_METHOD.boxPlacement },
  seeds: { type: "string", default: "0" },
  batch: { type: "string", default: "16" },
  grid: { type: "string", default: "8" },
  "posterior-samples": { type: "string", default: "0" },
  backend: { type: "string" },
  out: { type: "string", default: "out/transfer-cs" },
  help: { type: "boolean", short: "h", default: false },
});
if (a.help || !a.models) {
  console.log(USAGE);
  Deno.exit(a.help ? 0 : 2);
}

/** A comma list of numbers; `int` requires positive integers. */
function numbers(v: string, flag: string, int = true): number[] {
  return v.split(",").filter((s) => s.trim() !== "").map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || (int && !(Number.isInteger(n) && n >= 0))) {
      throw new UsageError(
        `--${flag}: "${s}" is not ${int ? "a non-negative integer" : "a number"}`,
      );
    }
    return n;
  });
}

function one(v: string, flag: string, min = 1): number {
  const [n] = numbers(v, flag);
  if (n === undefined || n < min) throw new UsageError(`--${flag} must be an integer ≥ ${min}`);
  return n;
}

/** "4" or "cs=1,sr=4" or "4,cs=1": a default, then per-kind overrides. */
function parseZeta(v: string): Record<ProblemKind, number> {
  const z: Record<ProblemKind, number> = { cs: 4, sr: 4, box: 4 };
  for (const part of v.split(",").filter((s) => s.trim() !== "")) {
    const [k, val] = part.includes("=") ? part.split("=") : [null, part];
    const n = Number(val);
    if (!(n >= 0)) throw new UsageError(`--zeta: "${part}" has no non-negative number`);
    if (k === null) z.cs = z.sr = z.box = n;
    else if (k === "cs" || k === "sr" || k === "box") z[k] = n;
    else throw new UsageError(`--zeta: unknown problem kind "${k}" (cs, sr or box)`);
  }
  return z;
}

/** The value of a flag that takes one of a few words. */
function choice<T extends string>(v: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new Error(`--${flag}: "${v}" is not one of ${allowed.join(", ")}`);
  }
  return v as T;
}

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
async function defaultImages(): Promise<string> {
  const system = `${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`;
  return await Deno.stat(system).then(
    () => system,
    () => `${ROOT}fixtures/fmnist/t10k-images-idx3-ubyte.gz`,
  );
}

const specs = parseModels(a.models);
const imagesPath = a.images ?? await defaultImages();
const count = one(a.count, "count");
const steps = one(a.steps, "steps");
const seeds = numbers(a.seeds, "seeds");
const problems = listProblems(
  numbers(a.m, "m").filter((m) => m > 0),
  numbers(a.sr, "sr").filter((f) => f > 0),
  numbers(a.box, "box", false),
);
if (problems.length === 0) throw new UsageError("no problems: give --m, --sr or --box");
if (seeds.length === 0) throw new UsageError("--seeds: give at least one seed");
const cs = problems.filter((p) => p.kind === "cs");
const sweepSteps = numbers(a["nfe-sweep"], "nfe-sweep").filter((s) => s > 0);
const nfeProblem: Problem | null = sweepSteps.length === 0
  ? null
  : a["nfe-problem"]
  ? parseProblemId(a["nfe-problem"])
  : cs.length > 0
  ? cs[Math.floor(cs.length / 2)]
  : problems[0];
const sweep = nfeProblem ? [...new Set([...sweepSteps, steps])].sort((x, y) => x - y) : [];
const out = a.out;
const cellsDir = `${out}/cells`;

// Held-out images: 28×28 Fashion-MNIST is padded to 32×32 with the background, as in training.
const idx = await readIdxImages(imagesPath);
if (count > idx.count) {
  throw new UsageError(`--count ${count}: ${imagesPath} holds ${idx.count} images`);
}
const pad = idx.rows === 28 ? 2 : 0;
const shape: [number, number, number] = [1, idx.rows + 2 * pad, idx.cols + 2 * pad];
const per = shape[0] * shape[1] * shape[2];
const images = fashionMnistToTensorData(idx, { pad }).slice(0, count * per);
const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", images))]
  .map((b) => b.toString(16).padStart(2, "0")).join("");

const settings: StudySettings = {
  zeta: parseZeta(a.zeta),
  sigmaY: Number(a["sigma-y"]),
  sigmaMin: Number(a["sigma-min"]),
  batch: one(a.batch, "batch"),
  method: {
    noise: choice(a.noise, "noise", ["image", "measurement"] as const),
    mask: choice(a.mask, "mask", ["per-image", "per-batch"] as const),
    secondStageLikelihood: choice(a.likelihood, "likelihood", ["both", "first"] as const) ===
      "both",
    norm: choice(a.norm, "norm", ["sample", "batch"] as const),
    boxPlacement: choice(a["box-placement"], "box-placement", ["anywhere", "inside"] as const),
  },
  imagesDigest: digest,
  count,
  shape,
};
if (!(settings.sigmaY >= 0)) throw new UsageError(`--sigma-y must be ≥ 0, got ${a["sigma-y"]}`);
if (!(settings.sigmaMin > 0 && settings.sigmaMin < 80)) {
  throw new UsageError(`--sigma-min must be in (0, 80), got ${a["sigma-min"]}`);
}
const gridCount = Math.min(one(a.grid, "grid"), count);
const draws = one(a["posterior-samples"], "posterior-samples", 0);
if (draws === 1) throw new UsageError("--posterior-samples must be 0 (none) or ≥ 2 for a std");
for (const p of nfeProblem ? [...problems, nfeProblem] : problems) {
  const side = Math.min(shape[1], shape[2]);
  const bad = p.kind === "cs"
    ? p.m > per && `m = ${p.m} measurements exceed the ${per} pixels of an image`
    : p.kind === "sr"
    ? (shape[1] % p.factor !== 0 || shape[2] % p.factor !== 0) &&
      `factor ${p.factor} does not divide ${shape[1]}×${shape[2]} images`
    : !(p.p > 0 && p.p < 1 && Math.round(p.p * side) >= 1) &&
      `a box of ${p.p} of the side must lie in (0, 1) and cover a pixel`;
  if (bad) throw new UsageError(`${problemId(p)}: ${bad}`);
}
backendName(a.backend);
const infos: ModelInfo[] = [];
for (const s of specs) infos.push(await readModelInfo(s, a.config));

await Deno.mkdir(cellsDir, { recursive: true });
const backend = await selectBackend(a.backend);

// The plan: every model × problem × seed at the main steps, then the sweep; shared cells once.
const plan: { info: ModelInfo; spec: CellSpec }[] = [];
const seen = new Set<string>();
for (const info of infos) {
  const add = (p: Problem, seed: number, n: number) => {
    const spec = cellSpec(info, p, seed, n, settings);
    if (!seen.has(cellKey(spec))) plan.push({ info, spec });
    seen.add(cellKey(spec));
  };
  for (const p of problems) for (const seed of seeds) add(p, seed, steps);
  if (nfeProblem) { for (const n of sweep) for (const seed of seeds) add(nfeProblem, seed, n); }
}

console.log(
  `transfer study → ${out}: ${infos.length} model(s) × ${problems.length} problem(s) × ` +
    `${seeds.length} seed(s)${nfeProblem ? ` + NFE sweep on ${problemId(nfeProblem)}` : ""}` +
    ` = ${plan.length} cells; ${count} images ${shape.join("×")}; backend ${backend.name}`,
);
for (const m of infos) console.log(`  ${m.name}: ${methodLabel(m.config)} (${m.weights})`);

const results = new Map<string, CellResult>();
for (const { spec } of plan) {
  const r = await readCell(cellsDir, spec);
  if (r) results.set(r.key, r);
}
// Progress in units of work (images × DPS steps), so the ETA weighs cells by their cost.
const work = (s: CellSpec) => s.count * s.steps;
const progress = new Progress({
  label: "cells",
  total: plan.filter((c) => !results.has(cellKey(c.spec))).reduce((t, c) => t + work(c.spec), 0),
});
let doneWork = 0;
const computed: CellResult[] = [];
const describe = (s: CellSpec) =>
  `${s.model} ${problemId(s.problem)} seed ${s.seed} ${s.steps} steps`;
let k = 0;
for (const info of infos) {
  const mine = plan.filter((c) => c.info === info);
  for (const c of mine.filter((c) => results.has(cellKey(c.spec)))) {
    const r = results.get(cellKey(c.spec))!;
    console.log(
      `[${++k}/${plan.length}] ${describe(c.spec)}: cached (PSNR ${r.mean.psnr.toFixed(2)} dB)`,
    );
  }
  const todo = mine.filter((c) => !results.has(cellKey(c.spec)));
  if (todo.length === 0) continue;
  const model = await loadModel(info, shape, backend);
  try {
    for (const c of todo) {
      const r = await runCell(cellsDir, c.spec, model, images, settings, backend);
      results.set(r.key, r);
      computed.push(r);
      progress.log(
        `[${++k}/${plan.length}] ${describe(c.spec)}: PSNR ${r.mean.psnr.toFixed(2)} dB, ` +
          `SSIM ${r.mean.ssim.toFixed(3)}, NRMSE ${r.mean.nrmse.toFixed(3)} ` +
          `(NFE ${r.nfe}, ${fmtTime(r.seconds)})`,
      );
      progress.update(doneWork += work(c.spec));
    }
  } finally {
    disposeModel(model);
  }
}
progress.finish();

const cells = plan.map((c) => results.get(cellKey(c.spec))!);
const view: StudyView = { cells, models: infos, problems, steps, nfeProblem, sweep };
const enc = new TextEncoder();
await writeCsv(`${out}/results.csv`, cells);
await writeFileAtomic(`${out}/results.md`, enc.encode(resultsMarkdown(view)));
const psnrVsM = await writePsnrVsM(`${out}/psnr-vs-m`, view);
const psnrVsNfe = await writePsnrVsNfe(`${out}/psnr-vs-nfe`, view);
const paired = await writePairedHeatMap(`${out}/paired-difference`, view);

const grids: { problem: string; file: string }[] = [];
for (const p of problems) {
  const seed = seeds[0];
  const rows = [
    { label: "truth", images: images.slice(0, gridCount * per) },
    {
      label: "measured",
      images: await measurementImages(
        backend,
        p,
        shape,
        images,
        count,
        settings.batch,
        seed,
        settings.sigmaY,
        gridCount,
        settings.method,
      ),
    },
  ];
  let complete = true;
  for (const info of infos) {
    const key = cellKey(cellSpec(info, p, seed, steps, settings));
    const recon = await readReconstructions(cellsDir, key);
    complete &&= recon !== null;
    rows.push({
      label: info.name,
      images: recon?.slice(0, gridCount * per) ?? new Float32Array(gridCount * per).fill(NaN),
    });
  }
  const file = gridFile(problemId(p));
  // Committed studies keep cells/*.json but not the .f32 reconstructions: keep their grids.
  const kept = !complete && await Deno.stat(`${out}/${file}`).then(() => true, () => false);
  if (kept) console.log(`${file}: reconstructions not in ${cellsDir}; kept the existing grid`);
  else await writeLabelledGrid(`${out}/${file}`, rows, shape, { scale: 2 });
  grids.push({ problem: problemId(p), file });
}

// Posterior spread: K draws of each main-table cell of the first seed (cached like the cells).
const spreadRows: SpreadRow[] = [];
const spreadGrids = new Map<string, string>();
if (draws > 0) {
  const spreads = new Map<string, SpreadMaps>();
  const cachedSpreads = new Map<string, SpreadMaps>();
  for (const info of infos) {
    for (const p of problems) {
      const spec = cellSpec(info, p, seeds[0], steps, settings);
      const r = await readSpread(cellsDir, spec, draws, images);
      if (r) cachedSpreads.set(cellKey(spec), r);
    }
  }
  // Progress in units of images × DPS steps × draws, as for the cells above.
  const drawWork = (s: CellSpec) => s.count * s.steps * draws;
  const spreadProgress = new Progress({
    label: "posterior draws",
    total: infos.flatMap((info) =>
      problems.map((p) => cellSpec(info, p, seeds[0], steps, settings))
    )
      .filter((s) => !cachedSpreads.has(cellKey(s))).reduce((t, s) => t + drawWork(s), 0),
  });
  let drawn = 0;
  for (const info of infos) {
    let model: LoadedModel | null = null;
    try {
      for (const p of problems) {
        const spec = cellSpec(info, p, seeds[0], steps, settings);
        let r = cachedSpreads.get(cellKey(spec)) ?? null;
        if (r) console.log(`spread ${describe(spec)} K=${draws}: cached`);
        else {
          model ??= await loadModel(info, shape, backend);
          const before = drawn;
          r = await runSpread(
            cellsDir,
            spec,
            draws,
            model,
            images,
            settings,
            backend,
            (n) => spreadProgress.update(before + n * spec.steps * draws),
          );
          drawn = before + drawWork(spec);
          spreadProgress.log(`spread ${describe(spec)} K=${draws}: ${fmtTime(r.seconds)}`);
        }
        spreads.set(`${info.name} ${problemId(p)}`, r);
        spreadRows.push({
          model: info.name,
          problem: problemId(p),
          spread: r,
          cellPsnr: results.get(cellKey(spec))!.perImage.map((m) => m.psnr),
        });
      }
    } finally {
      if (model) disposeModel(model);
    }
  }
  spreadProgress.finish();
  for (const p of problems) {
    const file = `spread-${problemId(p)}.png`;
    const models = infos.map((m) => ({
      name: m.name,
      maps: spreads.get(`${m.name} ${problemId(p)}`)!,
    }));
    await writeLabelledGrid(
      `${out}/${file}`,
      spreadGridRows(images, models, per, gridCount),
      shape,
      { scale: 2 },
    );
    spreadGrids.set(problemId(p), file);
  }
}

const command = ["deno run -A scripts/transfer-cs.ts", ...Deno.args].join(" ");
await writeFileAtomic(
  `${out}/report.md`,
  enc.encode(
    reportMarkdown({
      view,
      settings,
      command,
      imagesPath,
      seeds,
      backend: backend.name,
      figures: { psnrVsM, psnrVsNfe, paired, grids },
      computed,
    }) + (draws > 0 ? "\n" + spreadMarkdown(spreadRows, draws, spreadGrids) : ""),
  ),
);
console.log(
  `done: ${plan.length} cells (${plan.length - computed.length} cached, ${computed.length} ` +
    `computed); ${out}/report.md, results.csv, results.md, ` +
    [
      psnrVsM && "psnr-vs-m.svg",
      psnrVsNfe && "psnr-vs-nfe.svg",
      paired && "paired-difference.svg",
      ...grids.map((g) => g.file),
      ...spreadGrids.values(),
    ]
      .filter(Boolean).join(", "),
);
