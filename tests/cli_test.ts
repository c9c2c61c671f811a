/**
 * The command-line pieces on their own: flags (negative values, parse failures as
 * UsageErrors), the one-line error with status 2 while a bug keeps its trace, and the
 * progress display (a bar on a terminal, one line per window elsewhere, ETA from the start).
 */
import assert from "node:assert/strict";
import { numberFlag, parseFlags, UsageError } from "../scripts/cli.ts";
import { Progress } from "../scripts/progress.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

Deno.test("parseFlags: --x -0.1 is a value; unknown or missing flags are UsageErrors", () => {
  const opts = { p: { type: "string" }, lr: { type: "string" }, on: { type: "boolean" } } as const;
  assert.deepEqual({ ...parseFlags(opts, ["--p", "-0.1", "--lr", "-1e-3"]) }, {
    p: "-0.1",
    lr: "-1e-3",
  });
  assert.deepEqual({ ...parseFlags(opts, ["--p=-.5", "--on"]) }, { p: "-.5", on: true });
  // A boolean flag never swallows what follows it.
  assert.throws(() => parseFlags(opts, ["--on", "-1"]), UsageError);
  for (
    const [args, re] of [
      [["--nope"], /^Unknown option '--nope'; --help lists the flags$/],
      [["--p"], /^Option '--p <value>' argument missing; --help/],
      [["--p", "--lr", "1"], /argument is ambiguous; --help/],
      [["stray"], /^Unexpected argument 'stray'; --help/],
    ] as const
  ) {
    assert.throws(
      () => parseFlags(opts, args),
      (e: Error) => e instanceof UsageError && re.test(e.message) && !e.message.includes("\n"),
    );
  }
});

Deno.test("numberFlag: kinds, and the message names the flag and the text", () => {
  assert.equal(numberFlag(undefined, "x"), undefined);
  assert.equal(numberFlag("-0.25", "p"), -0.25);
  assert.equal(numberFlag("0", "seed", "int"), 0);
  assert.equal(numberFlag("3", "batch", "positive"), 3);
  for (
    const [v, kind, re] of [
      ["abc", "number", /--f must be a number, got "abc"/],
      ["", "number", /--f must be a number/],
      ["1.5", "int", /--f must be an integer, got "1.5"/],
      ["0", "positive", /--f must be an integer ≥ 1, got "0"/],
      ["Infinity", "number", /a number/],
    ] as const
  ) {
    assert.throws(
      () => numberFlag(v, "f", kind),
      (e: Error) => e instanceof UsageError && re.test(e.message),
    );
  }
});

Deno.test("exitOnUsageError: a UsageError is one line and status 2; a bug keeps its trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-cli-" });
  try {
    const script = `${dir}/s.ts`;
    await Deno.writeTextFile(
      script,
      `import { exitOnUsageError, UsageError } from "${ROOT}scripts/cli.ts";
exitOnUsageError();
await Promise.resolve();
if (Deno.args[0] === "usage") throw new UsageError("--x must be 1, got 2");
throw new Error("a bug");
`,
    );
    const run = async (arg: string) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, arg],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      return { code: o.code, err: new TextDecoder().decode(o.stderr) };
    };
    const [usage, bug] = await Promise.all([run("usage"), run("bug")]);
    assert.equal(usage.code, 2);
    assert.equal(usage.err, "error: --x must be 1, got 2\n");
    assert.equal(bug.code, 1);
    assert.match(bug.err, /Uncaught \(in promise\) Error: a bug/);
    assert.match(bug.err, /\n\s+at .*s\.ts:\d+/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A progress display writing into an array, on a clock the test moves. */
function fake(tty: boolean, total: number, every?: number, from?: number) {
  const out: string[] = [];
  let t = 0;
  const p = new Progress({
    label: "train",
    total,
    every,
    from,
    tty,
    write: (s) => out.push(s),
    now: () => t,
  });
  return { p, out, tick: (ms: number) => (t += ms) };
}

Deno.test("Progress without a terminal: one line per window, an ETA from the first one", () => {
  const { p, out, tick } = fake(false, 100, 10);
  for (let step = 1; step <= 100; step++) {
    tick(500); // 2 steps a second
    p.update(step, step % 10 === 0 ? `loss 0.${step}` : "");
  }
  p.finish();
  assert.equal(out.length, 10);
  assert.equal(out[0], "train 10/100 loss 0.10, 5.0s elapsed, ETA 45.0s\n");
  assert.equal(out[9], "train 100/100 loss 0.100, 50.0s elapsed, ETA 0.0s\n");
  // Windows are passed, not hit: updates that jump over a multiple still print once.
  const j = fake(false, 1000, 100);
  for (const d of [30, 130, 150, 420, 1000]) (j.tick(1000), j.p.update(d));
  assert.deepEqual(j.out.map((l) => l.split(",")[0]), [
    "train 130/1000",
    "train 420/1000",
    "train 1000/1000",
  ]);
});

Deno.test("Progress on a terminal: a bar redrawn in place, resumed runs time only new work", () => {
  const { p, out, tick } = fake(true, 200, 10, 100);
  tick(1000);
  p.update(101, "loss 1 at step 100");
  tick(10);
  p.update(102, "loss 1 at step 100"); // within 100 ms and unchanged: not redrawn
  tick(10);
  p.update(103, "loss 2 at step 103"); // a new detail is drawn at once
  p.log("a line of its own");
  tick(1000);
  p.update(200);
  p.finish();
  assert.equal(out.length, 6);
  // 1 step in 1 s since the resume at 100: 99 steps to go.
  assert.equal(
    out[0],
    `\rtrain ${"█".repeat(12)}${"·".repeat(12)} 101/200 loss 1 at step 100, 1.0s elapsed, ` +
      `ETA 1m39s\x1b[K`,
  );
  assert.match(out[1], /^\rtrain .* 103\/200 loss 2 at step 103, /);
  assert.deepEqual(out.slice(2, 4), ["\r\x1b[K", "a line of its own\n"]);
  assert.equal(out[4], `\rtrain ${"█".repeat(24)} 200/200, 2.0s elapsed, ETA 0.0s\x1b[K`);
  assert.equal(out[5], "\n");
});
