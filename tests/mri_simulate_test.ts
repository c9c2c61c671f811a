import assert from "node:assert/strict";
import { acsScale, coilImages, rootSumOfSquares } from "../src/mri/normalise.ts";
import { birdcageMaps, resizeArea, smoothPhase } from "../src/mri/phantom.ts";
import { simulateSlice } from "../src/mri/simulate.ts";
import { Rng } from "../src/rng.ts";

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
