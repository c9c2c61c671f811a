import assert from "node:assert/strict";
import { gpuBuffer } from "../gpu/backend.ts";
import { conv2dWeightGradGpu } from "../gpu/kernels/conv2d.ts";
import { weightGradTexture } from "../gpu/kernels/lavapipe/conv2d_texture.ts";
import { grad } from "../src/ops/autograd.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { conv2dWeightGradCpu } from "../src/cpu/conv2d.ts";
import { conv2d } from "../src/ops/conv2d.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, checkOp, gpuOrSkip, hasGpu } from "./harness.ts";

/**
 * [N, Cin, Cout, H, W, k, bias]: channel and pixel counts off the 4×4 GPU tile included; bias
 * "n" is one row [N, Cout] per image.
 */
const CASES: [number, number, number, number, number, number, boolean | "n"][] = [
  [1, 1, 1, 1, 1, 3, true],
  [2, 3, 5, 3, 5, 3, true],
  [3, 5, 8, 7, 7, 3, false],
  [1, 13, 3, 9, 6, 3, true],
  [2, 8, 13, 9, 6, 3, false],
  [2, 8, 13, 9, 6, 1, true],
  [1, 5, 1, 3, 5, 1, false],
  [3, 1, 8, 7, 7, 1, true],
  [1, 8, 13, 1, 1, 1, false],
  [1, 3, 5, 7, 7, 5, true],
  [2, 3, 1, 3, 5, 5, false],
  // Texture tiles' tails (16 px × 2 rows, 8 px × 8 channels) and planes over several rows.
  [2, 6, 9, 17, 19, 3, true],
  [1, 9, 10, 11, 9, 3, false],
  [4, 32, 8, 16, 16, 3, true],
  [2, 9, 7, 5, 13, 1, true],
  // Staged by copies alone (no border; 65 or 33 planes of 32²: whole texture rows and one more).
  [5, 13, 8, 32, 32, 1, true],
  [3, 4, 11, 32, 32, 3, false],
  // Widths on a multiple of 4 (input staged by copies, borders masked): partial tiles at the
  // right and bottom edges, k = 5, 4-pixel rows.
  [2, 5, 6, 7, 12, 3, true],
  [1, 3, 4, 5, 24, 5, false],
  [2, 2, 3, 6, 4, 3, true],
  [1, 2, 5, 9, 8, 5, "n"],
  // Per-image biases on both kernels' tiles and tails.
  [2, 3, 5, 3, 5, 3, "n"],
  [3, 5, 9, 7, 7, 1, "n"],
  [4, 32, 8, 16, 16, 3, "n"],
  [2, 6, 9, 17, 19, 3, "n"],
];

/** The GPU paths: the storage-buffer kernels and the texture kernels (llvmpipe's default). */
const PATHS = [["buffers", false], ["textures", true]] as const;

Deno.test("conv2d vs twin and finite differences, buffer and texture kernels", async (t) => {
  const gpu = await gpuOrSkip();
  const paths = gpu?.engine.canReadTextures ? PATHS : PATHS.slice(0, 1);
  for (const [n, cin, cout, h, w, k, bias] of CASES) {
    for (const [path, textures] of paths) {
      const name = `conv2d x [${n},${cin},${h},${w}] w [${cout},${cin},${k},${k}]` +
        (bias === "n" ? " + b[n]" : bias ? " + b" : "") + (gpu ? ` (${path})` : "");
      await t.step(name, async () => {
        if (gpu) gpu.engine.preferTextures = textures;
        try {
          await checkOp({
            name,
            inputs: [
              { shape: [n, cin, h, w] },
              { shape: [cout, cin, k, k], scale: 0.5 },
              ...(bias ? [{ shape: bias === "n" ? [n, cout] : [cout] }] : []),
            ],
            f: (x, wt, b) => conv2d(x, wt, b),
            fdSamples: 20,
            // Up to 32·9 (forward) or 4·256 (weight gradient) f32 products summed in another
            // order.
            tol: { atol: 5e-5, rtol: 1e-4 },
            gradTol: { atol: 5e-5, rtol: 1e-4 },
          }, gpu);
        } finally {
          if (gpu) gpu.engine.preferTextures = gpu.engine.canReadTextures && defaultTextures;
        }
      });
      if (!gpu) break;
    }
  }
});

/** The engine's own choice, restored after each step that forces a path. */
const defaultTextures = (await gpuOrSkip())?.engine.preferTextures ?? false;

Deno.test({
  name: "conv2d texture path is taken when preferTextures is set",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures) return;
    const x = gpu.full([1, 8, 6, 6], 1);
    const x8 = gpu.full([1, 8, 8, 8], 1);
    const w = gpu.full([8, 8, 3, 3], 1);
    const count = (textures: boolean, input = x) => {
      gpu.engine.preferTextures = textures;
      const before = gpu.engine.dispatchCount;
      conv2d(input, w).dispose();
      return gpu.engine.dispatchCount - before;
    };
    try {
      // Buffers: one gather. Textures: weight packing, input staging, then the gather.
      assert.equal(count(false), 1 + 1); // + the NaN poisoning of the new output
      assert.equal(count(true), 3 + 1);
      // A width on a multiple of 4 is staged by copies alone.
      assert.equal(count(true, x8), 2 + 1);
    } finally {
      gpu.engine.preferTextures = defaultTextures;
    }
    await gpu.sync();
    for (const z of [x, x8, w]) z.dispose();
  },
});

