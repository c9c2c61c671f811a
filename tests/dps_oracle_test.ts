/**
 * DPS against an oracle that shares no code with the package: its own noise levels (ρ = 7
 * written out, with hand-computed values checked), its own float64 recursion of the
 * reference's step (likelihood step at both Heun stages, averaged), and the operator as a
 * dense matrix read off `op.forward` on the unit images. The prior is per-pixel Gaussian,
 * x ~ N(μ, diag(s²)), whose exact denoiser D = μ + k ⊙ (x − μ), k = s²/(s² + σ²), has the
 * Jacobian diag(k), so ∇ₓ‖A D − y‖ = k ⊙ Aᵀr/‖r‖ in closed form. Then two problems with a
 * known answer: A = 0 (DPS is the unconditional sampler, whose moments are the prior's) and
 * A = I with small σ_y (the result lies within the noise of y).
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { scale } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { GaussianCompressedSensing } from "../src/operators/compressed_sensing.ts";
import { Identity } from "../src/operators/identity.ts";
import { LinearOperator } from "../src/operators/linear_operator.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { dps, type DpsOptions } from "../src/sampling/dps.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { makePrior, type Prior, priorOn } from "./gaussian_prior.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";
import { assertPixelMoments } from "./moments.ts";

/** EDM's levels with ρ = 7 written out: ((1 − f)·σmax^(1/7) + f·σmin^(1/7))^7, then 0. */
function oracleLevels(n: number, sigmaMin: number, sigmaMax: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = n === 1 ? 0 : i / (n - 1);
    const root = (1 - f) * Math.pow(sigmaMax, 1 / 7) + f * Math.pow(sigmaMin, 1 / 7);
    out.push(root * root * root * root * root * root * root);
  }
  out.push(0);
  return out;
}

Deno.test("the oracle's levels: endpoints and a midpoint computed by hand", () => {
  const t = oracleLevels(3, 0.002, 80);
  // (80^(1/7) + 0.002^(1/7))/2 = (1.87012 + 0.41156)/2 = 1.14084; its 7th power ≈ 2.5152.
  assert.ok(Math.abs(t[0] - 80) < 1e-12 && Math.abs(t[2] - 0.002) < 1e-15 && t[3] === 0);
  assert.ok(Math.abs(t[1] - 2.5152) < 1e-3, `midpoint ${t[1]}`);
});

/** A = 0 with m outputs: forward 0·x read through a matrix of zeros, adjoint 0. */
class ZeroOperator extends LinearOperator {
  readonly name = "zero";
  forward(x: Tensor): Tensor {
    return scale(x, 0);
  }
  adjoint(y: Tensor): Tensor {
    return scale(y, 0);
  }
}

/** The operator as a dense m × P matrix (row-major), read off forward on the P unit images. */
async function denseMatrix(op: LinearOperator, backend: Backend, h: number, w: number) {
  const p = h * w;
  const eye = new Float64Array(p * p);
  for (let q = 0; q < p; q++) eye[q * p + q] = 1;
  using cols = tidy(() => op.forward(backend.fromArray(eye, [p, 1, h, w])));
  const c = await cols.toArray(); // [P, m]: column q of A
  const m = c.length / p;
  const a = new Float64Array(m * p);
  for (let q = 0; q < p; q++) for (let r = 0; r < m; r++) a[r * p + q] = c[q * m + r];
  return { a, m };
}

/** What the oracle needs of a run. */
interface Oracle {
  prior: Prior;
  a: Float64Array;
  m: number;
  t: number[];
  heun: boolean;
  zeta: number;
  secondStage: boolean;
  norm: "sample" | "batch";
}

