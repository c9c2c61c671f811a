import assert from "node:assert/strict";
import sharp from "sharp";
import {
  barSpec,
  heatMapSpec,
  labelledGridPng,
  lineSpec,
  renderFigure,
  seriesColour,
  writeFigure,
} from "../scripts/figures/mod.ts";

/** Decodes a PNG with sharp (libpng checks every chunk) into RGB pixels. */
async function decode(png: Uint8Array) {
  const { data, info } = await sharp(png, { failOn: "warning" }).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  return { width: info.width, height: info.height, pixels: data };
}

/** Pixels within `tol` of a hex colour, per channel. */
function countColour(pixels: Uint8Array, hex: string, tol = 12): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < pixels.length; i += 3) {
    if (c.every((v, k) => Math.abs(pixels[i + k] - v) <= tol)) n++;
  }
  return n;
}

/** The texts of an SVG's <text> elements. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

const POINTS = [
  { series: "clean", x: 25, y: 15.4, lo: 15.0, hi: 15.8 },
  { series: "clean", x: 100, y: 22.1, lo: 21.3, hi: 22.9 },
  { series: "ambient", x: 25, y: 15.1, lo: 14.0, hi: 16.2 },
  { series: "ambient", x: 100, y: 20.1, lo: 19.3, hi: 41 },
];
const OPTS = {
  title: "PSNR vs m",
  subtitle: "bars: ± 1 SE",
  xTitle: "measurements m",
  yTitle: "PSNR (dB)",
  logX: true,
  width: 300,
  height: 200,
};

Deno.test("figures: a line spec renders to SVG and PNG of the same size, with its titles", async () => {
  const fig = await renderFigure(lineSpec(POINTS, OPTS), 2);
  assert.match(fig.svg, /^<svg/);
  // The plot (300 × 200) plus axes, titles and legend.
  assert.ok(fig.width > 300 && fig.width < 600, `SVG width ${fig.width}`);
  assert.ok(fig.height > 200 && fig.height < 450, `SVG height ${fig.height}`);
  const texts = svgTexts(fig.svg);
  for (
    const t of ["measurements m", "PSNR (dB)", "PSNR vs m", "bars: ± 1 SE", "clean", "ambient"]
  ) {
    assert.ok(texts.includes(t), `no text "${t}" in the SVG: ${texts.join(" | ")}`);
  }
  // The interval's hi of 41 widens the y axis: the error bars are drawn, not just the lines.
  assert.ok(texts.some((t) => Number(t) >= 40), `no y tick ≥ 40: ${texts.join(" | ")}`);
  const png = await decode(fig.png);
  assert.equal(png.width, Math.round(2 * fig.width));
  assert.equal(png.height, Math.round(2 * fig.height));
  // Both series' colours are on the raster, in the palette's order.
  for (const i of [0, 1]) {
    const n = countColour(png.pixels, seriesColour(i).hex);
    assert.ok(n > 200, `${n} pixels of ${seriesColour(i).name}`);
  }
});

Deno.test("figures: writeFigure writes the spec, the SVG and the PNG beside each other", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-figures-" });
  try {
    const spec = lineSpec(POINTS, { ...OPTS, errors: "band" });
    const paths = await writeFigure(`${dir}/psnr`, spec, 1);
    assert.deepEqual(paths, [`${dir}/psnr.vl.json`, `${dir}/psnr.svg`, `${dir}/psnr.png`]);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(paths[0])), spec);
    const svg = await Deno.readTextFile(paths[1]);
    const png = await decode(await Deno.readFile(paths[2]));
    const size = svg.match(/width="([\d.]+)" height="([\d.]+)"/)!;
    assert.deepEqual([png.width, png.height], [Math.round(+size[1]), Math.round(+size[2])]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("figures: bad line and bar data fail with a message", () => {
  assert.throws(
    () => lineSpec([{ series: "a", x: 1, y: 2, lo: 1 }], OPTS),
    /only one of lo and hi/,
  );
  const bars = [{ category: "matmul", group: "ratio", value: 0 }];
  assert.throws(
    () => barSpec(bars, { title: "t", valueTitle: "v", logValue: true, rule: 1 }),
    /log axis needs values > 0/,
  );
  assert.throws(
    () => barSpec([{ ...bars[0], value: 2 }], { title: "t", valueTitle: "v", logValue: true }),
    /baseline/,
  );
});

Deno.test("figures: ratio bars start at the rule and print their values", async () => {
  const spec = barSpec([
    { category: "matmul 1024³", group: "PyTorch/WebGPU", value: 0.15 },
    { category: "matmul 1024³", group: "PyTorch/CPU twin", value: 0.01 },
    { category: "conv2d fwd", group: "PyTorch/WebGPU", value: 1.5 },
  ], { title: "Speed", valueTitle: "PyTorch ms / our ms", logValue: true, rule: 1, suffix: "×" });
  const fig = await renderFigure(spec, 1);
  const texts = svgTexts(fig.svg);
  for (
    const t of ["matmul 1024³", "conv2d fwd", "0.15×", "0.01×", "1.50×", "PyTorch ms / our ms"]
  ) {
    assert.ok(texts.includes(t), `no text "${t}": ${texts.join(" | ")}`);
  }
  const png = await decode(fig.png);
  assert.ok(countColour(png.pixels, seriesColour(1).hex) > 100, "no CPU-twin bar");
});

Deno.test("figures: a heat map prints each cell's label, white on its darkest cells", async () => {
  const spec = heatMapSpec([
    { x: "p = 0.2", y: "SR ×4", value: 4, label: "+4.00 ± 0.5" },
    { x: "p = 0.4", y: "SR ×4", value: 0.1 },
    { x: "p = 0.2", y: "CS m = 25", value: -4 },
    { x: "p = 0.4", y: "CS m = 25", value: Number.NaN },
  ], {
    title: "ambient − clean",
    xTitle: "prior",
    yTitle: "problem",
    valueTitle: "dB",
    center: 0,
  });
  const fig = await renderFigure(spec, 1);
  const texts = svgTexts(fig.svg);
  for (const t of ["+4.00 ± 0.5", "0.10", "−4.00", "prior", "problem"]) {
    assert.ok(texts.includes(t), `no text "${t}": ${texts.join(" | ")}`);
  }
  assert.ok(!texts.includes("NaN"), "the missing cell is printed");
  const fill = (label: string) =>
    fig.svg.match(new RegExp(`<text[^>]*fill="([^"]+)"[^>]*>${label}</text>`))?.[1];
  assert.equal(fill("−4.00"), "white");
  assert.equal(fill("0.10"), "black");
});

Deno.test("figures: labelled image grid: images magnified in place, labels drawn as text", async () => {
  const [h, w, cols, scale] = [6, 5, 3, 3];
  const truth = new Float32Array(cols * h * w).fill(-1); // black
  const recon = new Float32Array(cols * h * w).fill(1); // white
  const png = await decode(
    await labelledGridPng(
      [{ label: "truth", images: truth }, { label: "ambient", images: recon }],
      [1, h, w],
      { scale, columns: ["a", "b", "c"] },
    ),
  );
  const gridW = (2 + cols * (w + 2)) * scale, gridH = (2 + 2 * (h + 2)) * scale;
  const left = png.width - gridW, top = png.height - gridH;
  assert.ok(left > 20 && top > 10, `label margins ${left} × ${top}`);
  const at = (x: number, y: number) => png.pixels[(y * png.width + x) * 3];
  // Row 0 is black inside every image, row 1 white; the padding is white.
  for (let j = 0; j < cols; j++) {
    const x = left + (2 + j * (w + 2)) * scale;
    for (let dx = 0; dx < w * scale; dx++) {
      assert.equal(at(x + dx, top + 2 * scale + 1), 0, `truth image ${j} at +${dx}`);
      assert.equal(at(x + dx, top + (2 + h + 2) * scale + 1), 255, `ambient image ${j}`);
    }
  }
  // Text ink left of the rows and above the columns (the margins are otherwise white).
  const dark = (x0: number, x1: number, y0: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) n += at(x, y) < 128 ? 1 : 0;
    return n;
  };
  assert.ok(dark(0, left, top, top + (2 + h) * scale) > 10, "no row label");
  assert.ok(dark(left, png.width, 0, top) > 5, "no column labels");
  await assert.rejects(
    () => labelledGridPng([{ label: "x", images: new Float32Array(7) }], [1, h, w]),
    /whole number/,
  );
});
