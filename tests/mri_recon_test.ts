import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { planarFromInterleaved, readCfl } from "../src/data/cfl.ts";
import { magnitude, mriMetrics } from "../src/metrics/mri.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { estimateCoilMaps, mapCorrelation } from "../src/recon/coil_maps.ts";
import { haar, haarInverse, haarLevels } from "../src/recon/haar.ts";
import { l1WaveletCs, softThreshold } from "../src/recon/l1_wavelet.ts";
import { batchDot, senseCg, zeroFilled } from "../src/recon/sense.ts";
import { sub } from "../src/ops/elementwise.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";

/** The BART fixture (scripts/make-fixture-mri-bart.py), planar: [C, 2, H, W]. */
const D = "fixtures/mri/bart/";
const meta = JSON.parse(await Deno.readTextFile(`${D}bart.json`));
const [C, H, W] = meta.dims as number[];
const HW = H * W;
async function planar(name: string): Promise<Float32Array> {
  const { data } = await readCfl(D + name);
  return planarFromInterleaved(data, data.length / (2 * HW), HW);
}
const fx = {
  kspace: await planar("kspace"),
  maps: await planar("maps"),
  gt: await planar("ground_truth"),
  l1Haar: await planar("pics_l1_haar"),
  l1Default: await planar("pics_l1"),
  sense: await planar("pics_sense"),
  ecalib: await planar("ecalib_maps"),
  mask: Float32Array.from(
    (await Deno.readTextFile(`${D}mask.txt`)).trim().split(/\s+/).map(Number),
  ),
};

function fixtureOp(b: Backend) {
  return new MultiCoilFourier(b.fromArray(fx.maps, [1, C, 2, H, W]), b.fromArray(fx.mask, [1, W]));
}

async function run(f: () => Tensor): Promise<Float64Array> {
  const t = tidy(f);
  const v = Float64Array.from(await t.toArray());
  t.dispose();
  return v;
}

const nrmse = (gt: ArrayLike<number>, x: ArrayLike<number>) => mriMetrics(gt, x, H, W).nrmse;

Deno.test("haar: orthonormal, exact inverse, and one level by its definition (f64 1e-12)", async () => {
  const b = cpuBackend("f64");
  const [n, h, w] = [3, 12, 8];
  const x = new Rng(1).normals(n * 2 * h * w);
  const c = tidy(() => haar(b.fromArray(x, [n, 2, h, w]), 2));
  const parts = [c.approx, ...c.details.flat()];
  let energy = 0;
  for (const t of parts) for (const v of await t.toArray()) energy += v * v;
  assert.ok(Math.abs(energy - x.reduce((s, v) => s + v * v, 0)) < 1e-9 * energy, "‖Ψx‖ = ‖x‖");
  const back = await run(() => haarInverse(c));
  assertClose(back, x, { atol: 1e-12, rtol: 1e-12 }, "Ψᵀ Ψ x = x");
  // Level 1 by definition: 2×2 blocks [a b; c d] → LL = (a+b+c+d)/2, HL = (a−b+c−d)/2, …
  const one = tidy(() => haar(b.fromArray(x, [n, 2, h, w]), 1));
  const [ll, hl, lh, hh] = await Promise.all(
    [one.approx, ...one.details[0]].map((t) => t.toArray()),
  );
  for (let i = 0; i < n * 2; i++) {
    for (let r = 0; r < h / 2; r++) {
      for (let q = 0; q < w / 2; q++) {
        const at = (dr: number, dq: number) => x[i * h * w + (2 * r + dr) * w + 2 * q + dq];
        const [a, bb, cc, d] = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
        const k = i * (h / 2) * (w / 2) + r * (w / 2) + q;
        assertClose(
          [ll[k], hl[k], lh[k], hh[k]],
          [
            (a + bb + cc + d) / 2,
            (a - bb + cc - d) / 2,
            (a + bb - cc - d) / 2,
            (a - bb - cc + d) / 2,
          ],
          { atol: 1e-12, rtol: 1e-12 },
          `block ${k}`,
        );
      }
    }
  }
  for (const t of [...parts, ...[one.approx, ...one.details.flat()]]) t.dispose();
  assert.equal(haarLevels(48, 40, 5, 8), 2);
  assert.equal(haarLevels(384, 320, 9, 8), 5);
  assert.equal(haarLevels(128, 112, 9), 4);
  assert.throws(() => haar(b.full([1, 2, 12, 10], 1), 2), /12×10 is not divisible by 2\^2/);
});

