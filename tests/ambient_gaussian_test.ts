/**
 * docs/method.md §3's claim, checked exactly: a model trained with the ambient objective
 * (fed M̃, penalised on M) learns E[x₀ | M̃ ⊙ (x₀ + σn), M̃], the pixels M̃ hides included.
 * Gaussian data x ~ N(μ, Σ) over d "pixels", one fixed M̃ (pixels S), M ⊇ M̃ adding each
 * hidden pixel with probability q, one σ; the denoiser is linear in
 * u = concat[M̃ ⊙ (M ⊙ x + σn), M̃]. Trained by the package's Adam on `ambientObjective`
 * (f64 CPU twin) it must equal (1) the least-squares minimiser of the same empirical loss,
 * and (2) the closed-form conditional mean W = Σ[:, S](Σ[S, S] + σ²I)⁻¹, b = μ − W μ_S,
 * within 5 standard errors of the regression.
 */
import assert from "node:assert/strict";
import { ambientObjective } from "../src/ambient/loss.ts";
import { grad } from "../src/ops/autograd.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { linear } from "../src/ops/linear.ts";
import { Adam } from "../src/optim/adam.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { reshape } from "../src/ops/reshape.ts";

const D = 5; // pixels
const S = [0, 2, 3]; // the pixels M̃ shows
const HIDDEN = [1, 4];
const N = 3000; // training draws
const SIGMA = 0.5;
const Q = 0.5; // P(hidden pixel ∈ M)

/** Solves A X = B for symmetric positive definite A (Gauss–Jordan, f64), B with k columns. */
function solve(a: number[][], b: number[][]): number[][] {
  const n = a.length, m = a.map((r, i) => [...r, ...b[i]]);
  for (let c = 0; c < n; c++) {
    const p = m[c][c];
    for (let j = 0; j < m[c].length; j++) m[c][j] /= p;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let j = 0; j < m[r].length; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((r) => r.slice(n));
}

/** μ and an SPD Σ with correlated pixels, and a Cholesky-free sampler through Σ = L Lᵀ. */
function gaussian(rng: Rng) {
  const l = Array.from(
    { length: D },
    (_, i) =>
      Array.from({ length: D }, (_, j) => (j <= i ? (j === i ? 0.6 : 0.5 * rng.normal()) : 0)),
  );
  const sigma = l.map((ri) => l.map((rj) => ri.reduce((s, v, k) => s + v * rj[k], 0)));
  const mu = Array.from({ length: D }, () => 0.5 * rng.normal());
  const sample = () => {
    const z = Array.from({ length: D }, () => rng.normal());
    return mu.map((m, i) => m + l[i].reduce((s, v, k) => s + v * z[k], 0));
  };
  return { mu, sigma, sample };
}

Deno.test("ambient objective: a linear denoiser trained on corrupted Gaussian data converges to E[x₀ | M̃ x_t, M̃]", async () => {
  const backend = cpuBackend("f64");
  const rng = new Rng(2024);
  const g = gaussian(rng);
  const x = new Float64Array(N * D),
    mask = new Float64Array(N * D),
    noise = new Float64Array(N * D);
  const further = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    g.sample().forEach((v, i) => (x[n * D + i] = v));
    for (let i = 0; i < D; i++) {
      further[n * D + i] = S.includes(i) ? 1 : 0;
      mask[n * D + i] = S.includes(i) || rng.uniform() < Q ? 1 : 0;
      noise[n * D + i] = rng.normal();
    }
  }
  const shape = [N, 1, 1, D];
  const xs = backend.fromArray(x, shape), ns = backend.fromArray(noise, shape);
  const masks = {
    mask: backend.fromArray(mask, shape),
    further: backend.fromArray(further, shape),
  };
  const sigma = backend.full([N], SIGMA);
  const w = backend.full([D, 2 * D], 0), b = backend.full([D], 0);
  const denoise = (u: Tensor) => reshape(linear(reshape(u, [N, 2 * D]), w, b), shape);

  // Adam with a decaying step: the objective is quadratic, so this reaches its minimiser.
  const adam = new Adam([w, b]);
  const steps = 400;
  for (let k = 0; k < steps; k++) {
    tidy(() => {
      const { grads } = grad(() => ambientObjective(denoise, xs, masks, sigma, ns).loss, [w, b]);
      adam.step(grads, { lr: 0.05 * 0.985 ** k + 1e-4 });
    });
  }
  const [wt, bt] = [await w.toArray(), await b.toArray()];
  // The effective map: weights on u_S, and the bias with the constant mask channel folded in.
  const trained = Array.from({ length: D }, (_, i) => [
    ...S.map((j) => wt[i * 2 * D + j]),
    bt[i] + S.reduce((s, j) => s + wt[i * 2 * D + D + j], 0),
  ]);

  const sSS = S.map((i) => S.map((j) => g.sigma[i][j] + (i === j ? SIGMA ** 2 : 0)));
  const wS = solve(sSS, S.map((j) => g.sigma.map((row) => row[j]))); // (Σ_SS + σ²I)⁻¹ Σ_S:
  for (let i = 0; i < D; i++) {
    const closed = [...S.map((_, k) => wS[k][i])];
    closed.push(g.mu[i] - S.reduce((s, j, k) => s + closed[k] * g.mu[j], 0));
    // Least squares of x_i on [u_S, 1] over the draws whose M holds pixel i, with its errors.
    const rows: number[][] = [], ys: number[] = [];
    for (let n = 0; n < N; n++) {
      if (!mask[n * D + i]) continue;
      rows.push([...S.map((j) => x[n * D + j] + SIGMA * noise[n * D + j]), 1]);
      ys.push(x[n * D + i]);
    }
    const k = S.length + 1;
    const utu = Array.from(
      { length: k },
      (_, a) => Array.from({ length: k }, (_, c) => rows.reduce((s, r) => s + r[a] * r[c], 0)),
    );
    const uty = Array.from(
      { length: k },
      (_, a) => [rows.reduce((s, r, n) => s + r[a] * ys[n], 0)],
    );
    const ls = solve(utu, uty).map((r) => r[0]);
    const rss = rows.reduce(
      (s, r, n) => s + (ys[n] - r.reduce((t, v, a) => t + v * ls[a], 0)) ** 2,
      0,
    );
    const inv = solve(utu, utu.map((_, a) => utu.map((_, c) => (a === c ? 1 : 0))));
    const se = inv.map((r, a) => Math.sqrt((rss / (rows.length - k)) * r[a]));
    for (let a = 0; a < k; a++) {
      const what = `pixel ${i}${HIDDEN.includes(i) ? " (hidden)" : ""}, coefficient ${a}`;
      assert.ok(
        Math.abs(trained[i][a] - ls[a]) < 1e-3,
        `${what}: trained ${trained[i][a]}, LS ${ls[a]}`,
      );
      assert.ok(
        Math.abs(ls[a] - closed[a]) < 5 * se[a],
        `${what}: LS ${ls[a]} vs closed form ${closed[a]} (SE ${se[a]})`,
      );
    }
    // A model that never learned the hidden pixels (still 0) would fail the checks above.
    if (HIDDEN.includes(i)) assert.ok(closed.some((v, a) => Math.abs(v) > 10 * se[a]));
  }
  adam.dispose();
});
