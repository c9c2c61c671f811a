/**
 * docs/method.md §4's claim, checked exactly: a model trained with the MRI ambient objective
 * (fed ÃᴴÃ x_t, penalised by ‖AᴴA(D − x)‖² with M ⊇ M̃ random) is minimised by
 * E[x₀ | Ã x_t, Ã]. Gaussian complex images x ~ N(μ, Σ) of 2×4 pixels, two coils, one fixed
 * M̃ (the DC column), each other column in M with probability Q, one σ. The denoiser is linear
 * in the 4-channel input. The weighted least-squares minimiser of the same empirical loss is
 * computed here in f64 from dense matrices of AᴴA; the package's objective must have zero
 * gradient there (it is a convex quadratic, so that is its minimiser), and that minimiser must
 * equal the closed-form conditional mean within 5 sandwich standard errors.
 */
import assert from "node:assert/strict";
import { mriAmbientObjective } from "../src/ambient/loss.ts";
import { grad } from "../src/ops/autograd.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { linear } from "../src/ops/linear.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { reshape } from "../src/ops/reshape.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { solve } from "./solve.ts";

const [H, W, C] = [2, 4, 2];
const D = 2 * H * W; // real dimensions of an image
const N = 4000; // training draws
const SIGMA = 0.5;
const Q = 0.5; // P(non-DC column ∈ M)
const FURTHER = [0, 0, 1, 0]; // M̃: the DC column ⌊W/2⌋

type Mat = number[][];
const matMul = (a: Mat, b: Mat): Mat =>
  a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));
const matVec = (a: Mat, v: number[]) => a.map((r) => r.reduce((s, x, k) => s + x * v[k], 0));

const eye = (n: number): Mat =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

/** Normalised random maps (Σ_c |S_c|² = 1 per pixel), [1, C, 2, H, W]. */
function maps(rng: Rng): Float64Array {
  const hw = H * W, m = rng.normals(C * 2 * hw);
  for (let p = 0; p < hw; p++) {
    let s = 0;
    for (let i = 0; i < 2 * C; i++) s += m[i * hw + p] ** 2;
    for (let i = 0; i < 2 * C; i++) m[i * hw + p] /= Math.sqrt(s);
  }
  return m;
}

/** The dense real D×D matrix of AᴴA for one column mask (columns: AᴴA of basis images). */
function gram(s: Float64Array, mask: number[]): Mat {
  const b = cpuBackend("f64");
  using op = new MultiCoilFourier(b.fromArray(s, [1, C, 2, H, W]), b.fromArray(mask, [1, W]));
  const g = tidy(() => op.adjoint(op.forward(b.fromArray(eye(D).flat(), [D, 2, H, W]))));
  const v = (g.storage as { data: Float64Array }).data;
  g.dispose();
  return Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => v[j * D + i]));
}

/** Orthonormal basis (as columns) of a symmetric matrix's range, by Gram–Schmidt. */
function rangeBasis(g: Mat): Mat {
  const qs: number[][] = [];
  for (const col of transpose(g)) {
    const v = col.slice();
    for (const q of qs) {
      const d = q.reduce((s, x, k) => s + x * v[k], 0);
      q.forEach((x, k) => (v[k] -= d * x));
    }
    const n = Math.hypot(...v);
    if (n > 1e-8) qs.push(v.map((x) => x / n));
  }
  return transpose(qs);
}

