/**
 * Redraws the chart of the speed ratios from the numbers in BENCHMARKS.md, without rerunning
 * the bench (which draws it itself after each run).
 * `deno run -A scripts/plot-bench.ts [BENCHMARKS.md] [docs/bench-ratios]`
 */
import { writeBenchRatioChart } from "../bench/ratio_chart.ts";

const [markdown = "BENCHMARKS.md", base = "docs/bench-ratios"] = Deno.args;
const n = await writeBenchRatioChart(markdown, base);
console.log(`wrote ${base}.svg, .png and .vl.json: ${n} ratios from ${markdown}`);
