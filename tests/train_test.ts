/**
 * The training loop end to end on the tiny task (tasks/tiny-inpaint.ts) and the shipped
 * Fashion-MNIST fixture: the loss falls, resume is bit-exact, kill -9 never leaves a
 * half-written checkpoint, and a diverging run stops with the last good checkpoint intact.
 * WebGPU where an adapter exists, else the CPU twin (with fewer, smaller steps).
 */
import assert from "node:assert/strict";
import { ambientLoss } from "../src/ambient/loss.ts";
import { furtherCorrupt } from "../src/ambient/masks.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { loadCheckpoint, saveCheckpoint, type TrainState } from "../src/train/checkpoint.ts";
import { batchIndices, gatherBatch, type ImageDataset } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { decodeSafetensors } from "../src/io/safetensors.ts";
import type { Params } from "../src/nn/module.ts";
import type { EDMPrecond } from "../src/nn/precond.ts";
import { Adam } from "../src/optim/adam.ts";
import { Rng } from "../src/core/rng.ts";
import { keep, tidy } from "../src/core/scope.ts";
import { buildNetwork, DivergenceError, type LogRecord, train } from "../src/train/train.ts";
import type { Tensor } from "../src/core/tensor.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as tinyInpaint } from "../tasks/tiny-inpaint.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
// ADPS_BACKEND=cpu runs these on the CPU twin even where an adapter exists.
const gpu = hasGpu && Deno.env.get("ADPS_BACKEND") !== "cpu" ? await gpuOrSkip() : null;
// Poisoning outputs with NaN only slows training down: in-place updates overwrite nothing.
if (gpu) gpu.poison = false;
const backend: Backend = gpu ?? cpuBackend();
/** The CPU twin is ~5× slower per step: it trains fewer, smaller steps. */
const FAST = gpu !== null;
const LIMIT = 64;
const data = await loadDataset({ kind: "fmnist", dir: `${ROOT}fixtures/fmnist`, limit: LIMIT });

/** The tiny task on LIMIT fixture images, overridden. */
function tiny(over: Partial<TrainConfig>): TrainConfig {
  return {
    ...structuredClone(tinyInpaint),
    data: { kind: "fmnist", dir: `${ROOT}fixtures/fmnist`, limit: LIMIT },
    batch: FAST ? 8 : 4,
    sampleEvery: 0,
    ...over,
  };
}

/** The loss records of a run's log (a resume that changed its length adds override records). */
async function readLog(out: string): Promise<LogRecord[]> {
  const text = await Deno.readTextFile(`${out}/log.jsonl`);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    .filter((r) => "loss" in r);
}

function disposeState(s: TrainState) {
  for (const t of new Set([...s.params.values(), ...s.ema.values()])) t.dispose();
  s.adam.dispose();
}

/** Every tensor of a state, read back, by group/name. */
async function snapshot(s: TrainState): Promise<Map<string, Float32Array | Float64Array>> {
  const names = [...s.params.keys()];
  const groups: [string, readonly Tensor[]][] = [
    ["net", [...s.params.values()]],
    ["ema", [...s.ema.values()]],
    ["adam_m", s.adam.m],
    ["adam_v", s.adam.v],
  ];
  const flat = groups.flatMap(([, ts]) => ts);
  const values = await backend.readMany(flat);
  const out = new Map<string, Float32Array | Float64Array>();
  let i = 0;
  for (const [g] of groups) for (const n of names) out.set(`${g}/${n}`, values[i++]);
  return out;
}

/** Bit-for-bit equality of two snapshots; the first difference is named. */
function assertBitEqual(
  a: Map<string, Float32Array | Float64Array>,
  b: Map<string, Float32Array | Float64Array>,
  what: string,
) {
  assert.deepEqual([...a.keys()], [...b.keys()], `${what}: names`);
  for (const [k, x] of a) {
    const y = b.get(k)!;
    assert.equal(x.length, y.length, `${what}: ${k} length`);
    for (let i = 0; i < x.length; i++) {
      if (!Object.is(x[i], y[i])) assert.fail(`${what}: ${k}[${i}] is ${x[i]} vs ${y[i]}`);
    }
  }
}

