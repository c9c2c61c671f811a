/**
 * Draws a run's loss curves (log.jsonl) as `out.svg`, `out.png` and `out.vl.json`: the trained
 * loss (on M) and, for ambient runs, the M̃ loss against images seen, on a log axis, each as a
 * moving geometric mean of the last `window` logged values with a band of ± 1 standard error
 * of their log (the loss jumps by 10× where small σ are drawn, so it is averaged as a log).
 * `deno run -A scripts/plot-log.ts runs/fmnist-inpaint/log.jsonl docs/fmnist-inpaint/loss [20]`
 */
import { type LinePoint, lineSpec, writeFigure } from "./figures/mod.ts";

const [logPath, outArg, windowArg] = Deno.args;
if (!logPath || !outArg) {
  console.error("usage: plot-log.ts <log.jsonl> <out[.svg|.png]> [smoothing window, default 20]");
  Deno.exit(2);
}
const window = Number(windowArg ?? 20);
if (!(Number.isInteger(window) && window >= 1)) {
  throw new Error(`smoothing window ${windowArg}: expected a positive integer`);
}
const out = outArg.replace(/\.(svg|png)$/, "");
// Override records of a resume (src/train/train.ts) carry no loss.
const recs = (await Deno.readTextFile(logPath)).trim().split("\n").map((l) => JSON.parse(l))
  .filter((r) => "loss" in r);
if (recs.length < 2) throw new Error(`${logPath}: fewer than two log lines`);

/** Moving geometric mean of `values` over the last `k` entries, ± 1 SE of the logs. */
function smoothed(series: string, values: number[], k: number): LinePoint[] {
  return values.flatMap((_, i) => {
    const logs = values.slice(Math.max(0, i - k + 1), i + 1).filter((v) => v > 0).map(Math.log10);
    if (logs.length === 0) return [];
    const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
    const se = logs.length > 1
      ? Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (logs.length - 1) / logs.length)
      : 0;
    const x = recs[i].images as number;
    return [{ series, x, y: 10 ** mean, lo: 10 ** (mean - se), hi: 10 ** (mean + se) }];
  });
}

const points = smoothed("trained loss (on M)", recs.map((r) => r.loss), window);
if (recs[0].furtherLoss !== null && recs[0].furtherLoss !== undefined) {
  points.push(...smoothed("M̃ loss", recs.map((r) => r.furtherLoss), window));
}
await writeFigure(
  out,
  lineSpec(points, {
    title: `Training loss (${logPath.split("/").slice(-2).join("/")})`,
    subtitle: `moving geometric mean of ${window} logged values; band: ± 1 SE of their log`,
    xTitle: "images seen",
    yTitle: "loss (log scale)",
    logY: true,
    errors: "band",
    width: 640,
    height: 320,
  }),
);
console.log(
  `wrote ${out}.svg, .png and .vl.json: ${recs.length} log lines, ${recs.at(-1).images} images`,
);