// x = w = 1..9 on one 3×3 channel, bias 0.5; y[oy, ox] = b + Σ w[ky, kx]·x[oy + ky − 1, ox + kx − 1]
// (cross-correlation, zeros outside), worked out by hand:
// y[0,0] = 5·1 + 6·2 + 8·4 + 9·5 = 94;  y[0,1] = 4·1 + 5·2 + 6·3 + 7·4 + 8·5 + 9·6 = 154;
// y[0,2] = 4·2 + 5·3 + 7·5 + 8·6 = 106; y[1,0] = 2·1 + 3·2 + 5·4 + 6·5 + 8·7 + 9·8 = 186;
// y[1,1] = Σ i² = 285; the rest by the point symmetry of the two ramps.
const X9 = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const W9 = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const Y9 = [94, 154, 106, 186, 285, 186, 106, 154, 94].map((v) => v + 0.5);
// With dy = 1 everywhere, dw[ky, kx] sums x over the rows/cols tap (ky, kx) reaches:
// dw[0,0] = x over rows 0–1 × cols 0–1 = 1 + 2 + 4 + 5 = 12, dw[0,1] = rows 0–1 × cols 0–2 = 21, …
const DW9 = [12, 21, 16, 27, 45, 33, 24, 39, 28];
// and dx[iy, ix] sums w over the taps that read pixel (iy, ix) from some output: the same
// sums over w (x = w here), e.g. dx[0,0] = w[0,0] + w[0,1] + w[1,0] + w[1,1] = 12.
const DX9 = DW9;
const EXACT = { atol: 1e-9, rtol: 0 };

/** Naive cross-correlation with an arbitrary padding, to show a padding off-by-one fails. */
function mutant(pad: number): number[] {
  const y: number[] = [];
  for (let oy = 0; oy < 3; oy++) {
    for (let ox = 0; ox < 3; ox++) {
      let s = 0.5;
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) {
          const iy = oy + ky - pad;
          const ix = ox + kx - pad;
          if (iy >= 0 && iy < 3 && ix >= 0 && ix < 3) s += W9[ky * 3 + kx] * X9[iy * 3 + ix];
        }
      }
      y.push(s);
    }
  }
  return y;
}

Deno.test("conv2d exact values on a 3×3 image (border pixels included)", async (t) => {
  const gpu = await gpuOrSkip();
  const backends = [cpuBackend("f32"), cpuBackend("f64"), ...(gpu ? [gpu] : [])];
  for (const be of backends) {
    await t.step(be.name, async () => {
      const x = be.fromArray(X9, [1, 1, 3, 3]);
      const w = be.fromArray(W9, [1, 1, 3, 3]);
      const b = be.fromArray([0.5], [1]);
      const seed = be.full([1, 1, 3, 3], 1);
      const { value, grads } = grad(() => conv2d(x, w, b), [x, w, b], seed);
      assertClose(await value.toArray(), Y9, EXACT, `${be.name} y`);
      assertClose(await grads[0].toArray(), DX9, EXACT, `${be.name} dx`);
      assertClose(await grads[1].toArray(), DW9, EXACT, `${be.name} dw`);
      assertClose(await grads[2].toArray(), [9], EXACT, `${be.name} db`);
      for (const z of [x, w, b, seed, value, ...grads]) z.dispose();
    });
  }
  await t.step("the expected values reject padding 0 and 2", () => {
    assertClose(mutant(1), Y9, EXACT, "padding 1 reference");
    for (const pad of [0, 2]) {
      const y = mutant(pad);
      assert.throws(() => assertClose(y, Y9, EXACT, `padding ${pad}`));
      // The eight border pixels alone already reject it.
      assert.ok(y.some((v, i) => i !== 4 && v !== Y9[i]), `padding ${pad} differs on the border`);
    }
  });
});

Deno.test("conv2d 1×1 kernel is a per-pixel channel mix", async () => {
  const be = cpuBackend("f64");
  // Two pixels, two input channels: y[co, p] = Σ_ci w[co, ci]·x[ci, p] + b[co].
  const x = be.fromArray([1, 2, 3, 4], [1, 2, 1, 2]);
  const w = be.fromArray([1, 10, -1, 0.5], [2, 2, 1, 1]);
  const y = conv2d(x, w, be.fromArray([100, 0], [2]));
  assertClose(await y.toArray(), [131, 142, 0.5, 0], EXACT, "1×1 conv");
});

