import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { batchMetrics, batchMetricsFromArrays, imageMetrics } from "../src/metrics/batch.ts";
import { magnitude, mriBatchMetrics, mriMetrics } from "../src/metrics/mri.ts";
import { nrmse } from "../src/metrics/nrmse.ts";
import { psnr } from "../src/metrics/psnr.ts";
import { ssim } from "../src/metrics/ssim.ts";
import { Rng } from "../src/core/rng.ts";
import { gpuOrSkip } from "./harness.ts";
import { reshape } from "../src/ops/reshape.ts";

interface Pair {
  name: string;
  kind: "real" | "complex";
  shape: [number, number, number];
  gt: string;
  x: string;
  dataRange?: number;
  psnr: number;
  ssim: number;
  nrmse: number;
}

const DIR = new URL("../fixtures/metrics/", import.meta.url);
const golden: { pairs: Pair[] } = JSON.parse(await Deno.readTextFile(new URL("golden.json", DIR)));

async function load(file: string): Promise<Float32Array> {
  const bytes = await Deno.readFile(new URL(file, DIR));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from(
    { length: bytes.byteLength / 4 },
    (_, i) => view.getFloat32(4 * i, true),
  );
}

function near(actual: number, expected: number, tol: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual}, skimage ${expected}`);
}

Deno.test("metrics match scikit-image's goldens (PSNR, NRMSE rel 1e-4; SSIM abs 1e-4)", async (t) => {
  for (const p of golden.pairs) {
    await t.step(`${p.name} [${p.shape}]`, async () => {
      const gt = await load(p.gt);
      const x = await load(p.x);
      const [c, h, w] = p.shape;
      assert.equal(gt.length, c * h * w);
      const m = p.kind === "real"
        ? imageMetrics(gt, x, p.shape, { dataRange: p.dataRange! })
        : mriMetrics(gt, x, h, w);
      near(m.psnr, p.psnr, 1e-4 * p.psnr, "psnr");
      near(m.nrmse, p.nrmse, 1e-4 * p.nrmse, "nrmse");
      near(m.ssim, p.ssim, 1e-4, "ssim");
      // The separate entry points agree with the bundle.
      if (p.kind === "real") {
        assert.equal(psnr(gt, x, { dataRange: p.dataRange! }), m.psnr);
        assert.equal(nrmse(gt, x), m.nrmse);
        assert.equal(
          ssim(gt, x, { dataRange: p.dataRange!, height: h, width: w, channels: c }),
          m.ssim,
        );
      }
    });
  }
});

Deno.test("metrics: identical images give ssim 1, psnr ∞, nrmse 0", () => {
  const rng = new Rng(5);
  const gt = Float64Array.from({ length: 3 * 11 * 9 }, () => rng.normal());
  const m = imageMetrics(gt, gt, [3, 11, 9], { dataRange: 2 });
  assert.equal(m.psnr, Infinity);
  assert.equal(m.nrmse, 0);
  near(m.ssim, 1, 1e-12, "ssim");
  const z = mriMetrics(gt.subarray(0, 2 * 11 * 9), gt.subarray(0, 2 * 11 * 9), 11, 9);
  assert.deepEqual([z.psnr, z.nrmse], [Infinity, 0]);
  near(z.ssim, 1, 1e-12, "mri ssim");
});

Deno.test("metrics: hand-computed values and properties", () => {
  near(psnr([0, 0.5, 1], [0, 0.5, 0.9], { dataRange: 1 }), 10 * Math.log10(300), 1e-12, "psnr");
  near(nrmse([3, 4], [3, 3]), 0.2, 1e-15, "nrmse");
  // A constant image vs a shifted constant: variances vanish, SSIM is the luminance term.
  const a = new Float64Array(7 * 7).fill(0.2);
  const b = new Float64Array(7 * 7).fill(0.6);
  const c1 = (0.01 * 1) ** 2;
  const want = (2 * 0.2 * 0.6 + c1) / (0.2 ** 2 + 0.6 ** 2 + c1);
  near(ssim(a, b, { dataRange: 1, height: 7, width: 7 }), want, 1e-12, "constant ssim");
  // SSIM is symmetric; PSNR falls as noise grows; NRMSE scales with the error.
  const rng = new Rng(9);
  const g = Float64Array.from({ length: 20 * 16 }, () => rng.uniform());
  const n = Float64Array.from(g, () => rng.normal());
  const x1 = g.map((v, i) => v + 0.05 * n[i]);
  const x2 = g.map((v, i) => v + 0.1 * n[i]);
  const o = { dataRange: 1, height: 20, width: 16 };
  near(ssim(g, x1, o), ssim(x1, g, o), 1e-12, "symmetry");
  assert.ok(ssim(g, x1, o) > ssim(g, x2, o));
  near(psnr(g, x1, o) - psnr(g, x2, o), 20 * Math.log10(2), 1e-9, "psnr halving noise");
  near(nrmse(g, x2) / nrmse(g, x1), 2, 1e-12, "nrmse ratio");
  // Magnitudes: |3 + 4i| = 5.
  assert.deepEqual(Array.from(magnitude([3, 0, 4, -2])), [5, 2]);
});

Deno.test("metrics: shape errors", () => {
  const a = new Float64Array(36);
  assert.throws(() => ssim(a, a, { dataRange: 1, height: 6, width: 6 }), /smaller than 7×7/);
  assert.throws(() => ssim(a, a, { dataRange: 1, height: 4, width: 8 }), /do not fill/);
  assert.throws(() => ssim(a, a, { dataRange: 1, height: 6, width: 6, winSize: 4 }), /odd/);
  assert.throws(() => psnr(a, a.subarray(1), { dataRange: 1 }), /same non-zero size/);
  assert.throws(() => mriMetrics(a, a, 3, 3), /\[2, 3, 3\]/);
});

Deno.test("batch metrics over [N, C, H, W]: per image, means, tensors on each backend", async () => {
  const rng = new Rng(11);
  const shape = [3, 3, 9, 10];
  const size = 3 * 9 * 10;
  const gt = Float32Array.from({ length: 3 * size }, () => rng.uniform() * 2 - 1);
  const x = gt.map((v, i) => v + 0.02 * (i % 3 + 1) * rng.normal());
  const host = batchMetricsFromArrays(gt, x, shape, { dataRange: 2 });
  assert.equal(host.perImage.length, 3);
  for (let i = 0; i < 3; i++) {
    const one = imageMetrics(
      gt.subarray(i * size, (i + 1) * size),
      x.subarray(i * size, (i + 1) * size),
      shape.slice(1),
      { dataRange: 2 },
    );
    assert.deepEqual(host.perImage[i], one);
  }
  near(host.mean.ssim, host.perImage.reduce((s, r) => s + r.ssim, 0) / 3, 1e-15, "mean ssim");
  const gpu = await gpuOrSkip();
  for (const b of gpu ? [cpuBackend(), gpu] : [cpuBackend()]) {
    const tg = b.fromArray(gt, shape);
    const tx = b.fromArray(x, shape);
    assert.deepEqual(await batchMetrics(tg, tx, { dataRange: 2 }), host, b.name);
    const mri = await mriBatchMetrics(reshape(tg, [3, 2, 9, 15]), reshape(tx, [3, 2, 9, 15]));
    assert.deepEqual(
      mri.perImage[1],
      mriMetrics(gt.subarray(size, 2 * size), x.subarray(size, 2 * size), 9, 15),
    );
    await assert.rejects(
      () => batchMetrics(tg, reshape(tx, [3, 270]), { dataRange: 2 }),
      /one shape/,
    );
    tg.dispose();
    tx.dispose();
  }
});
