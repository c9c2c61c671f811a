import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { fftRadices } from "../src/layout/fft_plan.ts";
import { fft2, type Fft2Options } from "../src/ops/fft.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

/** Planar complex shapes [..., 2, H, W]: odd, prime (17 > the unrolled radices), MRI-like. */
const SHAPES = [
  [1, 2, 1, 1],
  [2, 2, 3, 5],
  [1, 2, 4, 8],
  [3, 2, 7, 6],
  [2, 1, 2, 9, 10],
  [1, 2, 16, 12],
  [1, 2, 17, 34],
];
const OPTIONS: Fft2Options[] = [
  {},
  { inverse: true },
  { centred: false },
  { inverse: true, centred: false },
];
const name = (o: Fft2Options) =>
  `${o.inverse ? "inverse" : "forward"}${o.centred === false ? "" : ", centred"}`;

/** The DFT by its definition in float64, with numpy's fftshift/ifftshift as index rolls. */
function naiveFft2(x: Float64Array, shape: number[], o: Fft2Options): Float64Array {
  const [H, W] = shape.slice(-2);
  const hw = H * W;
  const sign = o.inverse ? 1 : -1;
  const centred = o.centred ?? true;
  // ifftshift: x'[i] = x[(i + ⌊n/2⌋) mod n]; fftshift: y_out[(k + ⌊n/2⌋) mod n] = y[k].
  const roll = (i: number, n: number) => centred ? (i + Math.floor(n / 2)) % n : i;
  const y = new Float64Array(x.length);
  for (let b = 0; b < x.length / (2 * hw); b++) {
    const re = 2 * b * hw, im = re + hw;
    for (let k1 = 0; k1 < H; k1++) {
      for (let k2 = 0; k2 < W; k2++) {
        let sr = 0, si = 0;
        for (let n1 = 0; n1 < H; n1++) {
          for (let n2 = 0; n2 < W; n2++) {
            const a = sign * 2 * Math.PI * ((k1 * n1) / H + (k2 * n2) / W);
            const e = roll(n1, H) * W + roll(n2, W);
            sr += x[re + e] * Math.cos(a) - x[im + e] * Math.sin(a);
            si += x[re + e] * Math.sin(a) + x[im + e] * Math.cos(a);
          }
        }
        const out = roll(k1, H) * W + roll(k2, W);
        y[re + out] = sr / Math.sqrt(hw);
        y[im + out] = si / Math.sqrt(hw);
      }
    }
  }
  return y;
}

function randomData(shape: number[], seed: number): Float64Array {
  const rng = new Rng(seed);
  return rng.normals(shape.reduce((a, b) => a * b, 1));
}

Deno.test("fftRadices: products and order", () => {
  assert.deepEqual(fftRadices(1), []);
  assert.deepEqual(fftRadices(320), [16, 4, 5]);
  assert.deepEqual(fftRadices(384), [16, 8, 3]);
  assert.deepEqual(fftRadices(368), [16, 23]);
  assert.deepEqual(fftRadices(97), [97]);
  for (let n = 1; n <= 200; n++) assert.equal(fftRadices(n).reduce((a, b) => a * b, 1), n);
  assert.throws(() => fftRadices(0), /positive integer/);
});

Deno.test("fft2 twin: the DFT by definition (float64, 1e-10)", async (t) => {
  const b = cpuBackend("f64");
  for (const shape of SHAPES) {
    for (const o of OPTIONS) {
      await t.step(`[${shape}] ${name(o)}`, async () => {
        const x = randomData(shape, shape.reduce((a, c) => a * 31 + c, 7));
        const got = await fft2(b.fromArray(x, shape), o).toArray();
        assertClose(got, naiveFft2(x, shape, o), { atol: 1e-10, rtol: 1e-10 }, "fft2");
      });
    }
  }
});