/** Σ dy over the batch and pixels: the bias gradient, in float64. */
function biasGradRef(gs: ArrayLike<number>, n: number, cout: number, hw: number): Float64Array {
  const db = new Float64Array(cout);
  for (let i = 0; i < n * cout * hw; i++) db[Math.floor(i / hw) % cout] += gs[i];
  return db;
}

Deno.test({
  name: "conv2d weight and bias gradients: one pass equals chunk partial sums (buffers)",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    const d = { n: 3, cin: 5, cout: 6, h: 7, w: 9, k: 3 };
    const rng = new Rng(7);
    const xs = rng.normals(d.n * d.cin * d.h * d.w);
    const gs = rng.normals(d.n * d.cout * d.h * d.w);
    const ref = new Float64Array(d.cout * d.cin * 9);
    conv2dWeightGradCpu(xs, gs, ref, d);
    const refB = biasGradRef(gs, d.n, d.cout, d.h * d.w);
    gpu.engine.preferTextures = false;
    try {
      for (const maxChunks of [1, 2, Infinity]) {
        const x = gpu.fromArray(xs, [d.n, d.cin, d.h, d.w]);
        const g = gpu.fromArray(gs, [d.n, d.cout, d.h, d.w]);
        const dw = gpu.empty([d.cout, d.cin, 3, 3]);
        const db = gpu.empty([d.cout]);
        conv2dWeightGradGpu(
          gpu.engine,
          gpuBuffer(x),
          gpuBuffer(g),
          gpuBuffer(dw),
          gpuBuffer(db),
          d,
          maxChunks,
        );
        assertClose(await dw.toArray(), ref, { atol: 5e-5, rtol: 1e-4 }, `maxChunks ${maxChunks}`);
        assertClose(await db.toArray(), refB, { atol: 5e-5, rtol: 1e-4 }, `db ${maxChunks}`);
        for (const z of [x, g, dw, db]) z.dispose();
      }
    } finally {
      gpu.engine.preferTextures = defaultTextures;
    }
  },
});

Deno.test({
  name:
    "conv2d weight and bias gradients (textures) vs twin at every case, chunked and in one pass",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures) return;
    const rng = new Rng(11);
    // Calls the texture kernel directly, whichever path conv2d would take.
    for (const [n, cin, cout, h, w, k] of CASES) {
      const d = { n, cin, cout, h, w, k };
      const xs = rng.normals(n * cin * h * w);
      const gs = rng.normals(n * cout * h * w);
      const ref = new Float64Array(cout * cin * k * k);
      conv2dWeightGradCpu(xs, gs, ref, d);
      const refB = biasGradRef(gs, n, cout, h * w);
      for (const maxChunks of [1, 3, Infinity]) {
        // With the bias gradient on the even chunkings, without it on the odd.
        const db = maxChunks === 3 ? null : gpu.empty([cout]);
        const x = gpu.fromArray(xs, [n, cin, h, w]);
        const g = gpu.fromArray(gs, [n, cout, h, w]);
        const dw = gpu.empty([cout, cin, k, k]);
        const dbb = db ? gpuBuffer(db) : null;
        weightGradTexture(
          gpu.engine,
          gpuBuffer(x),
          gpuBuffer(g),
          gpuBuffer(dw),
          dbb,
          d,
          "t",
          maxChunks,
        );
        const at = `x [${n},${cin},${h},${w}] k ${k} maxChunks ${maxChunks}`;
        assertClose(await dw.toArray(), ref, { atol: 1e-4, rtol: 1e-4 }, `dw ${at}`);
        if (db) assertClose(await db.toArray(), refB, { atol: 1e-4, rtol: 1e-4 }, `db ${at}`);
        for (const z of [x, g, dw, db]) z?.dispose();
      }
    }
  },
});

Deno.test("conv2d shape errors name the op and the shapes", () => {
  const be = cpuBackend();
  const x = be.full([1, 3, 4, 4], 1);
  const cases: [() => unknown, RegExp][] = [
    [
      () => conv2d(be.full([3, 4, 4], 1), be.full([2, 3, 3, 3], 1)),
      /conv2d: .*\[N, Cin, H, W\].*\[3,4,4\]/,
    ],
    [() => conv2d(x, be.full([2, 3, 3], 1)), /conv2d: .*\[Cout, Cin, k, k\].*\[2,3,3\]/],
    [
      () => conv2d(x, be.full([2, 4, 3, 3], 1)),
      /conv2d: x \[1,3,4,4\] has 3 input channels but w \[2,4,3,3\] expects 4/,
    ],
    [() => conv2d(x, be.full([2, 3, 2, 2], 1)), /conv2d: .*odd size k.*\[2,3,2,2\]/],
    [() => conv2d(x, be.full([2, 3, 3, 1], 1)), /conv2d: .*square.*\[2,3,3,1\]/],
    [
      () => conv2d(x, be.full([2, 3, 3, 3], 1), be.full([3], 0)),
      /conv2d: expected bias of shape \[2\].*got \[3\]/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});
