import assert from "node:assert/strict";
import { grad } from "../src/ops/autograd.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import { assertClose, checkOp, F32, gpuOrSkip } from "./harness.ts";

/** A case: batch, coils, image size, kept-column probability, maps shared (batch 1) or not. */
interface Case {
  n: number;
  c: number;
  h: number;
  w: number;
  shared?: boolean;
}

const CASES: Case[] = [
  { n: 3, c: 5, h: 6, w: 10 },
  { n: 1, c: 3, h: 7, w: 9 },
  { n: 2, c: 1, h: 8, w: 8 },
  { n: 3, c: 2, h: 5, w: 12, shared: true },
];

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Random maps (optionally normalised so Σ_c |S_c|² = 1 at every pixel) and column masks. */
function makeData(k: Case, seed: number, normalise = false) {
  const rng = new Rng(seed);
  const nm = k.shared ? 1 : k.n;
  const maps = rng.normals(nm * k.c * 2 * k.h * k.w);
  if (normalise) normaliseMaps(maps, nm, k.c, k.h * k.w);
  const mask = new Float64Array(k.n * k.w).map(() => (rng.uniform() < 0.5 ? 1 : 0));
  return { maps, mapShape: [nm, k.c, 2, k.h, k.w], mask, maskShape: [k.n, k.w] };
}

function normaliseMaps(maps: Float64Array, n: number, c: number, hw: number) {
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < hw; p++) {
      let s = 0;
      for (let j = 0; j < c; j++) {
        for (const q of [0, 1]) s += maps[((i * c + j) * 2 + q) * hw + p] ** 2;
      }
      for (let j = 0; j < c; j++) {
        for (const q of [0, 1]) maps[((i * c + j) * 2 + q) * hw + p] /= Math.sqrt(s);
      }
    }
  }
}

