/**
 * The MRI physics page (docs/mri-physics/): one held-out slice of simulated k-space, its
 * coil images and maps, column masks at R = 2, 4, 6, 8 (with P̃), and zero-filled, SENSE,
 * L1-wavelet (ours) and BART's L1-wavelet reconstructions with NRMSE / SSIM / PSNR on
 * magnitudes (`mriMetrics`). BART runs only if installed (apt-get install -y bart).
 *
 * ```
 * deno task mri:simulate --out out/mri-sim
 * deno run -A scripts/mri-physics.ts --data out/mri-sim --out docs/mri-physics
 * ```
 */
import { cpuBackend } from "../src/core/select_backend.ts";
import {
  interleavedFromPlanar,
  planarFromInterleaved,
  readCfl,
  writeCfl,
} from "../src/data/cfl.ts";
import { FastMriFile } from "../src/data/fastmri.ts";
import { writePngGrid } from "../src/io/png.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { magnitude, mriMetrics } from "../src/metrics/mri.ts";
import { padImages, showMagnitudes } from "./mri/images.ts";
import { columnMask, furtherCorruptColumns } from "../src/mri/masks.ts";
import { coilImages } from "../src/mri/normalise.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { l1WaveletCs } from "../src/recon/l1_wavelet.ts";
import { senseCg, zeroFilled } from "../src/recon/sense.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { exitOnUsageError, parseFlags } from "./cli.ts";

exitOnUsageError();
const a = parseFlags({
  data: { type: "string", default: "out/mri-sim" },
  out: { type: "string", default: "docs/mri-physics" },
  slice: { type: "string", default: "8" },
  acs: { type: "string", default: "8" },
  lambda: { type: "string", default: "0.005" },
  seed: { type: "string", default: "0" },
});
const slice = Number(a.slice);
const acs = Number(a.acs);
const lambda = Number(a.lambda);
const seed = Number(a.seed);
const RS = [2, 4, 6, 8];

using f = await FastMriFile.open(`${a.data}/held-out.h5`);
const { coils: C, height: H, width: W } = f.info;
const HW = H * W;
const kFull = f.kspace(slice);
const maps = f.maps(slice);
const gt = f.groundTruth(slice);
await Deno.mkdir(a.out!, { recursive: true });
const b = cpuBackend("f32");

const show = (planar: Float32Array, n: number, max: number) => showMagnitudes(planar, n, HW, max);
const gtMax = Math.max(...magnitude(gt));

// Coil images and maps.
const coils = coilImages(kFull, [C, H, W]);
let coilMax = 0;
for (let i = 0; i < C; i++) {
  coilMax = Math.max(coilMax, ...magnitude(coils.subarray(2 * i * HW, 2 * (i + 1) * HW)));
}
// Rows: ground truth, the coil images, the coil maps (white = 1).
await writeRows(`${a.out}/coils.png`, [
  padImages(show(gt, 1, gtMax), C, HW),
  show(coils, C, coilMax),
  show(maps, C, 1),
]);

/** Writes rows of equally many [H, W] images (values in [−1, 1]) as one PNG grid. */
async function writeRows(path: string, rows: Float32Array[]): Promise<void> {
  const cols = rows[0].length / HW;
  const all = new Float32Array(rows.length * cols * HW);
  rows.forEach((r, i) => all.set(r, i * cols * HW));
  await writePngGrid(path, all, [rows.length * cols, 1, H, W], { cols });
}

// Masks: M at each R (white columns kept) and P̃'s further-corrupted M̃.
const masks = RS.map((r) => columnMask(W, { r, acs, seed, slice }));
const further = RS.map((r, i) => furtherCorruptColumns(masks[i], { r, acs, seed, slice }));
// Kept columns light grey, so that they stand apart from the white grid padding.
const maskImage = (m: Uint8Array) =>
  Float32Array.from({ length: HW }, (_, p) => 1.4 * m[p % W] - 1);
// Rows: M at R = 2, 4, 6, 8, then M̃.
await writeRows(`${a.out}/masks.png`, [
  Float32Array.from(masks.flatMap((m) => [...maskImage(m)])),
  Float32Array.from(further.flatMap((m) => [...maskImage(m)])),
]);

