/**
 * Reconstructs held-out MRI slices at one R_inf with every method that fits the given prior
 * (Aali et al. 2024, §4–6): A-DPS and A-OS for an ambient prior, FS-DPS for a fully sampled
 * one, and zero-filled, SENSE and L1-wavelet; prints PSNR / SSIM / NRMSE per method (on
 * magnitudes, docs/method.md §6) and writes a grid with error maps. `--posterior-samples K`
 * draws K posterior samples per slice and writes their mean, std and |error| maps, with the
 * per-slice correlation of std with the error and the coverage of mean ± 2 std.
 *
 * ```
 * deno run -A scripts/mri-recon.ts --model fixtures/models/mri-r4 --data fixtures/mri/sim-64x56-held-out.h5 --r 6
 * ```
 */
import { selectBackend } from "../src/core/select_backend.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { magnitude, mriBatchMetricsFromArrays } from "../src/metrics/mri.ts";
import { exitOnUsageError, numberFlag, parseFlags, UsageError } from "./cli.ts";
import { writeLabelledGrid } from "./figures/mod.ts";
import { Progress } from "./progress.ts";
import { intList, parseModelPaths, studyAcs } from "./mri/plan.ts";
import {
  type MriMethod,
  posteriorSpread,
  readHeldOut,
  type ReconSettings,
  reconstruct,
} from "./mri/recon.ts";
import { ERROR_WHITE, meanSe } from "./mri/report.ts";
import { showErrors, showMagnitudes } from "./mri/images.ts";
import { disposeModel, loadModel, readModelInfo } from "./transfer/models.ts";
import { spreadCalibration } from "./transfer/spread.ts";

const USAGE = `usage: deno run -A scripts/mri-recon.ts --model DIR --data FILE|DIR --r R [options]
  --model DIR            an MRI prior (run folder); ambient: A-DPS and A-OS, fully sampled: FS-DPS
  --data FILE|DIR        held-out slices: fastMRI-layout .h5 with maps and ground truth, or a
                         folder with held-out.h5
  --r R                  inference acceleration R_inf (6)
  --slices LIST          slice indices (default: all)
  --steps N              DPS steps (500, the reference's)
  --seed S               seed of M_inf, M̃ and the initial noise (0)
  --acs N                ACS columns of M_inf (default: the prior's training ACS)
  --lambda L             L1-wavelet λ (0.005)
  --batch N              slices per sampler run (8)
  --posterior-samples K  K posterior draws per slice: mean, std and |error| maps, calibration
  --backend B            cpu | webgpu (default: WebGPU where available)
  --out DIR              output folder (out/mri-recon)`;

exitOnUsageError();
const a = parseFlags({
  model: { type: "string" },
  data: { type: "string" },
  r: { type: "string", default: "6" },
  slices: { type: "string" },
  steps: { type: "string", default: "500" },
  seed: { type: "string", default: "0" },
  acs: { type: "string" },
  lambda: { type: "string", default: "0.005" },
  batch: { type: "string", default: "8" },
  "posterior-samples": { type: "string" },
  backend: { type: "string" },
  out: { type: "string", default: "out/mri-recon" },
  help: { type: "boolean" },
});
if (a.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!a.model) throw new UsageError("--model DIR is required (--help lists the flags)");
if (!a.data) throw new UsageError("--data FILE|DIR is required (--help lists the flags)");
const rInf = numberFlag(a.r, "r", "positive")!;
const steps = numberFlag(a.steps, "steps", "positive")!;
const seed = numberFlag(a.seed, "seed", "int")!;
const lambda = numberFlag(a.lambda, "lambda")!;
const batch = numberFlag(a.batch, "batch", "positive")!;
const k = numberFlag(a["posterior-samples"], "posterior-samples", "positive");
if (k !== undefined && k < 2) throw new UsageError("--posterior-samples needs K ≥ 2 draws");

const data = await readHeldOut(
  a.data,
  a.slices === undefined ? undefined : intList(a.slices, "slices", 0),
);
const [info] = await Promise.all(parseModelPaths(a.model).map((s) => readModelInfo(s)));
const [c, h, w] = data.dims;
const acs = numberFlag(a.acs, "acs", "positive") ?? studyAcs([info], w);
const settings: ReconSettings = { steps, seed, acs, lambda, batch };
const backend = await selectBackend(a.backend);
const out = a.out!;
await Deno.mkdir(out, { recursive: true });
const dps: MriMethod = info.config.ambient ? "A-DPS" : "FS-DPS";
const methods: MriMethod[] = info.config.ambient
  ? ["A-DPS", "A-OS", "zero-filled", "SENSE", "L1-wavelet"]
  : ["FS-DPS", "zero-filled", "SENSE", "L1-wavelet"];
const n = data.slices.length;
console.log(
  `${info.name} at R_inf ${rInf}: ${n} slices ${h}×${w}, ${c} coils (${data.label}); ` +
    `${steps} DPS steps, ACS ${acs}; backend ${backend.name}`,
);

const model = await loadModel(info, [2, h, w], backend);
const hw = h * w;
const recons = new Map<MriMethod, Float32Array>();
const rows: Record<string, unknown>[] = [];
try {
  for (const method of methods) {
    const t0 = performance.now();
    const progress = new Progress({ label: method, total: n });
    const r = await reconstruct(
      method,
      model,
      data,
      rInf,
      settings,
      backend,
      (d) => progress.update(d),
    );
    progress.finish();
    recons.set(method, r.x);
    const m = mriBatchMetricsFromArrays(data.gt, r.x, [n, 2, h, w]).perImage;
    const [p, s, e] = (["psnr", "ssim", "nrmse"] as const).map((x) => meanSe(m.map((v) => v[x])));
    rows.push({
      method,
      nfe: r.nfe,
      psnr: p,
      ssim: s,
      nrmse: e,
      perSlice: m,
      seconds: (performance.now() - t0) / 1000,
    });
  }
  if (k !== undefined) {
    const t0 = performance.now();
    const spread = await posteriorSpread(dps, model, data, rInf, settings, k, backend);
    await writeSpread(spread.mean, spread.std, (performance.now() - t0) / 1000);
  }
} finally {
  disposeModel(model);
}

