/**
 * MRI training end to end (Aali et al. 2024, §4): `train()` on k-space slices streamed from a
 * small fastMRI-layout file made here, ambient (R = 2) and fully sampled (R = 1): it trains,
 * checkpoints, resumes byte for byte, and writes a magnitude sample grid; the networks have the
 * reference's channel counts; the configuration checks say what is wrong; the task script
 * prints the paper network's exact size and a missing data set's one-line fix.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { UsageError } from "../src/core/usage_error.ts";
import { FastMriFile } from "../src/data/fastmri.ts";
import { decodeSafetensors } from "../src/io/safetensors.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { openMriTrainData } from "../src/mri/train_data.ts";
import { scaledAcs } from "../src/mri/masks.ts";
import { buildNetwork, type LogRecord, train } from "../src/train/train.ts";
import { type TrainConfig, validateConfig } from "../src/train/config.ts";
import type { TrainState } from "../src/train/checkpoint.ts";
import { mriTask } from "../tasks/mri.ts";
import { gpuOrSkip } from "./harness.ts";
import { writeRandomSlices } from "./mri_fixture.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const [S, C, H, W] = [6, 2, 8, 16];

/** The task's configuration on the test's slices, with a tiny network and short schedule. */
function mriConfig(file: string, r: number, steps: number): TrainConfig {
  const task = mriTask(r);
  return {
    ...task,
    data: { kind: "mri", dir: file, r, acs: 2, size: [H, W] },
    network: { ...task.network, modelChannels: 8, channelMult: [1, 1] },
    batch: 3,
    lrRampupImages: 0,
    steps,
    logEvery: 1,
    checkpointEvery: 2,
    sampleEvery: 0,
    sampleCount: 2,
    sampleSteps: 2,
  };
}

function dispose(s: TrainState) {
  for (const t of new Set([...s.params.values(), ...s.ema.values()])) t.dispose();
  s.adam.dispose();
}