function build(b: Backend, d: ReturnType<typeof makeData>): MultiCoilFourier {
  return new MultiCoilFourier(b.fromArray(d.maps, d.mapShape), b.fromArray(d.mask, d.maskShape));
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** The centred orthonormal DFT by its definition: fftshift ∘ F ∘ ifftshift, per coil. */
function naiveForward(x: Float64Array, k: Case, d: ReturnType<typeof makeData>): Float64Array {
  const { n, c, h, w } = k;
  const hw = h * w;
  const out = new Float64Array(n * c * 2 * hw);
  const sh = (i: number, m: number) => (i + Math.floor(m / 2)) % m; // ifftshift's source
  const fr = (u: number, m: number) => (u + Math.ceil(m / 2)) % m; // fftshift's source
  for (let i = 0; i < n; i++) {
    const mi = k.shared ? 0 : i;
    for (let j = 0; j < c; j++) {
      const re = new Float64Array(hw);
      const im = new Float64Array(hw);
      for (let p = 0; p < hw; p++) {
        const [xr, xi] = [x[(i * 2) * hw + p], x[(i * 2 + 1) * hw + p]];
        const [sr, si] = [
          d.maps[((mi * c + j) * 2) * hw + p],
          d.maps[((mi * c + j) * 2 + 1) * hw + p],
        ];
        re[p] = xr * sr - xi * si;
        im[p] = xr * si + xi * sr;
      }
      for (let u = 0; u < h; u++) {
        for (let v = 0; v < w; v++) {
          if (d.mask[i * w + v] === 0) continue;
          let ar = 0;
          let ai = 0;
          // Output (u, v) is frequency (fr(u), fr(v)) of the ifftshifted input.
          for (let r = 0; r < h; r++) {
            for (let s = 0; s < w; s++) {
              const ph = -2 * Math.PI * (fr(u, h) * r / h + fr(v, w) * s / w);
              const q = sh(r, h) * w + sh(s, w);
              ar += re[q] * Math.cos(ph) - im[q] * Math.sin(ph);
              ai += re[q] * Math.sin(ph) + im[q] * Math.cos(ph);
            }
          }
          const o = ((i * c + j) * 2) * hw + u * w + v;
          out[o] = ar / Math.sqrt(hw);
          out[o + hw] = ai / Math.sqrt(hw);
        }
      }
    }
  }
  return out;
}

Deno.test("multi-coil fourier: forward = M·fftshift(F(ifftshift(S x))) by definition (f64, 1e-10)", async () => {
  const b = cpuBackend("f64");
  for (const k of [CASES[0], CASES[1], CASES[3]]) {
    const d = makeData(k, 1);
    using op = build(b, d);
    const x = new Rng(2).normals(k.n * 2 * k.h * k.w);
    const y = tidy(() => op.forward(b.fromArray(x, [k.n, 2, k.h, k.w])));
    assert.deepEqual(y.shape, [k.n, k.c, 2, k.h, k.w]);
    assertClose(
      await y.toArray(),
      naiveForward(x, k, d),
      { atol: 1e-10, rtol: 1e-10 },
      `${k.n}×${k.c}×${k.h}×${k.w}`,
    );
    y.dispose();
  }
});

Deno.test("multi-coil fourier: <Ax, y> = <x, Aᴴy> (f64 rel 1e-10; WebGPU rel 1e-4)", async () => {
  const gpu = await gpuOrSkip();
  for (const k of CASES) {
    const d = makeData(k, 3);
    for (const b of gpu ? [cpuBackend("f64"), gpu] : [cpuBackend("f64")]) {
      using op = build(b, d);
      const xs = [k.n, 2, k.h, k.w];
      const ys = [k.n, k.c, 2, k.h, k.w];
      const xd = new Rng(4).normals(size(xs));
      const yd = new Rng(5).normals(size(ys));
      const out = tidy(() => [op.forward(b.fromArray(xd, xs)), op.adjoint(b.fromArray(yd, ys))]);
      const [ax, aty] = await b.readMany(out);
      out.forEach((t) => t.dispose());
      const [lhs, rhs] = [dot(ax, yd), dot(xd, aty)];
      const tol = b.kind === "cpu" ? 1e-10 : 1e-4;
      assert.ok(Math.abs(lhs - rhs) <= tol * Math.abs(lhs) + tol, `${b.name}: ${lhs} vs ${rhs}`);
    }
  }
});

Deno.test("multi-coil fourier: WebGPU vs twin and finite differences in x and in the maps", async (t) => {
  const gpu = await gpuOrSkip();
  for (const k of [CASES[0], CASES[3]]) {
    const d = makeData(k, 6);
    await t.step(`forward ${k.n}×${k.c}×${k.h}×${k.w}`, () =>
      checkOp({
        name: "multi-coil forward",
        inputs: [{ shape: [k.n, 2, k.h, k.w] }, { shape: d.mapShape }],
        f: (x, maps) => {
          const op = new MultiCoilFourier(maps, x.backend.fromArray(d.mask, d.maskShape));
          return op.forward(x);
        },
        fdSamples: 10,
      }, gpu));
    await t.step(`adjoint ${k.n}×${k.c}×${k.h}×${k.w}`, () =>
      checkOp({
        name: "multi-coil adjoint",
        inputs: [{ shape: [k.n, k.c, 2, k.h, k.w] }, { shape: d.mapShape }],
        f: (y, maps) => {
          const op = new MultiCoilFourier(maps, y.backend.fromArray(d.mask, d.maskShape));
          return op.adjoint(y);
        },
        fdSamples: 10,
      }, gpu));
  }
});

Deno.test("multi-coil fourier: VJP of forward = adjoint (f64 1e-12; WebGPU F32)", async () => {
  const gpu = await gpuOrSkip();
  for (const k of CASES) {
    const d = makeData(k, 7);
    for (const b of gpu ? [cpuBackend("f64"), gpu] : [cpuBackend("f64")]) {
      using op = build(b, d);
      const xs = [k.n, 2, k.h, k.w];
      const ys = [k.n, k.c, 2, k.h, k.w];
      const out = tidy(() => {
        const x = b.fromArray(new Rng(8).normals(size(xs)), xs);
        const y = b.fromArray(new Rng(9).normals(size(ys)), ys);
        const { grads } = grad(() => op.forward(x), [x], y);
        return [grads[0], op.adjoint(y)];
      });
      const [g, a] = await b.readMany(out);
      out.forEach((t) => t.dispose());
      assertClose(g, a, b.kind === "cpu" ? { atol: 1e-12, rtol: 1e-12 } : F32, b.name);
    }
  }
});

Deno.test("multi-coil fourier: normalised maps give AᴴA = I fully sampled and ‖AᴴA‖ ≤ 1 under-sampled", async () => {
  const b = cpuBackend("f64");
  for (const k of CASES) {
    const d = makeData(k, 10, true);
    const full = { ...d, mask: new Float64Array(d.mask.length).fill(1) };
    const xs = [k.n, 2, k.h, k.w];
    const x = new Rng(11).normals(size(xs));
    using opFull = build(b, full);
    using op = build(b, d);
    const out = tidy(() => {
      const xt = b.fromArray(x, xs);
      return [opFull.adjoint(opFull.forward(xt)), op.adjoint(op.forward(xt))];
    });
    const [id, p] = await b.readMany(out);
    out.forEach((t) => t.dispose());
    assertClose(id, x, { atol: 1e-12, rtol: 1e-12 }, "AᴴA x = x fully sampled");
    assert.ok(dot(p, p) <= dot(x, x) * (1 + 1e-12), "AᴴA is a contraction");
  }
});

Deno.test("multi-coil fourier: with spatially constant normalised maps AᴴA is the column projection (idempotent)", async () => {
  // S Sᴴ commutes with F and M only when the maps are constant over the image; then
  // (AᴴA)² = AᴴA and AᴴA x keeps exactly the kept columns of F x.
  const b = cpuBackend("f64");
  for (const k of CASES) {
    const d = makeData(k, 12);
    const nm = d.mapShape[0];
    const hw = k.h * k.w;
    for (let i = 0; i < nm * k.c * 2; i++) d.maps.fill(d.maps[i * hw], i * hw, (i + 1) * hw);
    normaliseMaps(d.maps, nm, k.c, hw);
    using op = build(b, d);
    const xs = [k.n, 2, k.h, k.w];
    const x = new Rng(13).normals(size(xs));
    const out = tidy(() => {
      const p = op.adjoint(op.forward(b.fromArray(x, xs)));
      return [p, op.adjoint(op.forward(p))];
    });
    const [p, pp] = await b.readMany(out);
    out.forEach((t) => t.dispose());
    assertClose(pp, p, { atol: 1e-12, rtol: 1e-10 }, "(AᴴA)² = AᴴA");
    assert.ok(dot(p, p) < dot(x, x) * 0.99, "a half-kept mask removes energy");
  }
});

Deno.test("multi-coil fourier: shape errors name what is wrong", () => {
  const b = cpuBackend("f64");
  assert.throws(
    () => new MultiCoilFourier(b.full([1, 2, 4, 4], 1), b.full([1, 4], 1)),
    /maps must be \[N, C, 2, H, W\]/,
  );
  assert.throws(
    () => new MultiCoilFourier(b.full([1, 2, 2, 4, 4], 1), b.full([1, 5], 1)),
    /mask must be \[N, 4\]/,
  );
  using op = new MultiCoilFourier(b.full([2, 2, 2, 4, 6], 1), b.full([2, 6], 1));
  assert.throws(() => op.forward(b.full([3, 2, 4, 6], 1)), /expected \[2, 2, 4, 6\]/);
  assert.throws(() => op.adjoint(b.full([2, 3, 2, 4, 6], 1)), /k-space must be \[2, 2, 2, 4, 6\]/);
});

Deno.test("multi-coil fourier: noise is complex Gaussian σ per real part, on kept columns only", async () => {
  const b = cpuBackend("f64");
  const k: Case = { n: 2, c: 3, h: 16, w: 10 };
  const d = makeData(k, 14);
  using op = build(b, d);
  const y = b.full([k.n, k.c, 2, k.h, k.w], 0);
  const noisy = op.noisy(y, 0.3, 5);
  const v = await noisy.toArray();
  noisy.dispose();
  y.dispose();
  let sq = 0;
  let count = 0;
  v.forEach((x, i) => {
    const col = i % k.w;
    const img = Math.floor(i / (k.c * 2 * k.h * k.w));
    if (d.mask[img * k.w + col] === 0) assert.equal(x, 0, `dropped column ${col}`);
    else [sq, count] = [sq + x * x, count + 1];
  });
  const sd = Math.sqrt(sq / count);
  assert.ok(count > 500 && Math.abs(sd - 0.3) < 0.03, `σ ${sd} over ${count} values`);
});
