/**
 * scripts/mri-sweep.ts and scripts/mri-recon.ts end to end on tiny randomly initialised MRI
 * priors (a fully sampled one and an ambient R = 2 one) saved as run folders, and a tiny
 * simulated held-out file made here: the sweep writes its table, plot and grids; a rerun
 * computes nothing (every cell a cache hit); a changed step count recomputes only the DPS
 * cells; two shards merged give the same table, byte for byte, as one run; bad flags print one
 * line with status 2; mri-recon prints every method and writes posterior maps. CPU backend
 * (the samplers themselves are tested on both backends in mri_dps_test.ts).
 */
import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { tidy } from "../src/core/scope.ts";
import { Rng } from "../src/core/rng.ts";
import { writeFastMri } from "../src/data/fastmri.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { saveNetwork } from "../src/train/checkpoint.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { mriTask } from "../tasks/mri.ts";
import { buildNetwork } from "../src/train/train.ts";
import { meanSe } from "../scripts/mri/report.ts";
import { parseShard, shardCells } from "../scripts/mri/plan.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const [S, C, H, W] = [4, 2, 8, 16];
const ACS = 2;

/** Held-out slices: random maps with Σ_c |S_c|² = 1 (as simulated ones) and images, k = F S x. */
async function writeHeldOut(path: string) {
  const b = cpuBackend("f64");
  const rng = new Rng(5);
  const maps = rng.normals(S * C * 2 * H * W, 0.5);
  const hw = H * W;
  for (let s = 0; s < S; s++) {
    for (let p = 0; p < hw; p++) {
      const at = (c: number, part: number) => ((s * C + c) * 2 + part) * hw + p;
      let norm = 0;
      for (let c = 0; c < C; c++) norm += maps[at(c, 0)] ** 2 + maps[at(c, 1)] ** 2;
      for (let c = 0; c < C; c++) for (const part of [0, 1]) maps[at(c, part)] /= Math.sqrt(norm);
    }
  }
  const gt = rng.normals(S * 2 * H * W, 0.5);
  using op = new MultiCoilFourier(b.fromArray(maps, [S, C, 2, H, W]), b.full([1, W], 1));
  using k = tidy(() => op.forward(b.fromArray(gt, [S, 2, H, W])));
  await writeFastMri(path, {
    kspace: Float32Array.from(await k.toArray()),
    dims: [S, C, H, W],
    rss: new Float32Array(S * H * W),
    header: "<ismrmrdHeader/>",
    maps: Float32Array.from(maps),
    groundTruth: Float32Array.from(gt),
    attrs: { data: "simulated k-space" },
  });
}

/** A run folder holding a randomly initialised MRI prior trained (nominally) at R. */
async function writePrior(dir: string, r: number) {
  // The task's network made smaller (4 in / 4 out ambient, 2 / 2 fully sampled).
  const task = mriTask(r);
  const config: TrainConfig = {
    ...task,
    data: { kind: "mri", dir: "unused", r, acs: ACS, size: [H, W] },
    network: { ...task.network, modelChannels: 8, channelMult: [1, 1] },
  };
  await Deno.mkdir(dir, { recursive: true });
  const params = buildNetwork(config, [2, H, W]).model.registry.materialize(cpuBackend(), r);
  await saveNetwork(`${dir}/network-ema.safetensors`, params, {});
  for (const t of params.values()) t.dispose();
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
}

