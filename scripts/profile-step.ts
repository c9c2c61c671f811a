/**
 * Where one `train:fmnist-inpaint` training step's time goes on WebGPU: runs the step of
 * bench/network.ts (upload, masks, ambient loss, backward, Adam + clip, EMA) at `--batch`,
 * records every dispatch and copy of one step by wrapping the engine instance's methods (the
 * engine itself is untouched), then replays each kind's dispatches alone, with their exact
 * buffers, shapes and uniforms, `--reps` times with one sync at the end, counting process CPU
 * time (llvmpipe runs shaders on this process's threads, so CPU time counts the work whatever
 * else competes for the cores). Prints op kind → calls per step, CPU ms per step, share of the
 * whole step measured the same way; the gap is what replaying dispatches does not redo (the
 * autograd tape, tensor bookkeeping, uploads) plus noise.
 * `deno run -A scripts/profile-step.ts [--batch 16] [--reps 5] [--warmup 2] [--labels]
 * [--detail KIND] [--step-only] [--case train|adps|forward]` (--detail: also CPU ms per label for
 * the kinds whose name contains KIND; --step-only: time the whole step only, for quick A/B runs;
 * --case: profile the A-DPS step or the forward instead of the training step). Each kind also
 * gets its replay's wall ms and busy cores (CPU ms / wall ms: below the thread count, part of
 * the machine waited, as in the serial texture copies).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { NETWORK_CASES, type NetworkCaseKey, NetworkSteps } from "../bench/network.ts";
import type { Dispatch } from "../gpu/engine.ts";
import { webgpuBackend } from "../src/core/select_backend.ts";

const { values: args } = parseArgs({
  options: {
    batch: { type: "string", default: "16" },
    reps: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    labels: { type: "boolean", default: false },
    detail: { type: "string", default: "" },
    "step-only": { type: "boolean", default: false },
    case: { type: "string", default: "train" },
  },
});

/** Op kind of a dispatch label: the first rule that matches, else the label's first word. */
const KINDS: [string, RegExp][] = [
  ["conv2d (pack weights)", /pack weights/],
  ["conv2d Winograd transforms", /Winograd .*transform/],
  ["conv2d Winograd products", /Winograd products/],
  ["conv2d stage in texture", /conv.*stage .* in a texture/i],
  ["groupNorm stage in texture", /group.?norm.*stage .* in a texture/i],
  ["stage in texture (other)", /stage .* in a texture/],
  [
    "groupNorm backward",
    /group.?norm.*(backward|channel sums|group coefficients|\(dx\)|gamma, beta)/i,
  ],
  ["groupNorm forward", /group.?norm/i],
  ["conv2d backward (dx)", /conv2d\.inputGrad/],
  ["conv2d backward (dw)", /conv2d\.weightGrad/],
  ["conv2d forward", /conv/i],
  ["matmul", /matmul/i],
  ["softmax", /softmax/i],
  ["adam", /^adam/],
  ["ema", /^ema/],
  ["reduce (sum/mean)", /keep=\[/],
  ["resample", /sample2x/],
  ["dropout", /dropout/],
  ["fill", /^fill/],
  ["random", /^random/],
];

function kindOf(label: string): string {
  for (const [k, re] of KINDS) if (re.test(label)) return k;
  const m = /^[A-Za-z_.]+/.exec(label);
  return `elementwise/other: ${m ? m[0] : label}`;
}

const gpu = await webgpuBackend();
if (!gpu) throw new Error("no WebGPU adapter");
const engine = gpu.engine;
const batch = Number(args.batch);
const reps = Number(args.reps);
console.log(`${gpu.name}; preferTextures ${engine.preferTextures}; batch ${batch}`);

/** One recorded engine call, replayable. */
type Call = { kind: string; label: string; run: () => void; dispatch: boolean };
let recording: Call[] | null = null;
const origDispatch = engine.dispatch.bind(engine);
const origCopy = engine.copy.bind(engine);
const origCopyToTexture = engine.copyToTexture.bind(engine);
engine.dispatch = (d: Dispatch) => {
  recording?.push({
    kind: kindOf(d.label),
    label: d.label,
    run: () => origDispatch(d),
    dispatch: true,
  });
  origDispatch(d);
};
engine.copy = (...a: Parameters<typeof engine.copy>) => {
  recording?.push({
    kind: "buffer copy",
    label: "copy",
    run: () => origCopy(...a),
    dispatch: false,
  });
  origCopy(...a);
};
engine.copyToTexture = (...a: Parameters<typeof engine.copyToTexture>) => {
  recording?.push({
    kind: "copy into texture",
    label: "copyToTexture",
    run: () => origCopyToTexture(...a),
    dispatch: false,
  });
  origCopyToTexture(...a);
};

/** Process CPU ms and wall ms of `reps` runs of `f`, one sync at the end. */
async function cpuMs(f: () => void, n: number): Promise<[number, number]> {
  await gpu!.sync();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  await gpu!.sync();
  const c = process.cpuUsage(c0);
  return [(c.user + c.system) / 1000 / n, (performance.now() - t0) / n];
}

using steps = new NetworkSteps(gpu, batch);
const kase = args.case as NetworkCaseKey;
if (!NETWORK_CASES.some((c) => c.key === kase)) {
  throw new Error(`--case must be one of ${NETWORK_CASES.map((c) => c.key).join(", ")}`);
}
for (let i = 0; i < Number(args.warmup); i++) steps.run(kase);
await gpu.sync();

recording = [];
steps.run(kase);
const calls: Call[] = recording;
recording = null;
await gpu.sync();

const [stepCpu, stepWall] = await cpuMs(() => steps.run(kase), reps);
if (args["step-only"]) {
  console.log(`step: ${stepCpu.toFixed(1)} CPU ms (${stepWall.toFixed(1)} wall ms), reps ${reps}`);
  Deno.exit(0);
}

const byKind = new Map<string, Call[]>();
for (const c of calls) {
  let list = byKind.get(c.kind);
  if (!list) byKind.set(c.kind, list = []);
  list.push(c);
}
const rows: { kind: string; calls: number; ms: number; wall: number }[] = [];
for (const [kind, list] of byKind) {
  const [ms, wall] = await cpuMs(() => list.forEach((c) => c.run()), reps);
  rows.push({ kind, calls: list.length, ms, wall });
}
rows.sort((a, b) => b.ms - a.ms);
const sum = rows.reduce((s, r) => s + r.ms, 0);
const nDispatch = calls.filter((c) => c.dispatch).length;

console.log(
  `\nstep: ${stepCpu.toFixed(1)} CPU ms (${stepWall.toFixed(1)} wall ms), ` +
    `${nDispatch} dispatches + ${calls.length - nDispatch} copies, reps ${reps}\n`,
);
// Busy cores = CPU ms / wall ms: below the thread count, part of the machine waited.
console.log("| op kind | calls / step | CPU ms / step | share of step | wall ms | busy cores |");
console.log("| --- | --- | --- | --- | --- | --- |");
const pct = (ms: number) => `${(100 * ms / stepCpu).toFixed(1)}%`;
for (const r of rows) {
  console.log(
    `| ${r.kind} | ${r.calls} | ${r.ms.toFixed(1)} | ${pct(r.ms)} | ${r.wall.toFixed(1)} | ` +
      `${(r.ms / r.wall).toFixed(2)} |`,
  );
}
const wallSum = rows.reduce((s, r) => s + r.wall, 0);
console.log(
  `| sum of kinds | ${calls.length} | ${sum.toFixed(1)} | ${pct(sum)} | ${wallSum.toFixed(1)} | ` +
    `${(sum / wallSum).toFixed(2)} |`,
);
console.log(
  `| gap: tape, bookkeeping, uploads, noise | – | ${(stepCpu - sum).toFixed(1)} | ` +
    `${pct(stepCpu - sum)} | ${(stepWall - wallSum).toFixed(1)} | – |`,
);
console.log(
  `| whole step | – | ${stepCpu.toFixed(1)} | 100% | ${stepWall.toFixed(1)} | ` +
    `${(stepCpu / stepWall).toFixed(2)} |`,
);
if (args.labels) {
  const counts = new Map<string, [string, number]>();
  for (const c of calls) counts.set(c.label, [c.kind, (counts.get(c.label)?.[1] ?? 0) + 1]);
  for (const [l, [k, n]] of counts) console.log(`${n}\t${k}\t${l}`);
}
if (args.detail) {
  for (const [kind, list] of byKind) {
    if (!kind.includes(args.detail)) continue;
    const byLabel = new Map<string, Call[]>();
    for (const c of list) byLabel.set(c.label, [...(byLabel.get(c.label) ?? []), c]);
    console.log(`\n| ${kind}: label | calls / step | CPU ms / step |\n| --- | --- | --- |`);
    const lines: [number, string][] = [];
    for (const [label, cs] of byLabel) {
      const [ms] = await cpuMs(() => cs.forEach((c) => c.run()), reps);
      lines.push([ms, `| ${label} | ${cs.length} | ${ms.toFixed(2)} |`]);
    }
    lines.sort((a, b) => b[0] - a[0]).forEach(([, l]) => console.log(l));
  }
}
