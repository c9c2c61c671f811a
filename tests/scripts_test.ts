/**
 * Bad input through the three entry points, as a user types it: every bad flag or file of
 * the table makes scripts/train.ts, scripts/sample.ts or scripts/transfer-cs.ts print one
 * line `error: …` on stderr, nothing on stdout, no stack trace, exit with status 2, and
 * leave the run folder byte for byte as it was (and create no output). Validation runs
 * before the backend and the data load, so each case costs one Deno start.
 */
import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { train } from "../src/train/train.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as tinyInpaint } from "../tasks/tiny-inpaint.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** One run of a script from the repository root. */
async function script(args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** Every file under a folder: relative name → bytes and modification time. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else {
        const bytes = await Deno.readFile(p);
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        m.set(
          p.slice(dir.length + 1),
          `${hash.join(".")} ${(await Deno.stat(p)).mtime?.getTime()}`,
        );
      }
    }
  };
  await walk(dir);
  return m;
}

/** A 2-step tiny run on the CPU: the run folder the cases must leave alone. */
async function tinyRun(out: string): Promise<void> {
  const c: TrainConfig = {
    ...structuredClone(tinyInpaint),
    data: { kind: "fmnist", dir: `${ROOT}fixtures/fmnist`, limit: 16 },
    steps: 2,
    batch: 2,
    logEvery: 1,
    checkpointEvery: 2,
    sampleEvery: 2,
    sampleCount: 1,
    sampleSteps: 2,
  };
  const s = await train(c, await loadDataset(c.data), { out, backend: cpuBackend() });
  for (const t of new Set([...s.params.values(), ...s.ema.values()])) t.dispose();
  s.adam.dispose();
}

/** A case: the command line and what the one line must say. */
type Case = [args: string[], message: RegExp];

/** Runs cases `width` at a time (each is a separate process; the machine may be small). */
async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