/** DPS in plain float64 on the whole batch: z [n, P] initial noise, y [n, m]. */
function oracleDps(o: Oracle, z: ArrayLike<number>, y: ArrayLike<number>, n: number): number[] {
  const { prior, a, m, t, heun, zeta } = o;
  const p = prior.mu.length;
  const v = prior.s.map((s) => s * s);
  const kOf = (sigma: number) => v.map((vq) => vq / (vq + sigma * sigma));
  const denoise = (x: number[], k: number[]) =>
    x.map((xq, i) => prior.mu[i % p] + k[i % p] * (xq - prior.mu[i % p]));
  // ∇ₓ‖A D − y‖ for every sample: k ⊙ Aᵀr / ‖r‖, the norm per sample or over the batch.
  const pull = (d: number[], k: number[]) => {
    const r = new Array(n * m).fill(0);
    for (let j = 0; j < n; j++) {
      for (let row = 0; row < m; row++) {
        let s = -y[j * m + row];
        for (let q = 0; q < p; q++) s += a[row * p + q] * d[j * p + q];
        r[j * m + row] = s;
      }
    }
    const norms = new Array(n).fill(0);
    for (let j = 0; j < n; j++) {
      for (let row = 0; row < m; row++) norms[j] += r[j * m + row] ** 2;
    }
    const total = Math.sqrt(norms.reduce((s, x) => s + x, 0));
    const g = new Array(n * p).fill(0);
    for (let j = 0; j < n; j++) {
      const nrm = o.norm === "batch" ? total : Math.sqrt(norms[j]);
      if (nrm === 0) continue;
      for (let q = 0; q < p; q++) {
        let s = 0;
        for (let row = 0; row < m; row++) s += a[row * p + q] * r[j * m + row];
        g[j * p + q] = zeta * k[q] * s / nrm;
      }
    }
    return g;
  };
  let x = Array.from(z, (zq) => t[0] * zq);
  for (let i = 0; i + 1 < t.length; i++) {
    const [s0, s1] = [t[i], t[i + 1]];
    const k0 = kOf(s0);
    const d0 = denoise(x, k0);
    const g0 = pull(d0, k0);
    const slope0 = x.map((xq, q) => (xq - d0[q]) / s0);
    const euler = x.map((xq, q) => xq + (s1 - s0) * slope0[q]);
    if (!heun || s1 === 0) {
      x = euler.map((e, q) => e - g0[q]);
      continue;
    }
    const at = o.secondStage ? euler.map((e, q) => e - g0[q]) : euler;
    const k1 = kOf(s1);
    const d1 = denoise(at, k1);
    const slope1 = at.map((xq, q) => (xq - d1[q]) / s1);
    const g1 = o.secondStage ? pull(d1, k1) : g0;
    x = x.map((xq, q) => xq + 0.5 * (s1 - s0) * (slope0[q] + slope1[q]) - 0.5 * (g0[q] + g1[q]));
  }
  return x;
}

type OperatorKind = "inpainting" | "cs";

function makeOperator(kind: OperatorKind, b: Backend, h: number, w: number): LinearOperator {
  return kind === "inpainting"
    ? new RandomInpainting(b, { height: h, width: w, p: 0.5, seed: 21 })
    : new GaussianCompressedSensing(b, { shape: [1, h, w], m: 5, seed: 4 });
}

/** Runs `dps` on a backend and the oracle on what it drew; returns both. */
async function compare(
  backend: Backend,
  kind: OperatorKind,
  prior: Prior,
  n: number,
  opts: Required<Pick<DpsOptions, "steps" | "heun" | "zeta">> & Partial<DpsOptions>,
) {
  const { h, w } = prior;
  const shape = [n, 1, h, w];
  using pr = priorOn(backend, prior);
  using op = makeOperator(kind, backend, h, w);
  const xTrue = new Rng(77).normals(n * h * w).map((e, i) => prior.mu[i % (h * w)] + 0.4 * e);
  using y = tidy(() => op.noisy(op.forward(backend.fromArray(xTrue, shape)), 0.05, 8));
  const r = dps(pr.denoise, op, y, backend, shape, {
    ...opts,
    clipDenoised: false,
    seed: 13,
  });
  using x = r.x;
  using z = randomNormal(backend, shape, 13);
  const [got, zs, ys] = await Promise.all([x, z, y].map((t) => t.toArray()));
  const { a, m } = await denseMatrix(op, backend, h, w);
  const o: Oracle = {
    prior,
    a,
    m,
    t: oracleLevels(opts.steps, opts.sigmaMin ?? 0.002, opts.sigmaMax ?? 80),
    heun: opts.heun,
    zeta: opts.zeta,
    secondStage: opts.secondStageLikelihood ?? true,
    norm: opts.norm ?? "sample",
  };
  return { got, want: oracleDps(o, zs, ys, n), plain: oracleDps({ ...o, zeta: 0 }, zs, ys, n), r };
}

const CASES = [
  { name: "Heun, both stages, per-sample norm", steps: 6, heun: true, zeta: 0.3 },
  { name: "Heun, both stages, batch norm", steps: 6, heun: true, zeta: 0.6, norm: "batch" },
  { name: "Heun, first stage only", steps: 6, heun: true, zeta: 0.3, secondStageLikelihood: false },
  { name: "Euler", steps: 7, heun: false, zeta: 0.3 },
] as const;