Deno.test("softThreshold: z·max(0, 1 − τ/|z|) per complex coefficient, both backends", async () => {
  const gpu = await gpuOrSkip();
  const z = new Rng(2).normals(2 * 2 * 5 * 3);
  const want = new Float64Array(z.length);
  for (let i = 0; i < 2; i++) {
    for (let p = 0; p < 15; p++) {
      const [re, im] = [z[i * 30 + p], z[i * 30 + 15 + p]];
      const f = Math.max(0, 1 - 0.7 / Math.hypot(re, im));
      want[i * 30 + p] = re * f;
      want[i * 30 + 15 + p] = im * f;
    }
  }
  assert.ok(want.some((v) => v === 0) && want.some((v) => v !== 0), "the case shrinks some to 0");
  for (const b of gpu ? [cpuBackend("f64"), gpu] : [cpuBackend("f64")]) {
    const got = await run(() => softThreshold(b.fromArray(z, [2, 2, 5, 3]), 0.7));
    assertClose(
      got,
      want,
      b.kind === "cpu" ? { atol: 1e-12, rtol: 1e-12 } : { atol: 1e-6, rtol: 1e-5 },
      b.name,
    );
  }
});

Deno.test("senseCg: exact when fully sampled; batched normal-equation residual → 0; zero-filled = Aᴴy", async () => {
  const b = cpuBackend("f64");
  const [n, c, h, w] = [3, 3, 8, 6];
  const rng = new Rng(3);
  const maps = rng.normals(n * c * 2 * h * w);
  const x = rng.normals(n * 2 * h * w);
  for (const full of [true, false]) {
    const mask = Float64Array.from({ length: n * w }, (_, i) => (full || i % 3 ? 1 : 0));
    using op = new MultiCoilFourier(b.fromArray(maps, [n, c, 2, h, w]), b.fromArray(mask, [n, w]));
    const y = tidy(() => op.forward(b.fromArray(x, [n, 2, h, w])));
    const zf = await run(() => zeroFilled(op, y));
    assertClose(zf, await run(() => op.adjoint(y)), { atol: 0, rtol: 0 }, "zero-filled");
    // ‖Aᴴy − AᴴA x_k‖² per slice after k iterations.
    const residual = (k: number) =>
      run(() => {
        const r = sub(op.adjoint(y), op.adjoint(op.forward(senseCg(op, y, { iterations: k }))));
        return batchDot(r, r);
      });
    const [r0, r40] = [await residual(0), await residual(40)];
    for (let i = 0; i < n; i++) {
      assert.ok(r40[i] < 1e-20 * r0[i], `slice ${i}: ${r40[i]} vs ${r0[i]}`);
    }
    if (full) {
      const xs = await run(() => senseCg(op, y, { iterations: 40 }));
      assertClose(xs, x, { atol: 1e-9, rtol: 1e-9 }, "fully sampled SENSE = x");
    }
    y.dispose();
  }
});

Deno.test("SENSE and L1-wavelet vs BART 0.8 on the simulated k-space fixture (both backends)", async () => {
  const gpu = await gpuOrSkip();
  const zfNrmse = nrmse(
    fx.gt,
    await run(() => {
      const b = cpuBackend("f32");
      using op = fixtureOp(b);
      return zeroFilled(op, b.fromArray(fx.kspace, [1, C, 2, H, W]));
    }),
  );
  // BART's own numbers, from bart.json, recomputed here.
  assert.ok(Math.abs(nrmse(fx.gt, fx.sense) - meta.nrmse_vs_ground_truth.pics_sense) < 1e-6);
  for (const b of gpu ? [cpuBackend("f32"), gpu] : [cpuBackend("f32")]) {
    using op = fixtureOp(b);
    const y = b.fromArray(fx.kspace, [1, C, 2, H, W]);
    const sense = await run(() => senseCg(op, y, { iterations: 30 }));
    const l1 = await run(() =>
      l1WaveletCs(op, y, { lambda: meta.lambda, iterations: meta.iterations })
    );
    y.dispose();
    // SENSE: the same least-squares problem, 30 CG iterations each: measured 5e-5 (f32).
    assert.ok(nrmse(fx.sense, sense) < 2e-4, `${b.name}: SENSE vs BART ${nrmse(fx.sense, sense)}`);
    // L1 (Haar, 2 levels, every band thresholded, no cycle spinning, unit scaling: the same
    // objective): measured 0.0057 between the two, 0.1202 (ours) and 0.1194 (BART) vs the
    // ground truth, against 0.1221 for SENSE.
    const ours = nrmse(fx.gt, l1);
    const bart = nrmse(fx.gt, fx.l1Haar);
    assert.ok(nrmse(fx.l1Haar, l1) < 0.01, `${b.name}: ours vs BART ${nrmse(fx.l1Haar, l1)}`);
    assert.ok(
      Math.abs(ours - bart) < 0.005,
      `${b.name}: vs ground truth ${ours} (ours), ${bart} (BART)`,
    );
    assert.ok(
      ours < nrmse(fx.gt, sense) && ours < zfNrmse,
      `L1 ${ours} beats SENSE and zero-filled ${zfNrmse}`,
    );
  }
  // The paper's plain command (Daubechies-2 with cycle spinning, BART's data scaling) does
  // better than Haar: 0.084 vs the ground truth; recorded, not reproduced.
  assert.ok(nrmse(fx.gt, fx.l1Default) < 0.1);
});

