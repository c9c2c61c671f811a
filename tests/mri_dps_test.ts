/**
 * MRI reconstruction with a diffusion prior (docs/method.md §4, §5.1, §5.3). A-DPS against a
 * float64 oracle that shares no sampler code with the package: its own ρ = 7 levels from 10 to
 * 0.004, its own Euler recursion x ← x + Δσ(x − D)/σ − ζ Jᵀ Aᵀ r/‖r‖, and Ã, A_inf as dense
 * matrices read off the fully sampled operator's rows. The "network" is linear in the 4-channel
 * input, so D = k(σ)·ÃᴴÃ x + (mask and ones terms) and its Jacobian k(σ)·ÃᴴÃ is known. Then
 * the library calls on a tiny random gated U-Net: shapes, NFE and VJP counts, and A-OS as one
 * evaluation on [M_infᴴ y, M_inf, ones].
 */
import assert from "node:assert/strict";
import { mriAdps, mriAos, mriFsDps } from "../src/api.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { concat, slice } from "../src/ops/concat.ts";
import { add, mul, scale } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { columnMask, columnMasks } from "../src/mri/masks.ts";
import { EDMPrecond } from "../src/nn/precond.ts";
import { SongUNet } from "../src/nn/song_unet.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { Rng } from "../src/core/rng.ts";
import { MRI_DPS, mriAmbientDenoiser, mriDps, withColumns } from "../src/sampling/mri.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";

const [N, C, H, W] = [2, 3, 4, 24];
const D = 2 * H * W;
const k = (s: number) => 1 / (1 + s * s);
const [ONES, MASK] = [0.1, 0.05];

/** h(u, σ) = k(σ)·u_image + ONES·σ·u_ones + MASK·u_mask (the last two on both planes). */
const linearNetwork = (u: Tensor, s: number): Tensor =>
  add(
    scale(slice(u, 1, 0, 2), k(s)),
    add(scale(slice(u, 1, 3, 1), ONES * s), scale(slice(u, 1, 2, 1), MASK)),
  );

/** ρ = 7 levels from 10 to 0.004 written out, then 0. */
function levels(n: number): number[] {
  const [hi, lo] = [10 ** (1 / 7), 0.004 ** (1 / 7)];
  return [...Array.from({ length: n }, (_, i) => (hi + (i / (n - 1)) * (lo - hi)) ** 7), 0];
}