Deno.test("fft2 twin: numpy's fftshift(fft2(ifftshift(x), norm='ortho')) on a 3×5 image", async () => {
  // Input and golden values from numpy 1.24 (the convention of fastMRI's fft2c / ifft2c).
  const re = Array.from({ length: 15 }, (_, i) => (i * 0.37) % 1.3);
  const im = Array.from({ length: 15 }, (_, i) => ((i * 0.71) % 0.9) - 0.4);
  const x = cpuBackend("f64").fromArray([...re, ...im], [2, 3, 5]);
  const forward = [
    [-0.004861973638, 0.398935282628, 0.078386559236, 0.262346333031, 0.216143589297],
    [0.001966751325, 0.657206047434, 2.646538619908, -0.321547490763, 0.333691805347],
    [0.119514967375, 0.07331222364, 0.257271997436, -0.063276725956, 0.340520530309],
    [-0.173131469647, -0.765284456264, 0.473960376786, -0.363402941572, 0.604251692946],
    [-0.064788138548, 0.495868728185, 0.038729833462, -0.119871606664, -0.078829982201],
    [-0.149649768813, -0.061174619642, -0.241581376014, 0.813864895956, -0.137852333737],
  ].flat();
  const inverse = [
    [0.340520530309, -0.063276725956, 0.257271997436, 0.07331222364, 0.119514967375],
    [0.333691805347, -0.321547490763, 2.646538619908, 0.657206047434, 0.001966751325],
    [0.216143589297, 0.262346333031, 0.078386559236, 0.398935282628, -0.004861973638],
    [-0.137852333737, 0.813864895956, -0.241581376014, -0.061174619642, -0.149649768813],
    [-0.078829982201, -0.119871606664, 0.038729833462, 0.495868728185, -0.064788138548],
    [0.604251692946, -0.363402941572, 0.473960376786, -0.765284456264, -0.173131469647],
  ].flat();
  const tol = { atol: 1e-11, rtol: 0 };
  assertClose(await fft2(x).toArray(), forward, tol, "fft2c");
  assertClose(await fft2(x, { inverse: true }).toArray(), inverse, tol, "ifft2c");
});

Deno.test("fft2: webgpu vs twin, gradients vs finite differences", async (t) => {
  const gpu = await gpuOrSkip();
  for (const shape of SHAPES) {
    for (const o of OPTIONS) {
      await t.step(`[${shape}] ${name(o)}`, () =>
        checkOp({
          name: "fft2",
          inputs: [{ shape }],
          f: (x) => fft2(x, o),
          tol: { atol: 2e-6, rtol: 1e-4 },
          gradTol: { atol: 2e-6, rtol: 1e-4 },
          fdSamples: 12,
        }, gpu));
    }
  }
});

Deno.test("fft2: webgpu vs twin at the fastMRI brain size, 4 coils of 384×320", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  const shape = [4, 2, 384, 320];
  const x = randomData(shape, 5);
  for (const o of [{}, { inverse: true }]) {
    const want = await fft2(cpuBackend("f32").fromArray(x, shape), o).toArray();
    const xs = gpu.fromArray(x, shape);
    const y = fft2(xs, o);
    // Outputs ~N(0, 1): an f32 FFT of 123 k points keeps ~1e-6 absolute accuracy.
    assertClose(await y.toArray(), want, { atol: 1e-5, rtol: 1e-4 }, `fft2 ${name(o)}`);
    xs.dispose();
    y.dispose();
  }
});

Deno.test("fft2: unitary (inverse ∘ forward = identity, norm kept)", async () => {
  const b = cpuBackend("f64");
  const shape = [2, 2, 12, 10];
  const x = randomData(shape, 3);
  const k = fft2(b.fromArray(x, shape));
  const back = await fft2(k, { inverse: true }).toArray();
  assertClose(back, x, { atol: 1e-12, rtol: 0 }, "ifft2c(fft2c(x))");
  const norm = (a: ArrayLike<number>) => Math.hypot(...Array.from(a));
  assert.ok(Math.abs(norm(await k.toArray()) - norm(x)) < 1e-10 * norm(x), "Parseval");
});

Deno.test("fft2: shape errors", () => {
  const b = cpuBackend();
  assert.throws(() => fft2(b.full([1, 3, 4, 4], 0)), /planar complex \[\.\.\., 2, H, W\]/);
  assert.throws(() => fft2(b.full([4, 4], 0), { inverse: true }), /ifft2: x must be planar/);
});