Deno.test("coil maps from the ACS agree with bart ecalib and the true simulated maps", () => {
  const est = estimateCoilMaps(fx.kspace, [C, H, W], meta.acs);
  const w = magnitude(fx.gt);
  // Measured: 0.9993 with ESPIRiT, 0.9982 with the true maps (ESPIRiT vs true: 0.9986).
  const withEcalib = mapCorrelation(est, fx.ecalib, C, w);
  const withTrue = mapCorrelation(est, fx.maps, C, w);
  assert.ok(withEcalib > 0.998, `vs ecalib ${withEcalib}`);
  assert.ok(withTrue > 0.996, `vs true ${withTrue}`);
  assert.ok(mapCorrelation(est, fx.maps.slice().reverse(), C, w) < 0.9, "the measure can fail");
  for (let p = 0; p < HW; p += 97) {
    let e = 0;
    for (let k = 0; k < 2 * C; k++) e += est[k * HW + p] ** 2;
    assert.ok(Math.abs(e - 1) < 1e-5, `Σ|S|² at ${p}: ${e}`);
  }
  assert.throws(
    () => estimateCoilMaps(fx.kspace, [C, H, W + 1], 10),
    /do not match \[C, 2, H, W\]/,
  );
});

Deno.test("recon is batched: two slices with their own masks give each slice's own result", async () => {
  const gpu = await gpuOrSkip();
  const mask2 = Float32Array.from(fx.mask, (v, q) => (q % 2 ? 1 : v));
  const k2 = fx.kspace.map((v, i) => (mask2[i % W] ? v : 0));
  // The second slice: the fixture's k-space under another mask (its dropped columns are 0).
  const both = new Float32Array(2 * C * 2 * HW);
  both.set(fx.kspace, 0);
  both.set(k2, C * 2 * HW);
  const maps2 = new Float32Array(2 * fx.maps.length);
  maps2.set(fx.maps, 0);
  maps2.set(fx.maps, fx.maps.length);
  const masks = new Float32Array(2 * W);
  masks.set(fx.mask, 0);
  masks.set(mask2, W);
  for (const b of gpu ? [cpuBackend("f32"), gpu] : [cpuBackend("f32")]) {
    using op2 = new MultiCoilFourier(
      b.fromArray(maps2, [2, C, 2, H, W]),
      b.fromArray(masks, [2, W]),
    );
    using op1 = new MultiCoilFourier(
      b.fromArray(fx.maps, [1, C, 2, H, W]),
      b.fromArray(mask2, [1, W]),
    );
    for (
      const [name, f] of [
        ["sense", (op: MultiCoilFourier, y: Tensor) => senseCg(op, y, { iterations: 8 })],
        ["l1", (op: MultiCoilFourier, y: Tensor) => l1WaveletCs(op, y, { iterations: 8 })],
      ] as const
    ) {
      const batch = await run(() => f(op2, b.fromArray(both, [2, C, 2, H, W])));
      const single = await run(() => f(op1, b.fromArray(k2, [1, C, 2, H, W])));
      assertClose(batch.subarray(2 * HW), single, { atol: 1e-5, rtol: 1e-4 }, `${b.name} ${name}`);
    }
  }
});
