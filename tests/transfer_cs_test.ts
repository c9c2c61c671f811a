/**
 * scripts/transfer-cs.ts end to end on two tiny models (one ambient, one clean) trained for
 * a few steps on the fixture: every output file is written, results.csv has one row per
 * cell, a rerun computes nothing, and a changed setting recomputes exactly the cells it
 * touches. WebGPU where an adapter exists, else the CPU twin.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { train } from "../src/train/train.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as tinyInpaint } from "../tasks/tiny-inpaint.ts";
import type { CellResult } from "../scripts/transfer/cells.ts";
import { pairedDifference } from "../scripts/transfer/report.ts";
import { spreadCalibration } from "../scripts/transfer/spread.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const FIXTURES = `${ROOT}fixtures/fmnist`;
const gpu = hasGpu && Deno.env.get("ADPS_BACKEND") !== "cpu" ? await gpuOrSkip() : null;
if (gpu) gpu.poison = false;
const backend: Backend = gpu ?? cpuBackend();

/** Trains the tiny task for a few steps into `out`. */
async function trainTiny(out: string, over: Partial<TrainConfig>): Promise<void> {
  const config: TrainConfig = {
    ...structuredClone(tinyInpaint),
    data: { kind: "fmnist", dir: FIXTURES, limit: 32 },
    steps: 2,
    batch: 4,
    logEvery: 1,
    checkpointEvery: 2,
    sampleEvery: 0,
    sampleCount: 1,
    sampleSteps: 2,
    ...over,
  };
  const s = await train(config, await loadDataset(config.data), { out, backend });
  for (const t of new Set([...s.params.values(), ...s.ema.values()])) t.dispose();
  s.adam.dispose();
}

/** One run of the script; fails the test on a non-zero exit. */
async function study(args: string[]): Promise<string> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/transfer-cs.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).output();
  const text = new TextDecoder().decode(o.stdout);
  assert.equal(o.code, 0, `transfer-cs failed:\n${text}\n${new TextDecoder().decode(o.stderr)}`);
  return text;
}

/** name → modification time of every file in a folder. */
async function mtimes(dir: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for await (const e of Deno.readDir(dir)) {
    m.set(e.name, (await Deno.stat(`${dir}/${e.name}`)).mtime!.getTime());
  }
  return m;
}

