/**
 * The MRI ambient input and objective (docs/method.md §4): the 4-channel input's layout on
 * both backends, the objective's gradients against float64 finite differences and WebGPU
 * against the CPU twin, and its blindness to images changing in A's null space.
 */
import assert from "node:assert/strict";
import { mriAmbientInput, mriImage } from "../src/ambient/input.ts";
import { mriAmbientObjective } from "../src/ambient/loss.ts";
import { grad } from "../src/ops/autograd.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { scale, tanh } from "../src/ops/elementwise.ts";
import { concat, slice } from "../src/ops/concat.ts";
import { linear } from "../src/ops/linear.ts";
import { reshape } from "../src/ops/reshape.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

const backends = async (): Promise<Backend[]> => {
  const gpu = await gpuOrSkip();
  return gpu ? [cpuBackend("f64"), gpu] : [cpuBackend("f64")];
};

Deno.test("mriAmbientInput: [Re, Im, mask over rows, ones] on both backends (exact)", async () => {
  for (const b of await backends()) {
    for (
      const [n, h, w, shared] of [[3, 5, 7, false], [2, 4, 6, true], [1, 1, 9, false]] as const
    ) {
      const rng = new Rng(n * 100 + w);
      const img = rng.normals(n * 2 * h * w);
      const m = Array.from({ length: (shared ? 1 : n) * w }, () => (rng.uniform() < 0.5 ? 1 : 0));
      const u = tidy(() =>
        mriAmbientInput(b.fromArray(m, [shared ? 1 : n, w]), b.fromArray(img, [n, 2, h, w]))
      );
      assert.deepEqual(u.shape, [n, 4, h, w]);
      const got = await u.toArray();
      u.dispose();
      const want = new Float64Array(n * 4 * h * w);
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < h; r++) {
          for (let c = 0; c < w; c++) {
            const at = (ch: number) => ((i * 4 + ch) * h + r) * w + c;
            want[at(0)] = img[((i * 2) * h + r) * w + c];
            want[at(1)] = img[((i * 2 + 1) * h + r) * w + c];
            want[at(2)] = m[(shared ? 0 : i) * w + c];
            want[at(3)] = 1;
          }
        }
      }
      assertClose(got, want, { atol: 1e-6, rtol: 1e-6 }, `${b.name} ${n}×${h}×${w}`);
    }
  }
});

Deno.test("mriAmbientInput: a mask that does not fit says what it needs", () => {
  const b = cpuBackend();
  assert.throws(
    () => mriAmbientInput(b.full([2, 5], 1), b.full([3, 2, 4, 6], 0)),
    /need complex images \[N, 2, H, W\] and a \[1 or N, W\] column mask/,
  );
  assert.throws(() => mriAmbientInput(b.full([1, 6], 1), b.full([3, 3, 4, 6], 0)), /got images/);
});

/** Fixed maps and nested masks M̃ ⊆ M of a small multi-coil problem. */
function problem(n: number, c: number, h: number, w: number, seed: number, keep = 0.5) {
  const rng = new Rng(seed);
  const maps = rng.normals(n * c * 2 * h * w, 0.5);
  const mask = Array.from({ length: n * w }, () => (rng.uniform() < keep ? 1 : 0));
  const further = mask.map((v) => (v && rng.uniform() < 0.6 ? 1 : 0));
  return { n, c, h, w, maps, mask, further };
}
type Problem = ReturnType<typeof problem>;

/** The objective as a function of images x (y = A x), a tanh-linear denoiser's weights, and n. */
function objective(pr: Problem) {
  const { n, c, h, w } = pr;
  const d = 2 * h * w;
  return (x: Tensor, wt: Tensor, noise: Tensor, sigma: Tensor): Tensor => {
    const b = x.backend;
    const op = new MultiCoilFourier(
      b.fromArray(pr.maps, [n, c, 2, h, w]),
      b.fromArray(pr.mask, [n, w]),
    );
    const denoise = (u: Tensor) => reshape(tanh(linear(reshape(u, [n, 2 * d]), wt)), [n, 2, h, w]);
    const further = b.fromArray(pr.further, [n, w]);
    return mriAmbientObjective(denoise, op.forward(x), op, further, sigma, noise).loss;
  };
}

Deno.test("MRI ambient objective: gradients vs float64 finite differences, WebGPU vs twin", async (t) => {
  const gpu = await gpuOrSkip();
  for (const [n, c, h, w] of [[2, 3, 3, 5], [1, 2, 4, 6]]) {
    const pr = problem(n, c, h, w, 7 + n);
    const d = 2 * h * w;
    await t.step(`${n}×${c}×${h}×${w}`, () =>
      checkOp({
        name: "mri ambient objective",
        inputs: [
          { shape: [n, 2, h, w] },
          { shape: [d, 2 * d], scale: 0.2 },
          { shape: [n, 2, h, w] },
          { shape: [n], gen: (rng) => 0.2 + rng.uniform(), noGrad: true },
        ],
        f: objective(pr),
        tol: { atol: 1e-4, rtol: 1e-4 },
        gradTol: { atol: 1e-4, rtol: 1e-3 },
        fdSamples: 15,
      }, gpu));
  }
});

