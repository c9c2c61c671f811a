/**
 * Builds a simulated k-space data set (docs/mri-physics/): axial slices of the Colin27 T1
 * volume (Debian's mricron-data), resized, with a smooth synthetic phase, birdcage coil
 * maps (Σ_c |S_c|² = 1) and complex Gaussian noise at a stated SNR, in the fastMRI layout
 * (plus `maps` and `ground_truth`). Training and held-out slices come from disjoint z
 * bands 4 mm apart, so no held-out slice has a near-copy in training.
 *
 * ```
 * deno task mri:simulate --out out/mri-sim [--size 128x112 --coils 4 --slices 160 --held-out 16 --snr 30]
 * ```
 */
import { writeFastMri } from "../src/data/fastmri.ts";
import { readNifti } from "../src/data/nifti.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { birdcageMaps, resizeArea } from "../src/mri/phantom.ts";
import { simulateSlice } from "../src/mri/simulate.ts";
import { Rng } from "../src/core/rng.ts";
import { exitOnUsageError, parseFlags, UsageError } from "./cli.ts";

const USAGE = `usage: deno task mri:simulate --out DIR [options]   (writes simulated k-space)
  --size HxW       image size (128x112)
  --coils C        simulated coils (4)
  --slices N       slices in all (160)
  --held-out M     of them held out (16)
  --snr DB         k-space SNR in dB (30)
  --seed S         seed of phases, coil placement and noise (0)
  --source FILE    NIfTI volume (${"/usr/share/mricron/templates/ch2better.nii.gz"})`;

exitOnUsageError();
const a = parseFlags({
  out: { type: "string" },
  size: { type: "string", default: "128x112" },
  coils: { type: "string", default: "4" },
  slices: { type: "string", default: "160" },
  "held-out": { type: "string", default: "16" },
  snr: { type: "string", default: "30" },
  seed: { type: "string", default: "0" },
  source: { type: "string", default: "/usr/share/mricron/templates/ch2better.nii.gz" },
  help: { type: "boolean" },
});

/** A user's mistake: one line and status 2 (exitOnUsageError). */
function fail(msg: string): never {
  throw new UsageError(`mri:simulate: ${msg} (--help lists the flags)`);
}

if (a.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!a.out) fail("--out DIR is required");
const [height, width] = (a.size ?? "").split("x").map(Number);
const coils = Number(a.coils);
const total = Number(a.slices);
const heldOut = Number(a["held-out"]);
const snrDb = Number(a.snr);
const seed = Number(a.seed);
for (
  const [name, v, lo] of [
    ["--size H", height, 8],
    ["--size W", width, 8],
    ["--coils", coils, 1],
    ["--slices", total, 2],
    ["--held-out", heldOut, 1],
    ["--seed", seed, 0],
  ] as const
) {
  if (!(Number.isInteger(v) && v >= lo)) fail(`${name} must be an integer ≥ ${lo}, got ${v}`);
}
if (heldOut >= total) fail(`--held-out ${heldOut} must be below --slices ${total}`);
if (!Number.isFinite(snrDb)) fail(`--snr must be a number of dB, got ${a.snr}`);

const source = a.source!;
try {
  await Deno.stat(source);
} catch {
  fail(
    `${source} not found: install Debian's mricron-data (apt-get install -y mricron-data) ` +
      `or pass --source FILE.nii.gz`,
  );
}
const vol = await readNifti(source);
if (vol.dims.length < 3) fail(`${source}: need a 3-D volume, got dims [${vol.dims}]`);
const [nx, ny, nz] = vol.dims;

// Usable axial slices: more than a quarter of the slice above 10% of the volume's maximum.
let peak = 0;
for (const v of vol.data) peak = Math.max(peak, v);
const usable: number[] = [];
for (let z = 0; z < nz; z++) {
  let n = 0;
  for (let i = 0; i < nx * ny; i++) if (vol.data[z * nx * ny + i] > 0.1 * peak) n++;
  if (n > 0.25 * nx * ny) usable.push(z);
}
const zs = pickSlices(usable, total - heldOut, heldOut);