/** Mean, std and |error| maps of the posterior draws, and how well the std predicts the error. */
async function writeSpread(mean: Float32Array, std: Float32Array, seconds: number) {
  // Per pixel: |gt|, |mean| and the std of the complex value √(std_re² + std_im²).
  const truth = new Float32Array(n * hw), mag = new Float32Array(n * hw);
  const sd = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    truth.set(magnitude(data.gt.subarray(2 * i * hw, 2 * (i + 1) * hw)), i * hw);
    mag.set(magnitude(mean.subarray(2 * i * hw, 2 * (i + 1) * hw)), i * hw);
    for (let p = 0; p < hw; p++) {
      sd[i * hw + p] = Math.hypot(std[2 * i * hw + p], std[(2 * i + 1) * hw + p]);
    }
  }
  const calibration = spreadCalibration(truth, mag, sd, hw);
  const metrics = mriBatchMetricsFromArrays(data.gt, mean, [n, 2, h, w]).perImage;
  const corr = meanSe(calibration.map((x) => x.corr).filter(Number.isFinite));
  const coverage = meanSe(calibration.map((x) => x.coverage));
  console.log(
    `${dps}, K = ${k} posterior draws: PSNR of the mean ${
      meanSe(metrics.map((m) => m.psnr)).mean.toFixed(2)
    } dB; ` +
      `corr(std, |error|) ${corr.mean.toFixed(3)} ± ${corr.se.toFixed(3)}, coverage of ` +
      `mean ± 2 std ${coverage.mean.toFixed(3)} ± ${
        coverage.se.toFixed(3)
      } (mean ± SE over slices)`,
  );
  const gridRows = [];
  for (let i = 0; i < n; i++) {
    const top = Math.max(...truth.subarray(i * hw, (i + 1) * hw));
    const white = ERROR_WHITE * top;
    const scaled = (v: Float32Array) =>
      Float32Array.from(v.subarray(i * hw, (i + 1) * hw), (x) => Math.min(1, (2 * x) / white - 1));
    const err = Float32Array.from(
      { length: hw },
      (_, p) => Math.abs(mag[i * hw + p] - truth[i * hw + p]),
    );
    const row = new Float32Array(4 * hw);
    row.set(showMagnitudes(data.gt.subarray(2 * i * hw), 1, hw, top));
    row.set(showMagnitudes(mean.subarray(2 * i * hw), 1, hw, top), hw);
    row.set(scaled(sd), 2 * hw);
    row.set(scaled(err), 3 * hw);
    gridRows.push({ label: `slice ${data.slices[i]}`, images: row });
  }
  await writeLabelledGrid(`${out}/posterior.png`, gridRows, [1, h, w], {
    columns: ["truth", "mean", "std", "|error|"],
  });
  await writeFileAtomic(
    `${out}/posterior.json`,
    new TextEncoder().encode(
      JSON.stringify(
        { method: dps, k, seconds, perSlice: calibration, psnrOfMean: metrics },
        null,
        1,
      ) + "\n",
    ),
  );
}

// Grid: per slice the truth, then each method's magnitude and error map.
const gridRows = [];
for (let i = 0; i < n; i++) {
  const g = data.gt.subarray(2 * i * hw, 2 * (i + 1) * hw);
  const top = Math.max(...magnitude(g));
  const row = new Float32Array((1 + 2 * methods.length) * hw);
  row.set(showMagnitudes(g, 1, hw, top));
  methods.forEach((m, j) => {
    const x = recons.get(m)!.subarray(2 * i * hw, 2 * (i + 1) * hw);
    row.set(showMagnitudes(x, 1, hw, top), (1 + 2 * j) * hw);
    row.set(showErrors(g, x, 1, hw, ERROR_WHITE * top), (2 + 2 * j) * hw);
  });
  gridRows.push({ label: `slice ${data.slices[i]}`, images: row });
}
await writeLabelledGrid(`${out}/recon-R${rInf}.png`, gridRows, [1, h, w], {
  columns: ["truth", ...methods.flatMap((m) => [m, "|error|"])],
});
const md = [
  `| method | PSNR (dB) | SSIM | NRMSE | NFE |`,
  `|---|---|---|---|---|`,
  ...rows.map((r) => {
    const f = (m: unknown, d: number) => {
      const v = m as { mean: number; se: number };
      return `${v.mean.toFixed(d)} ± ${v.se.toFixed(d)}`;
    };
    return `| ${r.method} | ${f(r.psnr, 2)} | ${f(r.ssim, 4)} | ${f(r.nrmse, 4)} | ${r.nfe} |`;
  }),
].join("\n");
await writeFileAtomic(
  `${out}/metrics.json`,
  new TextEncoder().encode(
    JSON.stringify(
      {
        command: `deno run -A scripts/mri-recon.ts ${Deno.args.join(" ")}`,
        data: data.label,
        model: { name: info.name, digest: info.digest },
        rInf,
        settings,
        slices: data.slices,
        methods: rows,
      },
      null,
      1,
    ) + "\n",
  ),
);
console.log(`${md}\n(mean ± standard error over ${n} slices; magnitudes; ${data.label})`);