Deno.test("dps follows the independent float64 oracle (f64, f32 twins, WebGPU; inpainting and CS)", async (t) => {
  const prior = makePrior(3, 4, 2); // 12 pixels: not a multiple of anything
  const n = 5;
  const gpu = await gpuOrSkip();
  for (const kind of ["inpainting", "cs"] as const) {
    for (const c of CASES) {
      await t.step(`${kind}: ${c.name}`, async () => {
        const f64 = await compare(cpuBackend("f64"), kind, prior, n, c);
        // The likelihood step moved the samples: not the ζ = 0 check in disguise.
        assert.ok(f64.plain.some((v, i) => Math.abs(v - f64.got[i]) > 0.05), "ζ had no effect");
        assertClose(f64.got, f64.want, { atol: 1e-9, rtol: 1e-9 }, "f64 twin vs oracle");
        const heunSteps = c.heun ? 2 * c.steps - 1 : c.steps;
        assert.equal(f64.r.nfe, heunSteps, "NFE");
        const both = c.heun && !("secondStageLikelihood" in c);
        assert.equal(f64.r.vjps, both ? 2 * c.steps - 1 : c.steps, "VJPs");
        const f32 = await compare(cpuBackend("f32"), kind, prior, n, c);
        assertClose(f32.got, f32.want, { atol: 2e-4, rtol: 2e-4 }, "f32 twin vs oracle");
        if (!gpu) return;
        const g = await compare(gpu, kind, prior, n, c);
        assertClose(g.got, g.want, { atol: 2e-4, rtol: 2e-4 }, "WebGPU vs oracle");
      });
    }
  }
});

Deno.test("A = 0: dps is the unconditional sampler and draws the prior's moments", async () => {
  // y ≠ 0 but A D does not depend on x: the likelihood gradient is exactly 0 at both stages.
  const prior = makePrior(2, 3, 5);
  const b = cpuBackend("f64");
  const n = 3000;
  const shape = [n, 1, 2, 3];
  using pr = priorOn(b, prior);
  using op = new ZeroOperator();
  using y = b.full(shape, 0.7);
  const opts = { steps: 40, zeta: 3, clipDenoised: false, seed: 9 };
  using x = dps(pr.denoise, op, y, b, shape, opts).x;
  const xs = await x.toArray();
  prior.mu.forEach((m, p) => {
    // The ODE starts from N(0, σmax²) rather than N(μ, s² + σmax²): a bias far below 5 SE.
    assertPixelMoments(xs, n, 6, p, m, prior.s[p] ** 2, `pixel ${p}`);
  });
});

Deno.test("A = I with small σ_y: the reconstruction lies within the noise of y", async () => {
  const prior = makePrior(4, 4, 6);
  const b = cpuBackend("f64");
  const n = 8;
  const shape = [n, 1, 4, 4];
  const sigmaY = 0.02;
  using pr = priorOn(b, prior);
  using op = new Identity();
  const rng = new Rng(3);
  const xTrue = Array.from(
    { length: n * 16 },
    (_, i) => prior.mu[i % 16] + prior.s[i % 16] * rng.normal(),
  );
  using y = tidy(() => op.noisy(b.fromArray(xTrue, shape), sigmaY, 4));
  // ζ small enough that the fixed-length step's jitter stays inside the noise of y.
  const opts = { steps: 100, zeta: 0.1, clipDenoised: false, seed: 2 };
  using x = dps(pr.denoise, op, y, b, shape, opts).x;
  const [xs, ys] = await Promise.all([x.toArray(), y.toArray()]);
  for (let j = 0; j < n; j++) {
    let toY = 0;
    let yToPrior = 0;
    for (let q = 0; q < 16; q++) {
      toY += (xs[j * 16 + q] - ys[j * 16 + q]) ** 2;
      yToPrior += (ys[j * 16 + q] - prior.mu[q]) ** 2;
    }
    const rmsToY = Math.sqrt(toY / 16);
    // Within 2σ_y of y per pixel (the fixed-length step leaves a jitter of ~ζ/√16 = 0.025),
    // while y itself is ~s ≈ 0.4 from the prior's mean.
    assert.ok(rmsToY < 2 * sigmaY, `sample ${j}: RMS to y ${rmsToY}`);
    assert.ok(Math.sqrt(yToPrior / 16) > 10 * sigmaY, `sample ${j}: y too close to μ`);
  }
});