async function losses(out: string): Promise<number[][]> {
  const text = await Deno.readTextFile(`${out}/log.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l) as LogRecord)
    .filter((r) => "loss" in r).map((r) => [r.step, r.loss, r.furtherLoss ?? NaN]);
}

const backends: [string, () => Promise<Backend | null>][] = [
  ["cpu", () => Promise.resolve(cpuBackend())],
  ["webgpu", gpuOrSkip],
];
for (const [name, make] of backends) {
  for (const r of [2, 1]) {
    Deno.test(`MRI training, R = ${r} on ${name}: trains, checkpoints, resumes byte for byte, writes a sample grid`, async () => {
      const backend = await make();
      if (!backend) return;
      const dir = await Deno.makeTempDir({ prefix: "adps-mri-train-" });
      try {
        const file = `${dir}/slices.h5`;
        await writeRandomSlices(file, [S, C, H, W], 3, 0.5);
        const full = mriConfig(file, r, 4);
        using data = await openMriTrainData(full);
        assert.deepEqual([data.count, data.shape], [S, [2, H, W]]);
        const [a, b] = [`${dir}/a`, `${dir}/b`];
        dispose(await train(full, data, { out: a, backend }));
        dispose(await train({ ...full, steps: 2 }, data, { out: b, backend }));
        const half = await Deno.readFile(`${b}/network-ema.safetensors`);
        dispose(await train(full, data, { out: b, backend, resume: true }));
        for (const f of ["checkpoint.safetensors", "network-ema.safetensors"]) {
          assert.deepEqual(await Deno.readFile(`${b}/${f}`), await Deno.readFile(`${a}/${f}`), f);
        }
        // The comparison can fail: steps 3 and 4 moved the EMA weights.
        assert.notDeepEqual(half, await Deno.readFile(`${a}/network-ema.safetensors`));
        const [la, lb] = [await losses(a), await losses(b)];
        assert.deepEqual(lb, la);
        assert.equal(la.length, 4);
        assert.ok(la.every(([, l]) => Number.isFinite(l) && l > 0), `losses ${la}`);
        // Ambient: [loss, M̃ loss]; the fully sampled baseline logs one term.
        assert.equal(la.every(([, , f]) => Number.isFinite(f)), r > 1);
        const png = await Deno.readFile(`${a}/samples-0000004.png`);
        assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71], "a PNG");
        // 2 magnitude images 8×16 in a 2-column grid with 2-pixel padding: 38×12, grey.
        const v = new DataView(png.buffer, png.byteOffset);
        assert.deepEqual([v.getUint32(16), v.getUint32(20), png[25]], [38, 12, 0]);
        // The exported EMA network: the reference's channels (4 / 4 ambient, 2 / 2 baseline).
        const ema = decodeSafetensors(await Deno.readFile(`${a}/network-ema.safetensors`));
        const io = r > 1 ? 4 : 2;
        const weight = (end: string) => [...ema.tensors].find(([k]) => k.endsWith(end))![1].shape;
        assert.equal(weight("enc.8x8_conv.weight")[1], io, "input channels");
        assert.equal(weight("dec.8x8_aux_conv.weight")[0], io, "output channels");
        const net = buildNetwork(full, [2, H, W]);
        assert.equal(
          net.model.registry.count(),
          [...ema.tensors.values()].reduce((s, t) => s + t.data.length, 0),
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

Deno.test("MRI config: R decides ambient, M̃ at R + 1 must hold the ACS, both sides halve", () => {
  const ok = mriConfig("x.h5", 4, 1);
  validateConfig(ok);
  const bad = (c: TrainConfig, re: RegExp) =>
    assert.throws(() => validateConfig(c), (e) => e instanceof UsageError && re.test(e.message));
  bad({ ...ok, ambient: false }, /R = 4 trains an ambient model: ambient must be true/);
  bad({ ...ok, data: { ...ok.data, r: 1 } } as TrainConfig, /ambient must be false/);
  bad(
    { ...ok, data: { ...ok.data, acs: 4 } } as TrainConfig,
    /keeps ⌊16\/5⌋ columns, fewer than the 4 ACS/,
  );
  bad(
    { ...ok, data: { ...ok.data, size: [8, 21] } } as TrainConfig,
    /halve 8×21 images to a fraction/,
  );
  // The tasks keep the paper's ACS fraction, 20 of 320 columns; at R = 8 M̃ still holds it.
  assert.deepEqual([scaledAcs(320), scaledAcs(112), scaledAcs(56)], [20, 7, 4]);
  for (const r of [1, 2, 4, 6, 8]) validateConfig(mriTask(r));
});

Deno.test("train:mri-* script: --preset paper --dry-run prints 36 768 644 parameters; missing data is one line", async () => {
  const run = async (...args: string[]) => {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/train.ts", "--backend", "cpu", ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
  };
  const dir = await Deno.makeTempDir({ prefix: "adps-mri-script-" });
  try {
    const paper = await run("--task", "mri-r4", "--preset", "paper", "--dry-run", "--out", dir);
    assert.equal(paper.code, 0, paper.err);
    assert.match(paper.out, /"size": \[\s*384,\s*320\s*\]/);
    assert.match(paper.out, /\nnetwork: 36768644 parameters \(dry run: nothing trained\)\n/);
    const missing = await run("--task", "mri-r1", "--data", `${dir}/none`, "--out", dir);
    assert.equal(missing.code, 2);
    assert.match(
      missing.err,
      /^error: no k-space at .*none\/train\.h5: simulate it with 'deno task mri:simulate --out .*none --size 64x56'/,
    );
    assert.equal(missing.err.trim().split("\n").length, 1, missing.err);
    const preset = await run("--task", "tiny-inpaint", "--preset", "paper", "--dry-run");
    assert.match(
      preset.err,
      /^error: --preset paper: the one preset is "paper", for the MRI tasks/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fixtures/mri/sim-64x56-held-out.h5: 4 held-out slices of the tasks' size whose k-space is F S x of their ground truth at SNR 30 dB", async () => {
  using f = await FastMriFile.open(`${ROOT}fixtures/mri/sim-64x56-held-out.h5`);
  const { slices, coils, height, width, has } = f.info;
  assert.deepEqual([slices, coils, height, width], [4, 4, 64, 56]);
  assert.ok(has.maps && has.groundTruth);
  const b = cpuBackend("f64");
  for (let s = 0; s < slices; s++) {
    using op = new MultiCoilFourier(
      b.fromArray(f.maps(s), [1, coils, 2, height, width]),
      b.full([1, width], 1),
    );
    using x = b.fromArray(f.groundTruth(s), [1, 2, height, width]);
    using fx = op.forward(x);
    const [k, m] = [f.kspace(s), await fx.toArray()];
    const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
    const rel = norm(k.map((v, i) => v - m[i])) / norm(k);
    // The noise of 30 dB: ‖n‖/‖y‖ ≈ 10^(−30/20) ≈ 0.03; a mismatched slice would be ~1.
    assert.ok(rel > 0.005 && rel < 0.1, `slice ${s}: ‖y − F S x‖/‖y‖ = ${rel}`);
  }
});

Deno.test("the shipped MRI priors (fixtures/models/mri-r*): R and ACS as trained, 4 / 4 ambient and 2 / 2 fully sampled, F16 under 1.5 MB, one images-seen budget", async () => {
  for (const r of [1, 2, 4, 6, 8]) {
    const dir = `${ROOT}fixtures/models/mri-r${r}`;
    const bytes = await Deno.readFile(`${dir}/network-ema.safetensors`);
    assert.ok(bytes.length < 1.5e6, `${dir}: ${bytes.length} bytes`);
    const config: TrainConfig = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assert.deepEqual(config.data, { ...mriTask(r).data });
    const provenance = JSON.parse(await Deno.readTextFile(`${dir}/provenance.json`));
    assert.equal(provenance.imagesSeen, 4000);
    const st = decodeSafetensors(bytes);
    const shape = (end: string) => [...st.tensors].find(([k]) => k.endsWith(end))![1].shape;
    const io = r > 1 ? 4 : 2;
    assert.deepEqual([shape("enc.64x64_conv.weight")[1], shape("dec.64x64_aux_conv.weight")[0]], [
      io,
      io,
    ]);
    assert.equal(
      buildNetwork(config, [2, 64, 56]).model.registry.count(),
      [...st.tensors.values()].reduce((s, t) => s + t.data.length, 0),
    );
  }
});
