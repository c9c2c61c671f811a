/**
 * The chart of BENCHMARKS.md's speed ratios: every table with a "PyTorch ms" column gives,
 * per row and per other "<engine> ms" column, the ratio PyTorch ms / engine ms, drawn as
 * grouped bars on a log axis around 1 (scripts/figures). Read from the markdown that
 * `deno task bench` writes, so the chart can be redrawn without rerunning the bench.
 *
 * @module
 */
import { type BarDatum, barSpec, writeFigure } from "../scripts/figures/mod.ts";

/** Cells of a markdown table row ("| a | b |" → ["a", "b"]). */
function cells(line: string): string[] {
  return line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
}

/**
 * The ratios PyTorch ms / our ms of every benchmark table in a BENCHMARKS.md.
 *
 * @param markdown the file's text
 * @returns one bar per row × engine ("PyTorch/WebGPU", "PyTorch/CPU twin"), in table order;
 *   rows where either time is missing ("–") are left out
 * @example
 * ```ts
 * import { benchRatios } from "./ratio_chart.ts";
 * const md = "| op | WebGPU ms | PyTorch ms |\n| --- | --- | --- |\n| matmul | 76.2 | 11.2 |\n";
 * console.log(benchRatios(md)); // [{ category: "matmul", group: "PyTorch/WebGPU", value: 0.147 }]
 * ```
 */
export function benchRatios(markdown: string): BarDatum[] {
  const lines = markdown.split("\n");
  const out: BarDatum[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].trim().startsWith("|") || !/^\|[\s:|-]+\|$/.test(lines[i + 1].trim())) continue;
    const head = cells(lines[i]);
    const peer = head.indexOf("PyTorch ms");
    const ours = head.flatMap((h, k) => (/ ms$/.test(h) && k !== peer ? [k] : []));
    for (i += 2; i < lines.length && lines[i].trim().startsWith("|"); i++) {
      if (peer < 0) continue;
      const row = cells(lines[i]);
      for (const k of ours) {
        const [p, o] = [Number(row[peer]), Number(row[k])];
        if (!(p > 0 && o > 0)) continue;
        out.push({ category: row[0], group: `PyTorch/${head[k].slice(0, -3)}`, value: p / o });
      }
    }
  }
  return out;
}

/**
 * Draws the ratios of a BENCHMARKS.md as `base`.svg, .png and .vl.json.
 *
 * @param markdownPath the BENCHMARKS.md to read
 * @param base output path without extension
 * @returns the number of bars drawn
 */
export async function writeBenchRatioChart(markdownPath: string, base: string): Promise<number> {
  const bars = benchRatios(await Deno.readTextFile(markdownPath));
  if (bars.length === 0) throw new Error(`${markdownPath}: no table with PyTorch and our times`);
  await writeFigure(
    base,
    barSpec(bars, {
      title: "Speed against PyTorch (BENCHMARKS.md)",
      subtitle: "same run, log axis, right of 1: we are faster; one time per case, no error bars",
      valueTitle: "PyTorch ms / our ms",
      logValue: true,
      rule: 1,
      format: ".2r",
      suffix: "×",
      width: 460,
    }),
  );
  return bars.length;
}