/** A fresh state of a config's network (what train() builds before loading a checkpoint). */
function freshState(c: TrainConfig, ds: ImageDataset): TrainState {
  const params = buildNetwork(c, ds.shape).model.registry.materialize(backend, c.seed);
  for (const t of params.values()) keep(t);
  const ema = new Map([...params].map(([k, t]) => [k, keep(backend.full(t.shape, 0))]));
  return { step: 0, params, ema, adam: new Adam([...params.values()]) };
}

/** The ambient loss on K fixed held-out draws (batch, σ, noise): paired before/after. */
async function heldOutLosses(
  net: EDMPrecond,
  p: Params,
  c: TrainConfig,
  k: number,
): Promise<number[]> {
  const [ch, h, w] = data.shape;
  const losses = [];
  for (let i = 0; i < k; i++) {
    const idx = batchIndices(data.count, 8, 999, i + 1);
    const t = tidy(() => {
      const x = backend.fromArray(gatherBatch(data, idx), [8, ch, h, w]);
      const m = furtherCorrupt(backend, idx, h, w, c.corruption, c.corruptionSeed);
      return ambientLoss(net, p, x, m, 5_000 + i, { training: false, seed: 0, stream: 0 }).loss;
    });
    losses.push((await t.toArray())[0]);
    t.dispose();
  }
  return losses;
}