/** Rows of the fully sampled A (one per k-space value), each tagged with its column. */
async function denseRows(b: Backend, maps: Float64Array) {
  const full = new Float64Array(W).fill(1);
  using op = new MultiCoilFourier(b.fromArray(maps, [1, C, 2, H, W]), b.fromArray(full, [1, W]));
  const eye = new Float64Array(D * D).map((_, i) => (i % (D + 1) === 0 ? 1 : 0));
  using cols = tidy(() => op.forward(b.fromArray(eye, [D, 2, H, W])));
  const a = await cols.toArray(); // [D, m]: column q of A
  const m = a.length / D;
  return Array.from({ length: m }, (_, r) => ({
    column: r % W,
    row: Float64Array.from({ length: D }, (_, q) => a[q * m + r]),
  }));
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

Deno.test("MRI A-DPS: the package's run equals a float64 oracle of the reference's Euler recursion (both backends)", async () => {
  const rng = new Rng(5);
  const maps = rng.normals(C * 2 * H * W, 0.6);
  const x0 = rng.normals(N * D);
  const inf = columnMask(W, { r: 3, acs: 4, seed: 1, slice: 0 });
  const tilde = columnMasks(W, [0], { r: 2, acs: 4, seed: 2, further: true });
  const steps = 25;
  const seed = 11;
  const rows = await denseRows(cpuBackend("f64"), maps);
  const aInf = rows.filter((r) => inf[r.column] === 1).map((r) => r.row);
  const aTilde = rows.filter((r) => tilde[r.column] === 1).map((r) => r.row);
  assert.ok(Math.max(aTilde.length, aInf.length) < rows.length, "both under-sampled");
  const gram = (x: Float64Array) => {
    const out = new Float64Array(D);
    for (const r of aTilde) {
      const v = dot(r, x);
      for (let q = 0; q < D; q++) out[q] += v * r[q];
    }
    return out;
  };
  // The constant part of D: ONES·σ everywhere, MASK·M̃ over rows, on both planes.
  const constant = (s: number) =>
    Float64Array.from({ length: D }, (_, q) => ONES * s + MASK * tilde[q % W]);
  const z = await tidy(() => randomNormal(cpuBackend("f64"), [N, 2, H, W], seed)).toArray();
  const t = levels(steps);
  const oracle = (zeta: number) => {
    const want = new Float64Array(N * D);
    for (let n = 0; n < N; n++) {
      const truth = x0.slice(n * D, (n + 1) * D);
      const y = aInf.map((r) => dot(r, truth));
      let x = Float64Array.from({ length: D }, (_, q) => t[0] * z[n * D + q]);
      for (let i = 0; i < steps; i++) {
        const g = gram(x), c = constant(t[i]);
        const d = Float64Array.from({ length: D }, (_, q) => k(t[i]) * g[q] + c[q]);
        const r = aInf.map((row, j) => dot(row, d) - y[j]);
        const rn = Math.sqrt(dot(r, r));
        const atr = new Float64Array(D);
        aInf.forEach((row, j) => row.forEach((v, q) => (atr[q] += v * r[j] / rn)));
        const pull = gram(atr).map((v) => zeta * k(t[i]) * v); // (kG̃)ᵀ Aᵀ r/‖r‖
        x = x.map((v, q) => v + (t[i + 1] - t[i]) * (v - d[q]) / t[i] - pull[q]);
      }
      want.set(x, n * D);
    }
    return want;
  };
  // The reference's l = 1 on ∇‖r‖²/‖r‖ is ζ = 2 on ∇‖r‖.
  const want = oracle(2);
  assert.deepEqual(
    [
      MRI_DPS.steps,
      MRI_DPS.heun,
      MRI_DPS.zeta,
      MRI_DPS.clipDenoised,
      MRI_DPS.sigmaMin,
      MRI_DPS.sigmaMax,
      MRI_DPS.rho,
    ],
    [500, false, 2, false, 0.004, 10, 7],
  );

  const gpu = await gpuOrSkip();
  for (const b of gpu ? [cpuBackend("f64"), gpu] : [cpuBackend("f64")]) {
    using op = new MultiCoilFourier(b.fromArray(maps, [1, C, 2, H, W]), b.fromArray(inf, [1, W]));
    using tildeOp = withColumns(op, b.fromArray(tilde, [1, W]));
    using y = tidy(() => op.forward(b.fromArray(x0, [N, 2, H, W])));
    const steps0: number[] = [];
    const { x, nfe, vjps } = mriDps(mriAmbientDenoiser(linearNetwork, tildeOp), op, y, {
      steps,
      seed,
      onStep: ({ i }) => steps0.push(i),
    });
    const got = await x.toArray();
    x.dispose();
    assert.deepEqual(
      [nfe, vjps, steps0.length],
      [steps, steps, steps],
      "Euler: 1 NFE, 1 VJP a step",
    );
    const scaleOf = Math.max(...want.map(Math.abs));
    const tol = b.kind === "cpu" ? 1e-9 : 2e-3;
    assertClose(got, want, { atol: tol * scaleOf, rtol: tol }, `${b.name} A-DPS vs oracle`);
  }
  // The likelihood steps matter here: without them the result is far from the oracle's.
  const prior = oracle(0);
  assert.ok(want.some((v, q) => Math.abs(v - prior[q]) > 0.1), "the measurements move x");
});

/** A tiny random gated U-Net as a loaded model would hold it. */
function tinyModel(b: Backend, ambient: boolean, h: number, w: number, outChannels = 2) {
  const net = new EDMPrecond(
    new SongUNet({
      imgResolution: h,
      inChannels: ambient ? 4 : 2,
      outChannels,
      modelChannels: 8,
      channelMult: [1, 1],
      numBlocks: 1,
      attnResolutions: [],
      dropout: 0,
      gated: true,
    }),
  );
  const params = net.model.registry.materialize(b, 3);
  const config = { ambient } as TrainConfig; // only `ambient` is read by the MRI calls
  return { net, params, config, shape: [2, h, w] as const, backend: b };
}

Deno.test("MRI library calls on a tiny gated U-Net: shapes, NFE and VJP counts, A-OS's input", async () => {
  const b = cpuBackend();
  const [h, w, c] = [8, 64, 2]; // W = 64 holds ACS 20 in M̃ at R = 2 (⌊64/3⌋ = 21)
  const rng = new Rng(9);
  using op = new MultiCoilFourier(
    b.fromArray(rng.normals(c * 2 * h * w, 0.5), [1, c, 2, h, w]),
    b.fromArray(columnMask(w, { r: 2, acs: 4, seed: 0, slice: 0 }), [1, w]),
  );
  using y = tidy(() => op.forward(b.fromArray(rng.normals(2 * 2 * h * w), [2, 2, h, w])));
  const amb = tinyModel(b, true, h, w), clean = tinyModel(b, false, h, w);
  const a = mriAdps(amb, op, y, { seed: 1, rTrain: 2, steps: 3 });
  const f = mriFsDps(clean, op, y, { seed: 1, steps: 3 });
  assert.deepEqual([a.x.shape, a.nfe, a.vjps], [[2, 2, h, w], 3, 3]);
  assert.deepEqual([f.x.shape, f.nfe, f.vjps], [[2, 2, h, w], 3, 3]);
  for (const v of [...await a.x.toArray(), ...await f.x.toArray()]) assert.ok(Number.isFinite(v));
  a.x.dispose(), f.x.dispose();
  // A-OS = the network once, at σ = 0.003, on [Re, Im of A_infᴴ y, M_inf over rows, ones].
  using one = mriAos(amb, op, y);
  using direct = tidy(() => {
    const mInf = b.fromArray(columnMask(w, { r: 2, acs: 4, seed: 0, slice: 0 }), [1, 1, 1, w]);
    const rows = mul(mInf, b.full([2, 1, h, 1], 1));
    const input = concat([op.adjoint(y), rows, b.full([2, 1, h, w], 1)], 1);
    const ctx = { training: false, seed: 0, stream: 0 };
    return amb.net.forward(amb.params, input, b.full([2], 0.003), ctx);
  });
  assertClose(await one.toArray(), await direct.toArray(), { atol: 1e-6, rtol: 1e-6 }, "A-OS");
  assert.throws(() => mriAdps(amb, op, y, { seed: 1 }), /give rTrain/);
  assert.throws(() => mriAdps(clean, op, y, { seed: 1, rTrain: 2 }), /use mriFsDps/);
  assert.throws(() => mriFsDps(amb, op, y, { seed: 1 }), /use mriAdps/);
  // The reference's width: 4 outputs, of which A-DPS and A-OS read the first two.
  const wide = tinyModel(b, true, h, w, 4);
  const aw = mriAdps(wide, op, y, { seed: 1, rTrain: 2, steps: 2 });
  assert.deepEqual([aw.x.shape, aw.nfe], [[2, 2, h, w], 2]);
  aw.x.dispose();
  using oneWide = mriAos(wide, op, y);
  assert.deepEqual(oneWide.shape, [2, 2, h, w]);
  const wrong = tinyModel(b, true, 8, 8);
  assert.throws(() => mriAos(wrong, op, y), /works on \[2,8,8\]/);
  for (const p of [amb.params, clean.params, wide.params, wrong.params]) {
    for (const t of p.values()) {
      t.dispose();
    }
  }
});