/** Runs a script; returns status and output. */
async function run(script: string, args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

/** Runs the sweep and fails the test on a non-zero status. */
async function sweep(args: string[]): Promise<string> {
  const r = await run("scripts/mri-sweep.ts", args);
  assert.equal(r.code, 0, `mri-sweep failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** name → modification time of every file in a folder. */
async function mtimes(dir: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for await (const e of Deno.readDir(dir)) {
    m.set(e.name, (await Deno.stat(`${dir}/${e.name}`)).mtime!.getTime());
  }
  return m;
}

Deno.test("mri-sweep: table, plot, grids; resumes from its cache; shards merge to the same table; bad flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-mri-sweep-" });
  try {
    await writeHeldOut(`${dir}/held-out.h5`);
    await writePrior(`${dir}/mri-r1`, 1);
    await writePrior(`${dir}/mri-r2`, 2);
    const common = [
      "--models",
      `${dir}/mri-r1,${dir}/mri-r2`,
      "--data",
      `${dir}/held-out.h5`,
      "--r",
      "2,4",
      "--steps",
      "3",
      "--batch",
      "3",
      "--grid-slices",
      "2",
      "--backend",
      "cpu",
    ];
    const full = `${dir}/full`;
    await sweep([...common, "--out", full]);
    for (
      const f of [
        "results.md",
        "results.csv",
        "psnr-vs-r.png",
        "psnr-vs-r.svg",
        "grid-R2.png",
        "grid-R4.png",
        "run.json",
      ]
    ) {
      assert.ok((await Deno.stat(`${full}/${f}`)).size > 0, `${f} written`);
    }
    const csvText = await Deno.readTextFile(`${full}/results.csv`);
    const csv = csvText.trim().split("\n");
    // FS-DPS, A-DPS, A-OS, L1-wavelet, zero-filled × R_inf 2, 4.
    assert.equal(csv.length, 1 + 5 * 2, csv.join("\n"));
    const md = await Deno.readTextFile(`${full}/results.md`);
    assert.match(md, /\| A-DPS \(R_train 2\)\s+\| [\d.]+ ± [\d.]+\s+\| [\d.]+ ± [\d.]+\s+\|/);
    assert.match(md, /## Against FS-DPS \(fully sampled\), slice by slice/);
    assert.match(md, /simulated k-space, 4 held-out slices/);
    // Written as `deno fmt` leaves them, so a committed report passes `deno fmt --check`.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--check", "--no-config", "--line-width", "100", `${full}/results.md`],
    }).output();
    assert.equal(fmt.code, 0, "results.md is formatted");
    const cells = await mtimes(`${full}/cells`);
    assert.equal(cells.size, 2 * 10, "a .json and a .f32 per cell");

    // A rerun is all cache hits: no cell file is written again.
    await sweep([...common, "--out", full]);
    assert.deepEqual(await mtimes(`${full}/cells`), cells, "nothing recomputed");
    assert.equal(await Deno.readTextFile(`${full}/results.md`), md);

    // More steps: only the DPS cells (FS-DPS and A-DPS at two R_inf) are new.
    await sweep([...common.map((v, i) => (common[i - 1] === "--steps" ? "4" : v)), "--out", full]);
    const after = await mtimes(`${full}/cells`);
    assert.equal(after.size, cells.size + 2 * 4, "4 new DPS cells");
    for (const [name, t] of cells) assert.equal(after.get(name), t, `${name} kept`);

    // Two shards and a merge give the unsharded run's table, byte for byte.
    await sweep([...common, "--shard", "1/2", "--out", `${dir}/s1`]);
    await sweep([...common, "--shard", "2/2", "--out", `${dir}/s2`]);
    const n1 = (await mtimes(`${dir}/s1/cells`)).size, n2 = (await mtimes(`${dir}/s2/cells`)).size;
    assert.equal(n1 + n2, cells.size, "the shards split the cells");
    assert.ok(n1 > 0 && n2 > 0);
    await Deno.stat(`${dir}/s1/results.md`).then(
      () => assert.fail("a shard writes no report"),
      () => {},
    );
    await sweep([...common, "--merge", `${dir}/s1,${dir}/s2`, "--out", `${dir}/merged`]);
    for (const [f, want] of [["results.md", md], ["results.csv", csvText]]) {
      const got = await Deno.readTextFile(`${dir}/merged/${f}`);
      assert.equal(got, want, `${f}: merged shards == one run`);
    }
    // A merge missing a shard says so.
    const partial = await run("scripts/mri-sweep.ts", [
      ...common,
      "--merge",
      `${dir}/s1`,
      "--out",
      `${dir}/partial`,
    ]);
    assert.equal(partial.code, 2);
    assert.match(partial.stderr, /^error: \d+ of 10 cells are missing/);

    // Bad flags: one line, status 2.
    for (
      const bad of [
        ["--shard", "3/2"],
        ["--r", "two"],
        ["--bogus"],
        ["--steps", "0"],
        ["--data", `${dir}/nowhere.h5`],
        ["--shard", "1/2", "--merge", `${dir}/s1`],
      ]
    ) {
      const r = await run("scripts/mri-sweep.ts", [...common, ...bad, "--out", `${dir}/bad`]);
      assert.equal(r.code, 2, `${bad.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, `${bad.join(" ")}: one line`);
      assert.match(r.stderr, /^error: /);
    }

    // mri-recon: every method of an ambient prior, and K = 2 posterior draws.
    const rec = await run("scripts/mri-recon.ts", [
      "--model",
      `${dir}/mri-r2`,
      "--data",
      `${dir}/held-out.h5`,
      "--r",
      "4",
      "--steps",
      "2",
      "--posterior-samples",
      "2",
      "--backend",
      "cpu",
      "--out",
      `${dir}/recon`,
    ]);
    assert.equal(rec.code, 0, rec.stderr);
    for (const m of ["A-DPS", "A-OS", "zero-filled", "SENSE", "L1-wavelet"]) {
      assert.match(rec.stdout, new RegExp(`\\| ${m} \\| [\\d.]+ ± [\\d.]+ \\|`), m);
    }
    assert.match(rec.stdout, /K = 2 posterior draws: .* coverage of mean ± 2 std [\d.]+/);
    for (const f of ["recon-R4.png", "posterior.png", "posterior.json", "metrics.json"]) {
      assert.ok((await Deno.stat(`${dir}/recon/${f}`)).size > 0, f);
    }
    // FS-DPS needs the fully sampled prior: the ambient one is refused in one line.
    const wrong = await run("scripts/mri-recon.ts", ["--model", `${dir}/mri-r2`, "--bogus"]);
    assert.equal(wrong.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mri study helpers: mean ± SE, shards", () => {
  assert.deepEqual(meanSe([30, 32]), { mean: 31, se: 1 });
  assert.deepEqual(meanSe([5]), { mean: 5, se: 0 });
  assert.deepEqual(parseShard("2/3"), [2, 3]);
  assert.throws(() => parseShard("0/3"), /--shard must be i\/n/);
  const cells = [0, 1, 2, 3, 4, 5, 6];
  const parts = [1, 2, 3].map((i) => shardCells(cells, [i, 3]));
  assert.deepEqual(parts, [[0, 3, 6], [1, 4], [2, 5]]);
});