Deno.test("MRI ambient objective: its minimiser over linear denoisers is E[x₀ | Ã x_t, Ã] on Gaussian data", async () => {
  const rng = new Rng(20);
  const s = maps(rng);
  const l = Array.from(
    { length: D },
    (_, i) =>
      Array.from({ length: D }, (_, j) => (j <= i ? (j === i ? 0.6 : 0.3 * rng.normal()) : 0)),
  );
  const cov = matMul(l, transpose(l));
  const mu = Array.from({ length: D }, () => 0.5 * rng.normal());
  // Each draw's M: M̃ plus each other column with probability Q; 8 possible masks.
  const masks = Array.from({ length: 8 }, (_, code) => {
    const others = [0, 1, 3];
    return FURTHER.map((f, c) => (f || (code >> others.indexOf(c)) & 1 ? 1 : 0));
  });
  const grams = masks.map((m) => gram(s, m));
  const p = grams.map((g) => matMul(g, g)); // GᵀG, the loss's metric per mask
  const gt = gram(s, FURTHER);
  const q = rangeBasis(gt);
  const k = q[0].length;
  assert.equal(k, 2 * C * H, "ÃᴴÃ has rank 2·C·H (one column, C coils)");

  const xs: number[][] = [], code: number[] = [], noise: number[][] = [], f: number[][] = [];
  for (let n = 0; n < N; n++) {
    const z = Array.from({ length: D }, () => rng.normal());
    const x = matVec(l, z).map((v, i) => v + mu[i]);
    const m = [rng.uniform() < Q, rng.uniform() < Q, rng.uniform() < Q];
    const e = Array.from({ length: D }, () => rng.normal());
    xs.push(x), code.push(m.reduce((c, b, i) => c | (b ? 1 << i : 0), 0)), noise.push(e);
    const o = matVec(gt, x.map((v, i) => v + SIGMA * e[i]));
    f.push([...matVec(transpose(q), o), 1]); // coordinates of ÃᴴÃ x_t, and the bias
  }

  // Weighted least squares Σ_n ‖G_n(Θ f_n − x_n)‖² over Θ [D, k + 1]: normal equations.
  const kk = k + 1, dim = D * kk;
  const h = Array.from({ length: dim }, () => new Array(dim).fill(0));
  const rhs = Array.from({ length: dim }, () => [0]);
  for (let n = 0; n < N; n++) {
    const pn = p[code[n]], fn = f[n], px = matVec(pn, xs[n]);
    for (let i = 0; i < D; i++) {
      for (let a = 0; a < kk; a++) {
        rhs[i * kk + a][0] += px[i] * fn[a];
        const row = h[i * kk + a];
        for (let j = 0; j < D; j++) {
          const pij = pn[i][j] * fn[a];
          if (pij !== 0) { for (let b = 0; b < kk; b++) row[j * kk + b] += pij * fn[b]; }
        }
      }
    }
  }
  const hInv = solve(h, eye(dim));
  const theta = matMul(hInv, rhs).map((r) => r[0]);
  // Sandwich covariance H⁻¹ (Σ s sᵀ) H⁻¹ with scores s_n = (P_n(Θ f_n − x_n)) ⊗ f_n.
  const meat = Array.from({ length: dim }, () => new Array(dim).fill(0));
  for (let n = 0; n < N; n++) {
    const fn = f[n];
    const r = Array.from(
      { length: D },
      (_, i) => fn.reduce((t, v, a) => t + theta[i * kk + a] * v, 0) - xs[n][i],
    );
    const pr = matVec(p[code[n]], r);
    const sc = pr.flatMap((v) => fn.map((u) => v * u));
    for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) meat[i][j] += sc[i] * sc[j];
  }
  const covTheta = matMul(matMul(hInv, meat), hInv);
  const se = covTheta.map((r, i) => Math.sqrt(r[i]));

  // The closed form: v = Qᵀ(x + σn), f = K v with K = QᵀG̃Q, so E[x | f] = μ + Σ Q (QᵀΣQ + σ²I)⁻¹ K⁻¹ (f − K Qᵀμ).
  const qt = transpose(q);
  const kmat = matMul(matMul(qt, gt), q);
  const inner = matMul(matMul(qt, cov), q).map((r, i) =>
    r.map((v, j) => v + (i === j ? SIGMA ** 2 : 0))
  );
  const coef = matMul(matMul(cov, q), matMul(solve(inner, eye(k)), solve(kmat, eye(k))));
  const bias = mu.map((m, i) => m - matVec(matMul(coef, kmat), matVec(qt, mu))[i]);
  const closed = coef.flatMap((r, i) => [...r, bias[i]]);
  let strongest = 0;
  for (let i = 0; i < dim; i++) {
    assert.ok(
      Math.abs(theta[i] - closed[i]) < 5 * se[i],
      `output ${Math.floor(i / kk)}, coefficient ${i % kk}: LS ${theta[i]} vs closed form ${
        closed[i]
      } (SE ${se[i]})`,
    );
    strongest = Math.max(strongest, Math.abs(closed[i]) / se[i]);
  }
  assert.ok(strongest > 10, "the comparison can tell the conditional mean from zero");

  // The package's objective with D(u) = W u + b: zero gradient at the LS solution.
  const b = cpuBackend("f64");
  const shape = [N, 2, H, W];
  using op = new MultiCoilFourier(
    b.fromArray(s, [1, C, 2, H, W]),
    b.fromArray(code.flatMap((c) => masks[c]), [N, W]),
  );
  const y = op.forward(b.fromArray(xs.flat(), shape));
  const further = b.fromArray(FURTHER, [1, W]);
  const sigma = b.full([N], SIGMA), ns = b.fromArray(noise.flat(), shape);
  const lossGrads = async (wImg: Mat, bias: number[]) => {
    const wt = b.fromArray(wImg.flatMap((r) => [...r, ...new Array(D).fill(0)]), [D, 2 * D]);
    const bt = b.fromArray(bias, [D]);
    const out = tidy(() => {
      const denoise = (u: Tensor) => reshape(linear(reshape(u, [N, 2 * D]), wt, bt), shape);
      return grad(() => mriAmbientObjective(denoise, y, op, further, sigma, ns).loss, [wt, bt]);
    });
    const g = (await b.readMany(out.grads)).flatMap((a) => [...a]);
    [wt, bt, out.value, ...out.grads].forEach((t) => t.dispose());
    return Math.hypot(...g);
  };
  const thetaC = Array.from({ length: D }, (_, i) => theta.slice(i * kk, i * kk + k));
  const atLs = await lossGrads(matMul(thetaC, qt), thetaC.map((_, i) => theta[i * kk + k]));
  const atZero = await lossGrads(eye(D).map((r) => r.map(() => 0)), new Array(D).fill(0));
  assert.ok(atLs < 1e-9 * atZero, `‖∇‖ at the LS minimiser ${atLs} vs at 0 ${atZero}`);
  [y, further, sigma, ns].forEach((t) => t.dispose());
});
