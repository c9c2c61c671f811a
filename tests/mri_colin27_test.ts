/**
 * docs/mri-colin27 is what `deno task mri:sweep` computes: its classical cells (zero-filled at
 * every R_inf, L1-wavelet at the largest) are recomputed here from the committed held-out
 * slices with the recorded settings and must match the committed table (the DPS cells take
 * minutes each; run.json holds the command that recomputes them all). CPU backend; the study
 * ran on WebGPU, so the tolerance is 0.01 dB.
 */
import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { mriBatchMetricsFromArrays } from "../src/metrics/mri.ts";
import { readHeldOut, type ReconSettings, reconstruct } from "../scripts/mri/recon.ts";
import { meanSe } from "../scripts/mri/report.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const DOC = `${ROOT}docs/mri-colin27`;

Deno.test("docs/mri-colin27: the classical cells reproduce from the committed held-out slices", async () => {
  const run = JSON.parse(await Deno.readTextFile(`${DOC}/run.json`)) as {
    data: string;
    slices: number[];
    rs: number[];
    settings: ReconSettings;
  };
  const [head, ...rows] = (await Deno.readTextFile(`${DOC}/results.csv`)).trim().split("\n")
    .map((l) => l.split(","));
  const col = (name: string) => head.indexOf(name);
  const committed = (series: string, r: number) => {
    const row = rows.find((x) => x[col("series")] === series && Number(x[col("r_inf")]) === r);
    assert.ok(row, `${series} at R_inf ${r} is in results.csv`);
    return Number(row[col("psnr")]);
  };
  const data = await readHeldOut(`${ROOT}${run.data}`, run.slices);
  const [, h, w] = data.dims;
  const b = cpuBackend();
  const cells: [string, "zero-filled" | "L1-wavelet", number][] = [
    ...run.rs.map((r) => ["zero-filled", "zero-filled", r] as [string, "zero-filled", number]),
    ["L1-wavelet", "L1-wavelet", Math.max(...run.rs)],
  ];
  for (const [series, method, r] of cells) {
    const x = await reconstruct(method, null, data, r, run.settings, b);
    const m = mriBatchMetricsFromArrays(data.gt, x.x, [data.slices.length, 2, h, w]).perImage;
    const psnr = meanSe(m.map((v) => v.psnr)).mean;
    const want = committed(series, r);
    assert.ok(Math.abs(psnr - want) < 0.01, `${series} R_inf ${r}: ${psnr} dB, committed ${want}`);
  }
});