/** RFC 4180 fields: quoted fields may hold commas (the backend's name does). */
function parseCsv(text: string): Record<string, string>[] {
  const split = (line: string) =>
    [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)]
      .filter((m, i, all) => i < all.length - 1 || m[0] !== "")
      .map((m) => m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
  const [head, ...rows] = text.trim().split("\n").map(split);
  assert.ok(rows.every((r) => r.length === head.length), "ragged CSV");
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

Deno.test("transfer-cs: outputs, one row per cell, resumable, keyed by its settings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-transfer-" });
  try {
    await trainTiny(`${dir}/amb`, {});
    await trainTiny(`${dir}/clean`, { ambient: false, corruption: { p: 0, delta: 0 } });
    const out = `${dir}/study`;
    // The clean model by its bare weights file: the config then comes from the metadata.
    const args = [
      "--models",
      `amb=${dir}/amb,clean=${dir}/clean/network-ema.safetensors`,
      "--images",
      `${FIXTURES}/t10k-images-idx3-ubyte.gz`,
      "--count",
      "2",
      "--m",
      "20",
      "--sr",
      "2",
      "--box",
      "0.25",
      "--steps",
      "3",
      "--nfe-sweep",
      "2,3",
      "--seeds",
      "0",
      "--backend",
      gpu ? "webgpu" : "cpu",
      "--out",
      out,
    ];
    const first = await study(args);
    assert.match(first, /8 cells \(0 cached, 8 computed\)/);
    assert.match(first, /^cells \d+\/\d+, [\d.ms]+ elapsed, ETA [\d.ms]+$/m);

    const charts = ["psnr-vs-m", "psnr-vs-nfe", "paired-difference"];
    const linked = [
      "results.csv",
      "results.md",
      ...charts.map((c) => `${c}.svg`),
      "grid-cs-m20.png",
      "grid-sr-x2.png",
      "grid-box-0.25.png",
    ];
    const files = [
      "report.md",
      ...linked,
      ...charts.flatMap((c) => [`${c}.png`, `${c}.vl.json`]),
    ];
    for (const f of files) {
      const bytes = await Deno.readFile(`${out}/${f}`);
      assert.ok(bytes.length > 0, `${f} is empty`);
      if (f.endsWith(".png")) {
        assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${f} is not a PNG`);
      }
    }
    const report = await Deno.readTextFile(`${out}/report.md`);
    for (const f of linked) assert.ok(report.includes(`(${f})`), `report.md does not link ${f}`);
    // The charts carry error bars: both models' intervals are in the PSNR-vs-m spec's data.
    const spec = JSON.parse(await Deno.readTextFile(`${out}/psnr-vs-m.vl.json`));
    const points = spec.data.values as { series: string; y: number; lo: number; hi: number }[];
    assert.deepEqual([...new Set(points.map((p) => p.series))], ["amb", "clean"]);
    for (const p of points) assert.ok(p.lo < p.y && p.y < p.hi, JSON.stringify(p));
    assert.match(report, /A-DPS \(ambient, p = 0\.6, δ = 0\.1\)/);
    assert.match(report, /FS-DPS \(clean\)/);

    // Main table: 2 models × 3 problems at 3 steps; sweep adds 2 steps on cs-m20 per model.
    const csv = await Deno.readTextFile(`${out}/results.csv`);
    const rows = parseCsv(csv);
    const got = rows.map((r) => `${r.model} ${r.problem} ${r.steps} ${r.method}`).sort();
    const want = [
      ...["amb", "clean"].flatMap((m) => ["cs-m20", "sr-x2", "box-0.25"].map((p) => `${m} ${p} 3`)),
      "amb cs-m20 2",
      "clean cs-m20 2",
    ].map((s) => `${s} ${s.startsWith("amb") ? "A-DPS" : "FS-DPS"}`).sort();
    assert.deepEqual(got, want);
    for (const r of rows) {
      assert.equal(Number(r.nfe), 2 * Number(r.steps) - 1, `NFE of ${r.key}`);
      assert.equal(Number(r.vjps), 2 * Number(r.steps) - 1, `VJPs of ${r.key}`);
      assert.equal(r.count, "2");
      assert.match(
        r.key,
        new RegExp(`^${r.model}_${r.problem}_seed0_steps${r.steps}_[0-9a-f]{8}$`),
      );
      for (const k of ["psnr", "ssim", "nrmse"]) {
        assert.ok(Number.isFinite(Number(r[k])), `${r.key}: ${k} = ${r[k]}`);
      }
    }
    const md = await Deno.readTextFile(`${out}/results.md`);
    assert.match(md, /\| problem \| amb \| clean \|/);
    assert.match(md, /\| Gaussian CS, m = 20 \| -?\d+\.\d\d \/ -?\d\.\d{3} \| -?\d+\.\d\d \//);
    assert.match(md, /## Ambient minus clean/);
    assert.match(md, /\| Gaussian CS, m = 20 \| [+−]\d+\.\d\d ± \d+\.\d\d \([0-2]\/2\) \|/);

    // A rerun finds every cell cached and rewrites none of them.
    const before = await mtimes(`${out}/cells`);
    assert.equal(before.size, 16, `cells/: ${[...before.keys()]}`);
    const second = await study(args);
    assert.match(second, /8 cells \(8 cached, 0 computed\)/);
    assert.deepEqual(await mtimes(`${out}/cells`), before);
    assert.equal(await Deno.readTextFile(`${out}/results.csv`), csv);

    // A new ζ for CS recomputes the CS cells only (both models, 2 and 3 steps).
    const third = await study([...args, "--zeta", "cs=2"]);
    assert.match(third, /8 cells \(4 cached, 4 computed\)/);
    const rows3 = parseCsv(await Deno.readTextFile(`${out}/results.csv`));
    for (const r of rows3) assert.equal(r.zeta, r.kind === "cs" ? "2" : "4", r.key);

    // Posterior spread on the cached cells: K = 2 draws per main cell, cached like the cells.
    const fourth = await study([...args, "--posterior-samples", "2"]);
    assert.match(fourth, /8 cells \(8 cached, 0 computed\)/);
    assert.equal(fourth.match(/^spread .* K=2: [\d.ms]+$/gm)?.length, 6, fourth);
    const spreadReport = await Deno.readTextFile(`${out}/report.md`);
    assert.match(spreadReport, /## Posterior spread \(K = 2 draws\)/);
    for (const p of ["cs-m20", "sr-x2", "box-0.25"]) {
      const bytes = await Deno.readFile(`${out}/spread-${p}.png`);
      assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `spread-${p}.png`);
      assert.ok(spreadReport.includes(`(spread-${p}.png)`), `report.md does not link ${p}`);
      for (const m of ["amb", "clean"]) {
        const row = spreadReport.match(new RegExp(`^\\| ${m} \\| ${p} \\| (.*) \\|$`, "m"));
        assert.ok(row, `no spread row for ${m} ${p}`);
        const [one, mean, corr, cover, fore] = row[1].split(" | ").map((c) =>
          Number(c.split(" ± ")[0])
        );
        assert.ok(fore >= 0 && fore <= 1, `foreground coverage: ${row[0]}`);
        assert.ok(Number.isFinite(one) && Number.isFinite(mean), row[0]);
        assert.ok(corr >= -1 && corr <= 1 && cover >= 0 && cover <= 1, row[0]);
      }
    }
    const fifth = await study([...args, "--posterior-samples", "2"]);
    assert.equal(fifth.match(/^spread .* K=2: cached$/gm)?.length, 6, fifth);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("transfer-cs: paired differences pair images by seed and index", () => {
  const cell = (seed: number, psnr: number[]) =>
    ({
      spec: { seed },
      perImage: psnr.map((p) => ({ psnr: p, ssim: 0, nrmse: 0 })),
    }) as unknown as CellResult;
  // Differences 1, 0, −1, +2 once the seeds are put in order: mean 0.5, sd √(5/3).
  const d = pairedDifference(
    [cell(1, [20, 20]), cell(0, [10, 12])],
    [cell(0, [9, 12]), cell(1, [21, 18])],
  );
  assert.ok(d);
  assert.equal(d.mean, 0.5);
  assert.ok(Math.abs(d.se - Math.sqrt(5 / 3) / 2) < 1e-12, `se ${d.se}`);
  assert.equal(d.wins, 2);
  assert.equal(d.n, 4);
  assert.equal(pairedDifference([cell(0, [1, 2])], [cell(0, [1])]), null);
});

Deno.test("transfer-cs: spread calibration is the per-image correlation and ±2 std coverage", () => {
  // Image 0: errors 1, 2, 3, 4 against stds 0.5, 1, 1.5, 2 → corr 1, all inside 2 std.
  // Image 1: errors 1, 0, 1, 0 against stds 0, 1, 0, 1 → corr −1, half inside; constant std → NaN.
  // Image 2: background truth (−1) with errors 2.5 outside 2 std; its foreground all inside.
  const truth = [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0];
  const mean = [1, -2, 3, 4, 1, 0, -1, 0, 1, 1, 1, 1];
  mean[8] = mean[9] = 1.5;
  const std = [0.5, 1, 1.5, 2, 0, 1, 0, 1, 1, 1, 1, 1];
  const [a, b, c] = spreadCalibration(truth, mean, std, 4);
  assert.ok(Math.abs(a.corr - 1) < 1e-12, `corr ${a.corr}`);
  assert.equal(a.coverage, 1);
  assert.ok(Math.abs(b.corr + 1) < 1e-12, `corr ${b.corr}`);
  assert.equal(b.coverage, 0.5);
  assert.ok(Number.isNaN(c.corr), `corr ${c.corr}`);
  assert.equal(c.coverage, 0.5);
  assert.equal(c.foregroundCoverage, 1);
  assert.equal(a.foregroundCoverage, 1);
  assert.equal(b.foregroundCoverage, 0.5);
});
