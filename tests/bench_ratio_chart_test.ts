import assert from "node:assert/strict";
import { benchRatios } from "../bench/ratio_chart.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

Deno.test("bench ratios: PyTorch ms / our ms of every table row, missing times left out", () => {
  const md = [
    "# Benchmarks",
    "",
    "| op | unit | WebGPU ms | WebGPU rate | CPU twin ms | PyTorch ms | PyTorch/WebGPU |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    "| matmul 1024³ | GFLOP/s | 76.2 | 28.2 | 1071.9 | 11.2 | 0.15× |",
    "| fft2c | GFLOP/s | 40.7 | 1.0 | – | 4.68 | 0.11× |",
    "",
    "| kernel | GFLOP/s |",
    "| --- | --- |",
    "| FMAs only | 117.9 |",
    "",
    "| step | WebGPU ms | WebGPU peak MiB | PyTorch ms |",
    "|---|---|---|---|",
    "| forward D(x, σ) | 721.0 | 165.3 | 123.0 |",
  ].join("\n");
  const got = benchRatios(md).map((b) => [b.category, b.group, Number(b.value.toFixed(6))]);
  assert.deepEqual(got, [
    ["matmul 1024³", "PyTorch/WebGPU", Number((11.2 / 76.2).toFixed(6))],
    ["matmul 1024³", "PyTorch/CPU twin", Number((11.2 / 1071.9).toFixed(6))],
    ["fft2c", "PyTorch/WebGPU", Number((4.68 / 40.7).toFixed(6))],
    ["forward D(x, σ)", "PyTorch/WebGPU", Number((123 / 721).toFixed(6))],
  ]);
});

Deno.test("bench ratios: the committed BENCHMARKS.md gives both engines' ratio per case", async () => {
  const md = await Deno.readTextFile(`${ROOT}BENCHMARKS.md`);
  const bars = benchRatios(md);
  const cases = new Set(bars.map((b) => b.category));
  assert.ok(cases.size >= 10, [...cases].join(", "));
  assert.equal(bars.length, 2 * cases.size);
  // The table's own rounded ratio column agrees with the ratio of its times.
  for (const line of md.split("\n").filter((l) => l.startsWith("| matmul 1024³"))) {
    const printed = Number(line.split("|").at(-3)!.trim().replace("×", ""));
    const bar = bars.find((b) => b.category === "matmul 1024³" && b.group === "PyTorch/WebGPU")!;
    assert.equal(Number(bar.value.toFixed(2)), printed);
  }
});
