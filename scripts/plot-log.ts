/**
 * Draws a run's loss curve (log.jsonl) as a PNG: trained loss and M̃ loss against images
 * seen, log-scaled, smoothed with a moving average. No plotting library: a few raster lines.
 * `deno run -A scripts/plot-log.ts runs/fmnist-inpaint/log.jsonl docs/fmnist-inpaint-loss.png`
 */
import { encodePng } from "../src/io/png.ts";
import { writeFileAtomic } from "../src/io/safetensors.ts";

const [logPath, outPath, smoothArg] = Deno.args;
if (!logPath || !outPath) {
  console.error("usage: plot-log.ts <log.jsonl> <out.png> [smoothing window, default 20]");
  Deno.exit(2);
}
// Override records of a resume (src/train.ts) carry no loss.
const recs = (await Deno.readTextFile(logPath)).trim().split("\n").map((l) => JSON.parse(l))
  .filter((r) => "loss" in r);
if (recs.length < 2) throw new Error(`${logPath}: fewer than two log lines`);
const W = 800, H = 400, M = 50;
const px = new Uint8Array(W * H * 3).fill(255);
const put = (x: number, y: number, c: [number, number, number]) => {
  if (x < 0 || y < 0 || x >= W || y >= H) return;
  px.set(c, (Math.round(y) * W + Math.round(x)) * 3);
};
const line = (x0: number, y0: number, x1: number, y1: number, c: [number, number, number]) => {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let i = 0; i <= n; i++) put(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
};
const smooth = (v: number[], k: number) =>
  v.map((_, i) => {
    const a = v.slice(Math.max(0, i - k + 1), i + 1);
    return a.reduce((s, x) => s + x, 0) / a.length;
  });
const k = Number(smoothArg ?? 20);
const xs = recs.map((r) => r.images as number);
const series: [number[], [number, number, number]][] = [[smooth(recs.map((r) => r.loss), k), [
  200,
  30,
  30,
]]];
if (recs[0].furtherLoss !== null) {
  series.push([smooth(recs.map((r) => r.furtherLoss), k), [30, 90, 200]]);
}
const all = series.flatMap(([v]) => v).filter((v) => v > 0);
const [lo, hi] = [Math.log10(Math.min(...all)), Math.log10(Math.max(...all))];
const X = (v: number) => M + ((v - xs[0]) / Math.max(1, xs.at(-1)! - xs[0])) * (W - 2 * M);
const Y = (v: number) => H - M - ((Math.log10(v) - lo) / Math.max(1e-9, hi - lo)) * (H - 2 * M);
line(M, H - M, W - M, H - M, [0, 0, 0]);
line(M, M, M, H - M, [0, 0, 0]);
for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
  line(M - 6, Y(10 ** d), W - M, Y(10 ** d), [220, 220, 220]);
}
for (const [v, c] of series) {
  for (let i = 1; i < v.length; i++) line(X(xs[i - 1]), Y(v[i - 1]), X(xs[i]), Y(v[i]), c);
}
await writeFileAtomic(outPath, await encodePng({ width: W, height: H, channels: 3, pixels: px }));
console.log(
  `wrote ${outPath}: ${recs.length} points, ${
    xs.at(-1)
  } images; red: trained loss on M, blue: M̃ loss; ` +
    `log10 range [${lo.toFixed(2)}, ${hi.toFixed(2)}], gridlines at powers of ten`,
);
