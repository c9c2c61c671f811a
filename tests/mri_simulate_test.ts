import assert from "node:assert/strict";
import { acsScale, coilImages, rootSumOfSquares } from "../src/mri/normalise.ts";
import { birdcageMaps, resizeArea, smoothPhase } from "../src/mri/phantom.ts";
import { simulateSlice } from "../src/mri/simulate.ts";
import { Rng } from "../src/core/rng.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { FastMriFile } from "../src/data/fastmri.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { tidy } from "../src/core/scope.ts";
import { assertClose } from "./harness.ts";

Deno.test("resizeArea: keeps the mean, constant stays constant, 2× shrink is a 2×2 average", () => {
  const rng = new Rng(1);
  const img = Float32Array.from({ length: 37 * 29 }, () => rng.uniform());
  const small = resizeArea(img, 37, 29, 13, 11);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(small) - mean(img)) < 1e-6, `${mean(small)} vs ${mean(img)}`);
  assert.ok(
    resizeArea(new Float32Array(35).fill(3), 5, 7, 3, 2).every((v) => Math.abs(v - 3) < 1e-6),
  );
  const half = resizeArea(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 2, 4, 1, 2);
  assert.deepEqual(Array.from(half), [3.5, 5.5]);
});

Deno.test("birdcage maps: Σ|S_c|² = 1 at every pixel, each coil brightest near its side", () => {
  const [c, h, w] = [5, 24, 18];
  const s = birdcageMaps({ coils: c, height: h, width: w, rotation: 0.3 });
  const hw = h * w;
  for (let p = 0; p < hw; p++) {
    let e = 0;
    for (let k = 0; k < 2 * c; k++) e += s[k * hw + p] ** 2;
    assert.ok(Math.abs(e - 1) < 1e-5, `pixel ${p}: ${e}`);
  }
  // Coil 0 sits at angle 0.3 (right of centre): its right edge is brighter than its left.
  const mag = (q: number) => Math.hypot(s[12 * w + q], s[hw + 12 * w + q]);
  assert.ok(mag(w - 1) > 2 * mag(0), `${mag(w - 1)} vs ${mag(0)}`);
});

Deno.test("smoothPhase: seeded and smooth (neighbour steps ≪ π)", () => {
  const p = smoothPhase(32, 28, 4);
  assert.deepEqual(p, smoothPhase(32, 28, 4));
  assert.notDeepEqual(p, smoothPhase(32, 28, 5));
  for (let r = 0; r < 32; r++) {
    for (let q = 1; q < 28; q++) assert.ok(Math.abs(p[r * 28 + q] - p[r * 28 + q - 1]) < 0.3);
  }
});

Deno.test("simulateSlice: stated SNR, normalised so the central RSS 99th percentile is 1", () => {
  const [c, h, w] = [4, 40, 32];
  const image = new Float32Array(h * w);
  for (let r = 8; r < 32; r++) {
    for (let q = 6; q < 26; q++) image[r * w + q] = 1 + 0.3 * Math.sin(r + q);
  }
  const maps = birdcageMaps({ coils: c, height: h, width: w });
  for (const snrDb of [10, 30]) {
    const s = simulateSlice({ image, maps, dims: [c, h, w], snrDb, seed: 3 });
    assert.ok(Math.abs(acsScale(s.kspace, [c, h, w]) - 1) < 1e-5, "normalised");
    // Noise power: coil images minus S·x, whose energy is that of the k-space noise (F unitary).
    const coils = coilImages(s.kspace, [c, h, w]);
    const hw = h * w;
    let sig = 0;
    let err = 0;
    for (let k = 0; k < c; k++) {
      for (let p = 0; p < hw; p++) {
        const [sr, si] = [maps[2 * k * hw + p], maps[(2 * k + 1) * hw + p]];
        const [xr, xi] = [s.groundTruth[p], s.groundTruth[hw + p]];
        const [yr, yi] = [sr * xr - si * xi, sr * xi + si * xr];
        sig += yr * yr + yi * yi;
        err += (coils[2 * k * hw + p] - yr) ** 2 + (coils[(2 * k + 1) * hw + p] - yi) ** 2;
      }
    }
    const got = 10 * Math.log10(sig / err);
    assert.ok(Math.abs(got - snrDb) < 0.3, `SNR ${got} dB, asked ${snrDb}`);
    assert.ok(Math.abs(s.sigma ** 2 * 2 * c * hw - err) < 0.1 * err, "sigma matches the noise");
    const rss = rootSumOfSquares(coils, c);
    assert.equal(rss.length, hw);
    assert.deepEqual(Array.from(rss), Array.from(s.rss));
  }
});