Deno.test("bad input: one line, status 2, no trace, run folder untouched (train, sample, transfer-cs)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-sweep-" });
  try {
    const run = `${dir}/run`;
    await tinyRun(run);
    // A run whose checkpoint was cut short (a full disk, a copy that stopped).
    const broken = `${dir}/broken`;
    await Deno.mkdir(broken);
    const ck = await Deno.readFile(`${run}/checkpoint.safetensors`);
    await Deno.writeFile(`${broken}/checkpoint.safetensors`, ck.slice(0, 40));
    await Deno.writeTextFile(`${dir}/picture.jpg`, "not a folder");
    const before = await snapshot(dir);
    const fresh = `${dir}/fresh`; // must never be created

    const T = ["scripts/train.ts", "--task", "tiny-inpaint", "--backend", "cpu", "--out", run];
    const S = ["scripts/sample.ts", "--model", run, "--out", `${fresh}.png`, "--backend", "cpu"];
    const X = ["scripts/transfer-cs.ts", `--models=a=${run}`, "--out", fresh, "--backend", "cpu"];
    const cases: Case[] = [
      [[...T, "--task", "nope"], /^unknown task nope: one of fmnist-inpaint, /],
      [[...T, "--dry-run", "--p", "1.5"], /p and delta must lie in \[0, 1\), got 1\.5/],
      [[...T, "--dry-run", "--batch", "0"], /--batch must be an integer ≥ 1, got "0"/],
      [[...T, "--p", "-0.1"], /p and delta must lie in \[0, 1\), got -0\.1/],
      [[...T, "--delta=-0.5"], /got 0\.6, -0\.5/],
      [[...T, "--steps", "ten"], /--steps must be an integer ≥ 1, got "ten"/],
      [[...T, "--lr", "0"], /lr must be > 0, got 0/],
      [[...T, "--channels", "0"], /network\.modelChannels must be a positive integer, got 0/],
      [[...T, "--channels", "2"], /2 channels do not split into GroupNorm/],
      [[...T, "--channel-mult", "1,0"], /network\.channelMult must be positive integers/],
      [[...T, "--blocks", "0"], /network\.numBlocks must be a positive integer/],
      [
        [...T, "--attn", "7"],
        /attnResolutions \[7\] is not a resolution of this network \(32, 16\)/,
      ],
      [[...T, "--limit", "0"], /data\.limit must be a positive integer/],
      [[...T, "--dropout", "1"], /dropout must lie in \[0, 1\)/],
      [[...T, "--sample-sigma-min", "0"], /sampleSigmaMin must lie in \(0, 80\)/],
      [[...T, "--sample-every", "-1"], /sampleEvery must be an integer ≥ 0/],
      [[...T, "--data", `${dir}/picture.jpg`], /picture\.jpg is a file: pass the folder/],
      [[...T, "--data", `${dir}/none`], /no Fashion-MNIST in .*none: on Debian/],
      [[...T, "--task", "celeba-inpaint"], /^celeba-inpaint needs CelebA: download /],
      [[...T, "--task", "celeba-inpaint", "--data", `${dir}/none`], /none does not exist: pass/],
      [[...T, "--bogus"], /^Unknown option '--bogus'; --help lists the flags$/],
      [[...T, "--p"], /^Option '--p <value>' argument missing/],
      [[...T, "--backend", "cuda"], /^unknown backend "cuda": use --backend cpu or/],
      [T, /checkpoint\.safetensors exists: pass --resume to continue it/],
      [
        [...T, "--resume", "--p", "0.2", "--batch", "8"],
        /batch is 2 there and 8 now; corruption\.p is 0\.6 there and 0\.2 now: drop those/,
      ],
      [[...T, "--resume", "--channels", "16"], /network\.modelChannels is 8 there and 16 now/],
      [[...T, "--resume", "--limit", "32"], /data\.limit is 16 there and 32 now/],
      [[...T, "--resume", "--steps", "1"], /is at step 2, past --steps 1/],
      [
        [...T, "--out", broken, "--resume"],
        /broken\/checkpoint\.safetensors: not a valid safetensors file: header length/,
      ],
      [[...S, "--model", "/nonexistent"], /^\/nonexistent does not exist: give a run folder/],
      [[...S, "--model", `${dir}/picture.jpg`], /picture\.jpg: not a model of this package/],
      [[...S, "--count", "0"], /--count, --steps, --image-size and --channels must be positive/],
      [[...S, "--sigma-min", "-1"], /--sigma-min must be in \(0, 80\), got -1/],
      [[...S, "--seed", "-3"], /--seed must be an integer ≥ 0, got -3/],
      [[...S, "--out", `${fresh}/x.png`], /x\.png: the folder .*fresh does not exist/],
      [[...S, "--out", run], /is a folder: give a file name/],
      [[...S, "--backend", "cuda"], /unknown backend "cuda"/],
      [[...S, "--stepz", "3"], /Unknown option '--stepz'/],
      [[...X, "--count", "0"], /^--count must be an integer ≥ 1$/],
      [[...X, "--count", "100000"], /--count 100000: .* holds \d+ images/],
      [[...X, "--m", "5000"], /cs-m5000: m = 5000 measurements exceed the 1024 pixels/],
      [[...X, "--sr", "3"], /sr-x3: factor 3 does not divide 32×32 images/],
      [[...X, "--box", "-0.25"], /box--0\.25: a box of -0\.25 of the side must lie in \(0, 1\)/],
      [[...X, "--m", "", "--sr", "", "--box", ""], /no problems: give --m, --sr or --box/],
      [[...X, "--nfe-problem", "cs-100"], /unknown problem "cs-100"/],
      [[...X, "--zeta", "cs=-1"], /--zeta: "cs=-1" has no non-negative number/],
      [[...X, "--zeta", "tv=1"], /unknown problem kind "tv"/],
      [[...X, "--sigma-y", "-0.05"], /--sigma-y must be ≥ 0, got -0\.05/],
      [[...X, "--seeds", ""], /--seeds: give at least one seed/],
      [[...X, "--models", "bad"], /--models: "bad" is not name=path/],
      [[...X, "--models", `a=${dir}/none`], /none does not exist: give a run folder/],
      [[...X, "--images", `${dir}/picture.jpg`], /picture\.jpg: not a valid IDX file/],
      [[...X, "--backend", "cuda"], /unknown backend "cuda"/],
    ];
    const t0 = performance.now();
    const failures: string[] = [];
    await pool(cases, 4, async ([args, message]) => {
      const r = await script(args);
      const what = `${args.slice(0, 1)} … ${args.slice(T.length - 2).join(" ")}`;
      const lines = r.err.split("\n").filter((l) => l !== "");
      const problems = [
        r.code !== 2 && `status ${r.code}`,
        r.out !== "" && `stdout ${JSON.stringify(r.out.slice(0, 200))}`,
        lines.length !== 1 && `${lines.length} lines on stderr`,
        !lines[0]?.startsWith("error: ") && "no 'error: ' prefix",
        /\bat .*:\d+:\d+|Uncaught|panicked/.test(r.err) && "a stack trace",
        !message.test(lines[0]?.slice(7) ?? "") && `not ${message}`,
      ].filter(Boolean);
      if (problems.length > 0) failures.push(`${what}: ${problems.join(", ")}\n  ${r.err.trim()}`);
    });
    console.log(`${cases.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(failures, []);
    assert.deepEqual(await snapshot(dir), before, "a case touched a folder");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --resume: redoes a lost sample grid, logs overrides, keeps the clock; progress", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-resume-" });
  try {
    const out = `${dir}/run`;
    const grid = `${out}/samples-0000002.png`;
    const args = ["scripts/train.ts", "--task", "tiny-inpaint", "--backend", "cpu", "--out", out];
    args.push("--data", `${ROOT}fixtures/fmnist`, "--limit", "16", "--batch", "2", "--steps", "2");
    args.push("--log-every", "1", "--checkpoint-every", "2", "--sample-every", "2");
    args.push("--sample-count", "1");
    const first = await script(args);
    assert.equal(first.code, 0, first.err);
    const original = await Deno.readFile(grid);

    // A kill between the checkpoint of step 2 and its grid: the resume writes the grid.
    await Deno.remove(grid);
    const again = await script([...args, "--resume"]);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(await Deno.readFile(grid), original, "the redone grid differs");
    assert.match(again.out, /^done: .*1 sample grid\(s\) up to .*samples-0000002\.png$/m);

    // A longer run is an override: said on stdout, logged in log.jsonl, config.json updated.
    const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
    const longer = await script([...args, "--resume", "--steps", "4"]);
    assert.equal(longer.code, 0, longer.err);
    assert.match(longer.out, /at step 2; overriding steps 2 → 4 \(logged in log\.jsonl\)\n/);
    const log = (await Deno.readTextFile(`${out}/log.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(log.map((r) => r.step), [1, 2, 2, 3, 4]);
    assert.deepEqual(log[2], { step: 2, override: [{ field: "steps", recorded: 2, wanted: 4 }] });
    // The clock goes on from the first process: no window's seconds go back.
    const seconds = log.filter((r) => "seconds" in r).map((r) => r.seconds);
    assert.ok(seconds.every((s, i) => i === 0 || s > seconds[i - 1]), `seconds ${seconds}`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${out}/config.json`)), {
      ...config,
      steps: 4,
    });
    // Without a terminal: one progress line per window, with its loss, step and an ETA.
    assert.match(
      longer.out,
      /^train 4\/4 loss \d+\.\d{4} \(M̃ \d+\.\d{4}\) at step 4, [\d.]+ img\/s, [\d.]+s elapsed, ETA 0\.0s$/m,
    );

    // The sampler's progress, through the same display.
    const png = `${dir}/samples.png`;
    const s = await script([
      ...["scripts/sample.ts", "--model", out, "--out", png, "--count", "1", "--steps", "2"],
      ...["--backend", "cpu"],
    ]);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /^sample 1\/2, .* elapsed, ETA .*\nsample 2\/2, .* elapsed, ETA 0\.0s\n/m);
    assert.ok((await Deno.stat(png)).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