/** Training z's evenly over the range outside a held-out band (60–70% up), 8 slices apart. */
function pickSlices(zs: number[], nTrain: number, nHeld: number) {
  const [z0, z1] = [zs[0], zs[zs.length - 1]];
  const band = [Math.round(z0 + 0.6 * (z1 - z0)), Math.round(z0 + 0.7 * (z1 - z0))];
  const gap = Math.round(4 / (vol.pixdim[2] || 1));
  const held = zs.filter((z) => z >= band[0] && z <= band[1]);
  const train = zs.filter((z) => z < band[0] - gap || z > band[1] + gap);
  if (held.length < nHeld || train.length < nTrain) {
    fail(`${source}: only ${train.length} training and ${held.length} held-out slices usable`);
  }
  const even = (s: number[], n: number) =>
    Array.from({ length: n }, (_, i) => s[Math.floor(((i + 0.5) * s.length) / n)]);
  return { train: even(train, nTrain), heldOut: even(held, nHeld) };
}

/** An axial slice, anterior up, fitted into H×W keeping its aspect ratio (zero padded). */
function axial(z: number): Float32Array {
  const img = new Float32Array(nx * ny);
  for (let r = 0; r < ny; r++) {
    for (let q = 0; q < nx; q++) img[r * nx + q] = vol.data[(z * ny + (ny - 1 - r)) * nx + q];
  }
  const s = Math.min(height / ny, width / nx);
  const [h, w] = [Math.min(height, Math.round(ny * s)), Math.min(width, Math.round(nx * s))];
  const small = resizeArea(img, ny, nx, h, w);
  const out = new Float32Array(height * width);
  const [r0, q0] = [Math.floor((height - h) / 2), Math.floor((width - w) / 2)];
  for (let r = 0; r < h; r++) out.set(small.subarray(r * w, (r + 1) * w), (r0 + r) * width + q0);
  return out;
}

await Deno.mkdir(a.out, { recursive: true });
const dims: [number, number, number] = [coils, height, width];
const hw = height * width;
const started = performance.now();
let done = 0;
const meta: Record<string, unknown>[] = [];
for (const [split, list] of [["train", zs.train], ["held-out", zs.heldOut]] as const) {
  const n = list.length;
  const kspace = new Float32Array(n * coils * 2 * hw);
  const maps = new Float32Array(n * coils * 2 * hw);
  const groundTruth = new Float32Array(n * 2 * hw);
  const rss = new Float32Array(n * hw);
  const scales: number[] = [];
  list.forEach((z, i) => {
    // Each slice gets its own coil placement, phase and noise, all from (seed, z).
    const rng = new Rng(seed * 100003 + z);
    const s = birdcageMaps({
      coils,
      height,
      width,
      radius: 1 + 0.2 * rng.uniform(),
      rotation: (2 * Math.PI * rng.uniform()) / coils,
    });
    const sim = simulateSlice({ image: axial(z), maps: s, dims, snrDb, seed: seed * 100003 + z });
    kspace.set(sim.kspace, i * coils * 2 * hw);
    maps.set(s, i * coils * 2 * hw);
    groundTruth.set(sim.groundTruth, i * 2 * hw);
    rss.set(sim.rss, i * hw);
    scales.push(sim.scale);
    done++;
    const secs = (performance.now() - started) / 1000;
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `\rsimulated k-space: ${done}/${total} slices (${split}, z=${z}) ${secs.toFixed(1)} s `,
      ),
    );
  });
  const header = `<ismrmrdHeader><!-- simulated k-space from ${source} --><encoding>` +
    `<encodedSpace><matrixSize><x>${height}</x><y>${width}</y><z>1</z></matrixSize>` +
    `</encodedSpace></encoding></ismrmrdHeader>`;
  await writeFastMri(`${a.out}/${split}.h5`, {
    kspace,
    dims: [n, coils, height, width],
    rss,
    maps,
    groundTruth,
    header,
    attrs: { data: "simulated k-space", source, split },
  });
  meta.push({ split, file: `${split}.h5`, z: list, scales });
}
Deno.stderr.writeSync(new TextEncoder().encode("\n"));
const info = {
  data: "simulated k-space",
  source,
  size: [height, width],
  coils,
  snrDb,
  seed,
  normalisation:
    "each slice divided by the 99th percentile of the RSS of its central 24x24 k-space",
  command: `deno task mri:simulate ${Deno.args.join(" ")}`,
  splits: meta,
};
await writeFileAtomic(
  `${a.out}/dataset.json`,
  new TextEncoder().encode(JSON.stringify(info, null, 1)),
);
console.log(
  `wrote ${a.out}/train.h5 (${zs.train.length} slices), ${a.out}/held-out.h5 (${zs.heldOut.length}), ` +
    `dataset.json: simulated k-space, ${coils} coils, ${height}×${width}, SNR ${snrDb} dB`,
);