Deno.test("mri:simulate: a missing source says how to install it, and nothing is written", async () => {
  const out = await Deno.makeTempDir();
  const p = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "scripts/mri-simulate.ts",
      "--out",
      `${out}/d`,
      "--source",
      `${out}/none.nii.gz`,
    ],
    stderr: "piped",
    stdout: "null",
  }).output();
  assert.equal(p.code, 2);
  assert.match(
    new TextDecoder().decode(p.stderr),
    /none\.nii\.gz not found: install Debian's mricron-data \(apt-get install -y mricron-data\)/,
  );
  assert.deepEqual([...Deno.readDirSync(out)], []);
});

/** A synthetic NIfTI-1 volume (uint8 ellipsoid with a darker core), 0.5 mm voxels. */
function syntheticNifti(nx: number, ny: number, nz: number): Uint8Array {
  const bytes = new Uint8Array(352 + nx * ny * nz);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 348, true);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((d, k) => v.setInt16(40 + 2 * k, d, true));
  v.setInt16(70, 2, true);
  v.setInt16(72, 8, true);
  [1, 0.5, 0.5, 0.5].forEach((d, k) => v.setFloat32(76 + 4 * k, d, true));
  v.setFloat32(108, 352, true);
  v.setFloat32(112, 1, true);
  bytes.set([0x6e, 0x2b, 0x31, 0], 344);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const r = ((x - nx / 2) / (0.45 * nx)) ** 2 + ((y - ny / 2) / (0.45 * ny)) ** 2 +
          ((z - nz / 2) / (0.48 * nz)) ** 2;
        bytes[352 + (z * ny + y) * nx + x] = r < 0.2 ? 60 : r < 1 ? 200 : 0;
      }
    }
  }
  return bytes;
}

Deno.test("mri:simulate end to end on a synthetic volume: layout, labels, disjoint split, A x + noise", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/vol.nii`, syntheticNifti(40, 48, 60));
  const p = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "scripts/mri-simulate.ts",
      "--out",
      `${dir}/d`,
      "--source",
      `${dir}/vol.nii`,
      "--size",
      "24x20",
      "--coils",
      "3",
      "--slices",
      "6",
      "--held-out",
      "2",
      "--snr",
      "20",
    ],
    stderr: "piped",
    stdout: "piped",
  }).output();
  assert.equal(p.code, 0, new TextDecoder().decode(p.stderr));
  assert.match(new TextDecoder().decode(p.stderr), /simulated k-space: 6\/6 slices/);
  assert.deepEqual([...Deno.readDirSync(`${dir}/d`)].map((e) => e.name).sort(), [
    "dataset.json",
    "held-out.h5",
    "train.h5",
  ]);
  const info = JSON.parse(await Deno.readTextFile(`${dir}/d/dataset.json`));
  assert.equal(info.data, "simulated k-space");
  const [train, held] = info.splits;
  assert.equal(train.z.length, 4);
  assert.equal(held.z.length, 2);
  const gap = Math.min(
    ...train.z.flatMap((a: number) => held.z.map((b: number) => Math.abs(a - b))),
  );
  assert.ok(gap > 8, `held-out slices are ${gap} slices (0.5 mm) from training ones`);
  using f = await FastMriFile.open(`${dir}/d/held-out.h5`);
  assert.deepEqual([f.info.slices, f.info.coils, f.info.height, f.info.width], [2, 3, 24, 20]);
  assert.equal(f.info.attrs.data, "simulated k-space");
  assert.match(f.info.header, /simulated k-space/);
  const [c, h, w] = [3, 24, 20];
  const b = cpuBackend("f64");
  for (let s = 0; s < 2; s++) {
    const maps = f.maps(s);
    using op = new MultiCoilFourier(b.fromArray(maps, [1, c, 2, h, w]), b.full([1, w], 1));
    const ax = tidy(() => op.forward(b.fromArray(f.groundTruth(s), [1, 2, h, w])));
    const clean = await ax.toArray();
    ax.dispose();
    const k = f.kspace(s);
    let [sig, err] = [0, 0];
    k.forEach((v, i) => {
      sig += clean[i] ** 2;
      err += (v - clean[i]) ** 2;
    });
    const snr = 10 * Math.log10(sig / err);
    assert.ok(Math.abs(snr - 20) < 0.5, `slice ${s}: k-space = F S x + noise at ${snr} dB`);
    assert.ok(Math.abs(acsScale(k, [c, h, w]) - 1) < 1e-4, "normalised");
    const rss = rootSumOfSquares(coilImages(k, [c, h, w]), c);
    assertClose(f.rss(s), rss, { atol: 1e-5, rtol: 1e-4 }, "reconstruction_rss");
  }
});