/** BART's pics on one masked k-space, or null when bart is missing. */
async function bartPics(kMasked: Float32Array, extra: string[]): Promise<Float32Array | null> {
  const dir = await Deno.makeTempDir();
  try {
    await writeCfl(`${dir}/k`, [W, H, 1, C], interleavedFromPlanar(kMasked, C, HW));
    await writeCfl(`${dir}/s`, [W, H, 1, C], interleavedFromPlanar(maps, C, HW));
    const args = ["pics", "-l1", "-r", `${lambda}`, "-i", "100", "-S", ...extra];
    const p = await new Deno.Command("bart", {
      args: [...args, `${dir}/k`, `${dir}/s`, `${dir}/x`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!p.success) {
      throw new Error(`bart ${args.join(" ")}: ${new TextDecoder().decode(p.stderr)}`);
    }
    return planarFromInterleaved((await readCfl(`${dir}/x`)).data, 1, HW);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const METHODS = ["zero-filled", "SENSE", "L1 (ours)", "L1 (BART haar)", "L1 (BART)"] as const;
const rows: Float32Array[] = [];
const table: Record<string, unknown>[] = [];
let bartMissing = false;
for (const [i, r] of RS.entries()) {
  const mask = Float32Array.from(masks[i]);
  using op = new MultiCoilFourier(b.fromArray(maps, [1, C, 2, H, W]), b.fromArray(mask, [1, W]));
  const kMasked = kFull.map((v, j) => v * mask[j % W]);
  const y = b.fromArray(kMasked, [1, C, 2, H, W]);
  const run = async (fn: () => Tensor) => {
    const t = tidy(fn);
    const v = Float32Array.from(await t.toArray());
    t.dispose();
    return v;
  };
  const started = performance.now();
  const recons: (Float32Array | null)[] = [
    await run(() => zeroFilled(op, y)),
    await run(() => senseCg(op, y, { iterations: 30 })),
    await run(() => l1WaveletCs(op, y, { lambda, iterations: 100 })),
    await bartPics(kMasked, ["--wavelet", "haar", "-n", "-w", "1"]),
    await bartPics(kMasked, []),
  ];
  y.dispose();
  bartMissing ||= recons[3] === null;
  const images = new Float32Array(6 * HW).fill(NaN);
  images.set(show(gt, 1, gtMax));
  recons.forEach((x, k) => x && images.set(show(x, 1, gtMax), (k + 1) * HW));
  rows.push(images);
  const kept = masks[i].reduce((s, v) => s + v, 0);
  for (const [k, x] of recons.entries()) {
    if (x) table.push({ R: r, columns: kept, method: METHODS[k], ...mriMetrics(gt, x, H, W) });
  }
  console.error(`R=${r}: ${kept} columns, ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
await writeRows(`${a.out}/recon.png`, rows);

const fmt = (v: number, d: number) => v.toFixed(d);
const md = [
  "| R | columns kept | method | NRMSE | SSIM | PSNR (dB) |",
  "|---|---|---|---|---|---|",
  ...table.map((t) =>
    `| ${t.R} | ${t.columns} / ${W} | ${t.method} | ${fmt(t.nrmse as number, 4)} | ${
      fmt(t.ssim as number, 4)
    } | ${fmt(t.psnr as number, 2)} |`
  ),
].join("\n");
const info = {
  data: "simulated k-space",
  source: `${a.data}/held-out.h5`,
  slice,
  size: [H, W],
  coils: C,
  acs,
  lambda,
  seed,
  bart: bartMissing ? "not installed (apt-get install -y bart)" : "bart 0.8 (Debian)",
  command: `deno run -A scripts/mri-physics.ts ${Deno.args.join(" ")}`,
  metrics: table,
};
await writeFileAtomic(
  `${a.out}/metrics.json`,
  new TextEncoder().encode(JSON.stringify(info, null, 1)),
);
await writeFileAtomic(`${a.out}/table.md`, new TextEncoder().encode(md + "\n"));
console.log(md);