/** An image in A's null space: a random image less its projection onto A's row space (f64). */
function nullImage(pr: Problem, seed: number): Float64Array {
  const { n, c, h, w } = pr;
  const d = 2 * h * w;
  const b = cpuBackend("f64");
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    using op = new MultiCoilFourier(
      b.fromArray(pr.maps.slice(i * c * d, (i + 1) * c * d), [1, c, 2, h, w]),
      b.fromArray(pr.mask.slice(i * w, (i + 1) * w), [1, w]),
    );
    const eye = new Float64Array(d * d).map((_, k) => (k % (d + 1) === 0 ? 1 : 0));
    const rows = tidy(() => op.forward(b.fromArray(eye, [d, 2, h, w])));
    const a = (rows.storage as { data: Float64Array }).data; // column j of A: a[j·m .. ]
    rows.dispose();
    const m = a.length / d;
    // Gram–Schmidt on A's rows, then z − Σ q (qᵀ z).
    const qs: Float64Array[] = [];
    for (let r = 0; r < m; r++) {
      const v = Float64Array.from({ length: d }, (_, j) => a[j * m + r]);
      for (const q of qs) {
        const s = q.reduce((t, x, k) => t + x * v[k], 0);
        q.forEach((x, k) => (v[k] -= s * x));
      }
      const norm = Math.hypot(...v);
      if (norm > 1e-9) qs.push(v.map((x) => x / norm));
    }
    const z = new Rng(seed + i).normals(d);
    for (const q of qs) {
      const s = q.reduce((t, x, k) => t + x * z[k], 0);
      q.forEach((x, k) => (z[k] -= s * x));
    }
    out.set(z, i * d);
  }
  return out;
}

Deno.test("MRI ambient objective: loss and gradients ignore images moving in A's null space (both backends)", async () => {
  const pr = problem(2, 2, 4, 8, 31, 0.3); // A maps 64 real dims to 2·2·4·|M| < 64
  const { n, h, w } = pr;
  const d = 2 * h * w;
  const rng = new Rng(32);
  const x = rng.normals(n * d);
  const norm = (a: ArrayLike<number>) => Math.hypot(...Array.from(a));
  const z0 = nullImage(pr, 33);
  assert.ok(norm(z0) > 0.1 * Math.sqrt(n * d), "A has a null space here");
  const z = z0.map((v) => (v * norm(x)) / norm(z0)); // as large as x itself
  const zn = norm(z);
  const away = rng.normals(n * d); // a control: a generic change of the same size
  const far = away.map((v) => (v * zn) / norm(away));
  const wt = rng.normals(d * 2 * d, 0.2), noise = rng.normals(n * d);
  const sigma = [0.3, 1.7];
  const f = objective(pr);
  for (const b of await backends()) {
    const run = async (img: ArrayLike<number>) => {
      const ts = [
        b.fromArray(Float64Array.from(img), [n, 2, h, w]),
        b.fromArray(wt, [d, 2 * d]),
        b.fromArray(noise, [n, 2, h, w]),
        b.fromArray(sigma, [n]),
      ];
      const out = tidy(() => grad(() => f(ts[0], ts[1], ts[2], ts[3]), [ts[0], ts[1], ts[2]]));
      const [v, ...g] = await b.readMany([out.value, ...out.grads]);
      [...ts, out.value, ...out.grads].forEach((t) => t.dispose());
      return { v: v[0], g };
    };
    const base = await run(x);
    const moved = await run(x.map((v, i) => v + z[i]));
    const control = await run(x.map((v, i) => v + far[i]));
    const tol = b.kind === "cpu" ? { atol: 1e-9, rtol: 1e-9 } : { atol: 2e-4, rtol: 2e-3 };
    assertClose([moved.v], [base.v], tol, `${b.name} loss`);
    for (const k of [1, 2]) assertClose(moved.g[k], base.g[k], tol, `${b.name} gradient ${k}`);
    // ∇ₓ of a function of A x lies in A's row space: orthogonal to z.
    const gx = Array.from(base.g[0]);
    const dot = gx.reduce((s, v, i) => s + v * z[i], 0);
    assert.ok(
      Math.abs(dot) < (b.kind === "cpu" ? 1e-9 : 1e-3) * norm(gx) * zn,
      `${b.name} ∇ₓ·z = ${dot}`,
    );
    assert.ok(
      Math.abs(control.v - base.v) > 0.05 * base.v,
      `${b.name}: a generic change moves the loss`,
    );
  }
});

Deno.test("MRI ambient objective: a 4-output network (the reference's width) is read by its first two channels", async () => {
  const pr = problem(2, 2, 3, 6, 41);
  const { n, c, h, w } = pr;
  const b = cpuBackend("f64");
  const rng = new Rng(42);
  const x = b.fromArray(rng.normals(n * 2 * h * w), [n, 2, h, w]);
  const noise = b.fromArray(rng.normals(n * 2 * h * w), [n, 2, h, w]);
  const sigma = b.fromArray([0.5, 2], [n]);
  const extra = b.fromArray(rng.normals(n * 2 * h * w, 5), [n, 2, h, w]);
  using op = new MultiCoilFourier(
    b.fromArray(pr.maps, [n, c, 2, h, w]),
    b.fromArray(pr.mask, [n, w]),
  );
  const further = b.fromArray(pr.further, [n, w]);
  const two = (u: Tensor) => scale(slice(u, 1, 0, 2), 0.7);
  const loss = (denoise: (u: Tensor) => Tensor) =>
    tidy(() => mriAmbientObjective(denoise, op.forward(x), op, further, sigma, noise).loss)
      .toArray();
  const [l2] = await loss(two);
  const [l4] = await loss((u) => concat([two(u), extra], 1));
  assert.equal(l4, l2);
  assert.throws(() => mriImage(b.full([1, 1, 3, 6], 0)), /need a network output \[N, ≥2, H, W\]/);
});