Deno.test("train: the loss falls on the tiny task", async () => {
  // The logged loss is λ(σ)-weighted at a random σ per step and spans two orders of magnitude
  // (the pixels in M \ M̃ cost ≈ y²/σ² at small σ whatever the network does), so first-vs-last
  // windows of the log are a coin toss. Instead: the same held-out draws, before and after.
  const c = tiny({ steps: FAST ? 20 : 16, logEvery: 1, checkpointEvery: 1000 });
  const out = await Deno.makeTempDir({ prefix: "adps-train-" });
  const net = buildNetwork(c, data.shape);
  const p0 = net.model.registry.materialize(backend, c.seed);
  const before = await heldOutLosses(net, p0, c, 8);
  for (const t of p0.values()) t.dispose();
  const s = await train(c, data, { out, backend });
  try {
    const log = await readLog(out);
    assert.deepEqual(log.map((r) => r.step), [...Array(c.steps).keys()].map((i) => i + 1));
    for (const r of log) {
      assert.ok(Number.isFinite(r.loss) && r.loss > 0, `step ${r.step}: loss ${r.loss}`);
      assert.ok(r.furtherLoss !== null && Number.isFinite(r.furtherLoss));
      assert.equal(r.lr, c.lr);
    }
    const after = await heldOutLosses(net, s.params, c, 8);
    const ratios = after.map((a, i) => a / before[i]);
    const text = ratios.map((r) => r.toFixed(3)).join(" ");
    console.log(`held-out loss after/before ${c.steps} steps: ${text}`);
    // Observed ≈ 0.6–0.95 per draw (mean ≈ 0.76 on lavapipe after 20 steps, ≈ 0.8 on the twin).
    ratios.forEach((r, i) => assert.ok(r < 1, `draw ${i}: loss ${before[i]} → ${after[i]}`));
    const meanRatio = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    assert.ok(meanRatio < 0.9, `mean after/before ${meanRatio.toFixed(3)} (≥ 0.9): ${text}`);
  } finally {
    disposeState(s);
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("train: resume is exact (params, EMA, Adam, losses)", async () => {
  const n = FAST ? 6 : 4;
  const full = tiny({ steps: n, logEvery: 1, checkpointEvery: 2 });
  const dirA = await Deno.makeTempDir({ prefix: "adps-train-a-" });
  const dirB = await Deno.makeTempDir({ prefix: "adps-train-b-" });
  try {
    const a = await train(full, data, { out: dirA, backend });
    const snapA = await snapshot(a);
    disposeState(a);
    const half = await train({ ...full, steps: n / 2 }, data, { out: dirB, backend });
    const snapHalf = await snapshot(half);
    disposeState(half);
    const b = await train(full, data, { out: dirB, backend, resume: true });
    assert.equal(b.step, n);
    assert.equal(b.adam.t, n);
    const snapB = await snapshot(b);
    disposeState(b);
    // The comparison can fail: training moved every group between n/2 and n.
    for (const g of ["net/", "ema/", "adam_m/", "adam_v/"]) {
      const k = [...snapA.keys()].find((k) => k.startsWith(g) && k.endsWith("conv.weight"))!;
      assert.notDeepEqual(snapA.get(k), snapHalf.get(k), `${k} did not change`);
    }
    assertBitEqual(snapB, snapA, "resumed vs one go");
    const [logA, logB] = [await readLog(dirA), await readLog(dirB)];
    assert.deepEqual(
      logB.map((r) => [r.step, r.loss, r.furtherLoss]),
      logA.map((r) => [
        r.step,
        r.loss,
        r.furtherLoss,
      ]),
    );
    // The saved files agree too (checkpoint of the last step, same tensors).
    const [ckA, ckB] = await Promise.all(
      [dirA, dirB].map(async (d) =>
        decodeSafetensors(await Deno.readFile(`${d}/checkpoint.safetensors`))
      ),
    );
    assert.equal(ckB.metadata.step, String(n));
    for (const [k, t] of ckA.tensors) assert.deepEqual(ckB.tensors.get(k)!.data, t.data, k);
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

/** One `scripts/train.ts --task tiny-inpaint` process. */
function spawnTrain(out: string, extra: string[]) {
  const args = [
    "run",
    "-A",
    "scripts/train.ts",
    "--task",
    "tiny-inpaint",
    "--checkpoint-every",
    "1",
    "--log-every",
    "1",
    "--sample-every",
    "0",
    "--limit",
    String(LIMIT),
    "--out",
    out,
    ...(FAST ? [] : ["--backend", "cpu", "--batch", "4"]),
    ...extra,
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).spawn();
  const done = child.output().then((o) => ({
    ...o,
    out: new TextDecoder().decode(o.stdout),
    err: new TextDecoder().decode(o.stderr),
  }));
  return { child, done };
}

/** Decodes both files completely and returns the checkpoint's step. */
async function checkFiles(out: string, paramCount: number): Promise<number> {
  const ck = decodeSafetensors(await Deno.readFile(`${out}/checkpoint.safetensors`));
  const ema = decodeSafetensors(await Deno.readFile(`${out}/network-ema.safetensors`));
  const count = (m: Map<string, { data: Float32Array }>) =>
    [...m.values()].reduce((s, t) => s + t.data.length, 0);
  assert.equal(count(ck.tensors), 4 * paramCount, "checkpoint: all four groups");
  assert.equal(count(ema.tensors), paramCount, "network-ema: every parameter");
  const step = Number(ck.metadata.step);
  assert.ok(Number.isInteger(step) && step >= 1, `checkpoint step ${ck.metadata.step}`);
  // Written right after the checkpoint: a kill in between leaves it one checkpoint behind.
  const emaStep = Number(ema.metadata.step);
  assert.ok(emaStep === step || emaStep === step - 1, `EMA at ${emaStep}, checkpoint at ${step}`);
  return step;
}

/** The checkpoint's step, or 0 while there is none (or it cannot be read yet). */
async function checkpointStep(out: string): Promise<number> {
  try {
    const st = decodeSafetensors(await Deno.readFile(`${out}/checkpoint.safetensors`));
    return Number(st.metadata.step);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
}

async function waitForStep(out: string, above: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const s = await checkpointStep(out);
    if (s > above) return s;
    if (performance.now() - t0 > timeoutMs) {
      assert.fail(`no checkpoint past step ${above} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 40));
  }
}

async function tempFiles(out: string): Promise<string[]> {
  const names = [];
  for await (const e of Deno.readDir(out)) if (e.name.endsWith(".tmp")) names.push(e.name);
  return names;
}

Deno.test("train: --resume brings a lagging EMA export level with the checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-train-ema-" });
  const ema = `${dir}/network-ema.safetensors`;
  const stepOf = async () => decodeSafetensors(await Deno.readFile(ema)).metadata.step;
  try {
    const cfg = (steps: number) => tiny({ steps, logEvery: 1, checkpointEvery: 1 });
    disposeState(await train(cfg(1), data, { out: dir, backend }));
    const stale = await Deno.readFile(ema);
    disposeState(await train(cfg(2), data, { out: dir, backend, resume: true }));
    // Kills between each checkpoint and its export, twice in a row, leave it two behind.
    await Deno.writeFile(ema, stale);
    assert.equal(await stepOf(), "1");
    disposeState(await train(cfg(2), data, { out: dir, backend, resume: true }));
    assert.equal(await stepOf(), "2");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train: kill -9 never leaves a half-written checkpoint; --resume continues", async () => {
  const out = await Deno.makeTempDir({ prefix: "adps-train-kill-" });
  const paramCount = buildNetwork(tinyInpaint, data.shape).model.registry.count();
  const rng = new Rng(2024);
  const timeout = FAST ? 60_000 : 180_000;
  try {
    let last = 0;
    let run = spawnTrain(out, ["--steps", "1000"]);
    for (let kill = 0; kill < 3; kill++) {
      // Let it get past the previous checkpoint (fresh start or resumed), then kill at random.
      await waitForStep(out, last, timeout);
      const delay = Math.floor(rng.uniform() * 900);
      await new Promise((r) => setTimeout(r, delay));
      run.child.kill("SIGKILL");
      const r = await run.done;
      assert.equal(r.signal, "SIGKILL", `kill ${kill}: the run ended by itself\n${r.err}`);
      if (kill > 0) assert.match(r.out, new RegExp(`resumed from .* at step ${last}\\n`));
      const step = await checkFiles(out, paramCount);
      assert.ok(step >= last, `checkpoint went back from ${last} to ${step}`);
      console.log(`kill ${kill} after ${delay} ms: checkpoint at step ${step}`);
      last = step;
      // A kill inside a write leaves `<name>.<pid>.tmp`; fake one to be sure there is one.
      const stale = `checkpoint.safetensors.${4_000_000 + kill}.tmp`;
      const bytes = await Deno.readFile(`${out}/checkpoint.safetensors`);
      await Deno.writeFile(`${out}/${stale}`, bytes.subarray(0, bytes.length >> 1));
      const leftovers = await tempFiles(out);
      // And a kill between a step's log line and its checkpoint, then one inside a line.
      const ghost = JSON.stringify({ step: last + 1, loss: 1 }) + '\n{"step": ';
      await Deno.writeTextFile(`${out}/log.jsonl`, ghost, { append: true });
      run = spawnTrain(out, ["--steps", "1000", "--resume"]);
      await waitForStep(out, last, timeout);
      const now = await tempFiles(out);
      for (const name of leftovers) assert.ok(!now.includes(name), `stale ${name} was kept`);
    }
    run.child.kill("SIGKILL");
    await run.done;
    last = await checkFiles(out, paramCount);

    // Without --resume an existing checkpoint is an error, and nothing is touched.
    const logBefore = await Deno.readFile(`${out}/log.jsonl`);
    const ckBefore = await Deno.readFile(`${out}/checkpoint.safetensors`);
    const refused = await spawnTrain(out, ["--steps", "1000"]).done;
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /checkpoint\.safetensors exists: pass --resume to continue it/);
    assert.deepEqual(await Deno.readFile(`${out}/log.jsonl`), logBefore);
    assert.deepEqual(await Deno.readFile(`${out}/checkpoint.safetensors`), ckBefore);

    // Resume to a near end: the log then holds every step once, in order, no gaps.
    const end = last + 2;
    const fin = await spawnTrain(out, ["--steps", String(end), "--resume"]).done;
    assert.equal(fin.code, 0, fin.err);
    assert.match(fin.out, new RegExp(`resumed from .* at step ${last}; overriding steps 1000 → `));
    assert.equal(await checkFiles(out, paramCount), end);
    const log = await readLog(out);
    assert.deepEqual(log.map((r) => r.step), [...Array(end).keys()].map((i) => i + 1));
    assert.deepEqual(await tempFiles(out), []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("train: a diverging run stops with DivergenceError and a loadable checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-train-nan-" });
  try {
    // An absurd learning rate. At 1e3 the weights or Adam moments overflow while the loss
    // is still finite for a step: that state must not become "the last good checkpoint".
    for (const lr of [1e6, 1e12]) {
      const out = `${dir}/lr${lr}`;
      const c = tiny({ lr, steps: 12, logEvery: 1, checkpointEvery: 1 });
      const err = await train(c, data, { out, backend }).then(
        () => assert.fail(`lr ${lr}: trained ${c.steps} steps without diverging`),
        (e) => e,
      );
      assert.ok(err instanceof DivergenceError, String(err));
      const at = Number(/at step (\d+)/.exec(err.message)?.[1]);
      assert.ok(at >= 2 && at <= c.steps, err.message);
      assert.match(err.message, /checkpoint\.safetensors/);
      const st = decodeSafetensors(await Deno.readFile(`${out}/checkpoint.safetensors`));
      assert.equal(Number(st.metadata.step), at - 1, `lr ${lr}: ${err.message}`);
      for (const [k, t] of st.tensors) {
        assert.ok(t.data.every(Number.isFinite), `lr ${lr}: ${k} saved non-finite`);
      }
      const s = freshState(c, data);
      await loadCheckpoint(`${out}/checkpoint.safetensors`, s, backend);
      assert.equal(s.step, at - 1);
      disposeState(s);
    }

    // The weights can overflow while the loss is still finite for a step: such a state is
    // refused, and the file keeps the last good checkpoint byte for byte.
    {
      const c = tiny({});
      const s = freshState(c, data);
      const path = `${dir}/refused.safetensors`;
      await saveCheckpoint(path, s, c);
      const good = await Deno.readFile(path);
      const [name, w] = [...s.params][3];
      const poisoned = (await w.toArray()).map((v, i) => (i === 5 ? Infinity : v));
      s.params.set(name, backend.fromArray(Float32Array.from(poisoned), w.shape));
      const e = await saveCheckpoint(path, s, c).then(() => null, (x) => x);
      assert.ok(e instanceof DivergenceError, `an Inf weight was saved: ${e}`);
      assert.match(
        e.message,
        new RegExp(`net/${name.replaceAll(".", "\\.")}\\[5\\] became Infinity`),
      );
      assert.deepEqual(await Deno.readFile(path), good);
      w.dispose();
      disposeState(s);
    }

    // NaN in the data after a good start: the error names the first bad step inside the
    // logging window, and the checkpoint stays byte for byte as it was.
    const out = `${dir}/nan-data`;
    const c = tiny({ steps: 2, logEvery: 2, checkpointEvery: 2 });
    disposeState(await train(c, data, { out, backend }));
    const saved = await Deno.readFile(`${out}/checkpoint.safetensors`);
    const bad: ImageDataset = { ...data, data: data.data.map(() => NaN) };
    const err = await train({ ...c, steps: 8, checkpointEvery: 4 }, bad, {
      out,
      backend,
      resume: true,
    }).then(() => assert.fail("NaN data trained"), (e) => e);
    assert.ok(err instanceof DivergenceError, String(err));
    assert.match(err.message, /loss became NaN at step 3\b/);
    assert.deepEqual(await Deno.readFile(`${out}/checkpoint.safetensors`), saved);
    const s = freshState(c, data);
    await loadCheckpoint(`${out}/checkpoint.safetensors`, s, backend);
    assert.equal(s.step, 2);
    disposeState(s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
