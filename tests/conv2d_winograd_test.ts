/**
 * Winograd F(4×4, 3×3) (gpu/kernels/lavapipe/conv2d_winograd.ts) against the CPU twin: the forward
 * with no, a shared and a per-image bias, the input gradient (channels swapped, taps flipped)
 * and the weight and bias gradients, at sides and channel counts off the 4×4 tile and the
 * 16-row matmul tile (4 to 68 channels, 4 to 20 pixels, tile rows of 1, 3, 5; 1 to 40 tiles, so
 * blocks of 8 tiles with none past the last and with some; both product tiles, 16×4 and 16×8),
 * odd batches, outputs poisoned; which sizes it accepts, and that conv2d takes it where
 * `winogradPays` and `winogradWeightGradPays` say so.
 */
import assert from "node:assert/strict";
import { gpuBuffer } from "../gpu/backend.ts";
import { groups1d, INDEX } from "../gpu/kernels/common.ts";
import {
  FDIV,
  FDIV_LIMIT,
  winogradFits,
  winogradPays,
  winogradTexture,
  winogradWeightGrad,
  winogradWeightGradFits,
  winogradWeightGradPays,
} from "../gpu/kernels/lavapipe/conv2d_winograd.ts";
import { conv2dCpu, conv2dInputGradCpu, conv2dWeightGradCpu } from "../src/cpu/conv2d.ts";
import { grad } from "../src/ops/autograd.ts";
import { conv2d } from "../src/ops/conv2d.ts";
import { sum } from "../src/ops/reduce.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, gpuOrSkip, hasGpu } from "./harness.ts";

/** [N, Cin, Cout, H, W]. */
const CASES: [number, number, number, number, number][] = [
  [1, 4, 4, 4, 4],
  [3, 8, 12, 12, 8],
  [2, 12, 4, 20, 16],
  [1, 16, 8, 8, 20],
  [2, 68, 64, 8, 8],
];

/**
 * F(4×4, 3×3) rounds more than the direct sum: the transforms' coefficients (up to 8 and 5,
 * 1/24) scale each product's rounding with the patch's magnitude, not the output's, so the
 * error is relative to the largest output: 4.5e-6 to 1.7e-5 of it at 4–256 channels here
 * (bench/kernels/winograd.ts). Hence the conv2d tests' tolerance, with atol at 3e-5 of max|y|.
 */
function tolerance(ref: Float64Array): { atol: number; rtol: number } {
  const top = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return { atol: Math.max(5e-5, 3e-5 * top), rtol: 1e-4 };
}

const MODES = ["no bias", "shared bias", "per-image bias", "input gradient"] as const;

Deno.test({
  name: "Winograd F(4×4, 3×3) gathers vs twin",
  ignore: !hasGpu,
  fn: async (t) => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures) return;
    const rng = new Rng(11);
    for (const [n, cin, cout, h, w] of CASES) {
      for (const mode of MODES) {
        await t.step(`x [${n},${cin},${h},${w}] w [${cout},${cin},3,3], ${mode}`, async () => {
          const d = { n, cin, cout, h, w, k: 3 };
          const flip = mode === "input gradient";
          const s = { n, i: flip ? cout : cin, o: flip ? cin : cout, h, w, k: 3 };
          assert.ok(winogradFits(gpu.engine, s));
          const xs = rng.normals(n * s.i * h * w);
          const ws = rng.normals(cout * cin * 9).map((v) => 0.5 * v);
          const perImage = mode === "per-image bias";
          const bs = perImage
            ? rng.normals(n * cout)
            : mode === "shared bias"
            ? rng.normals(cout)
            : null;
          const ref = new Float64Array(n * s.o * h * w);
          if (flip) conv2dInputGradCpu(xs, ws, ref, d);
          else conv2dCpu(xs, ws, bs, ref, d, perImage);
          const x = gpu.fromArray(xs, [n, s.i, h, w]);
          const wt = gpu.fromArray(ws, [cout, cin, 3, 3]);
          const b = bs && gpu.fromArray(bs, [bs.length]);
          const out = gpu.empty([n, s.o, h, w]); // NaN: an element left unwritten fails
          winogradTexture(
            gpu.engine,
            mode,
            gpuBuffer(x),
            gpuBuffer(wt),
            b && gpuBuffer(b),
            gpuBuffer(out),
            s,
            flip,
            perImage,
          );
          assertClose(await out.toArray(), ref, tolerance(ref), mode);
          for (const z of [x, wt, b, out]) z?.dispose();
        });
      }
    }
  },
});

Deno.test({
  name: "Winograd F(4×4, 3×3) weight and bias gradients vs twin",
  ignore: !hasGpu,
  fn: async (t) => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures) return;
    const rng = new Rng(12);
    for (const [n, cin, cout, h, w] of CASES) {
      for (const bias of [true, false]) {
        const name = `x [${n},${cin},${h},${w}] w [${cout},${cin},3,3]${bias ? " + db" : ""}`;
        await t.step(name, async () => {
          const d = { n, cin, cout, h, w, k: 3 };
          assert.ok(winogradWeightGradFits(gpu.engine, d));
          const xs = rng.normals(n * cin * h * w);
          const gs = rng.normals(n * cout * h * w);
          const ref = new Float64Array(cout * cin * 9);
          conv2dWeightGradCpu(xs, gs, ref, d);
          const refB = new Float64Array(cout);
          for (let i = 0; i < gs.length; i++) refB[Math.floor(i / (h * w)) % cout] += gs[i];
          const x = gpu.fromArray(xs, [n, cin, h, w]);
          const g = gpu.fromArray(gs, [n, cout, h, w]);
          const dw = gpu.empty([cout, cin, 3, 3]); // NaN-poisoned, as db
          const db = bias ? gpu.empty([cout]) : null;
          const [xb, gb] = [gpuBuffer(x), gpuBuffer(g)];
          winogradWeightGrad(gpu.engine, name, xb, gb, gpuBuffer(dw), db && gpuBuffer(db), d);
          assertClose(await dw.toArray(), ref, tolerance(ref), "dw");
          if (db) assertClose(await db.toArray(), refB, tolerance(refB), "db");
          for (const z of [x, g, dw, db]) z?.dispose();
        });
      }
    }
  },
});

Deno.test({
  name: "fdiv is the exact integer quotient for every index below FDIV_LIMIT",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    const engine = gpu.engine;
    // Counts, for each divisor, the indices a < FDIV_LIMIT where fdiv(a, b) ≠ a / b.
    const code = `
struct P { b: u32, count: u32, k: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> wrong: array<atomic<u32>>;
${FDIV}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  if (fdiv(i, p.b) != i / p.b) { atomicAdd(&wrong[p.k], 1u); }
}`;
    const divisors = [1, 2, 3, 4, 5, 7, 9, 12, 16, 33, 100, 255, 1000, 4095, 65_537, 999_983];
    const counts = gpu.full([divisors.length], 0); // 0.0 has the bits of u32 0
    for (const [k, b] of divisors.entries()) {
      engine.dispatch({
        label: `fdiv by ${b}`,
        code,
        inputs: [],
        outputs: [gpuBuffer(counts)],
        uniforms: { u: [b, FDIV_LIMIT, k] },
        groups: groups1d(FDIV_LIMIT),
      });
    }
    const wrong = new Uint32Array((await counts.toArray() as Float32Array).buffer);
    assert.deepEqual([...wrong], divisors.map(() => 0), `divisors ${divisors}`);
    counts.dispose();
  },
});

Deno.test({
  name: "Winograd accepts 3×3 kernels on sides and channels that are multiples of 4",
  ignore: !hasGpu,
  fn: async () => {
    const { engine } = (await gpuOrSkip())!;
    const ok = { n: 2, i: 8, o: 12, h: 8, w: 12, k: 3 };
    assert.ok(winogradFits(engine, ok));
    for (const bad of [{ k: 1 }, { k: 5 }, { h: 6 }, { w: 10 }, { i: 6 }, { o: 3 }]) {
      assert.equal(winogradFits(engine, { ...ok, ...bad }), false, JSON.stringify(bad));
    }
    // Where it measured faster than the direct gather: 64 channels or more on both sides.
    assert.ok(winogradPays({ ...ok, i: 64, o: 64 }));
    assert.ok(winogradPays({ ...ok, i: 128, o: 64, h: 16, w: 16 }));
    assert.equal(winogradPays({ ...ok, i: 64, o: 32 }), false);
    assert.equal(winogradPays({ ...ok, i: 32, o: 256 }), false);
    // The weight gradient from 32 channels on both sides.
    assert.ok(winogradWeightGradPays({ n: 2, cin: 32, cout: 32, h: 8, w: 8, k: 3 }));
    assert.ok(winogradWeightGradPays({ n: 2, cin: 64, cout: 128, h: 8, w: 8, k: 3 }));
    assert.equal(winogradWeightGradPays({ n: 2, cin: 16, cout: 64, h: 8, w: 8, k: 3 }), false);
  },
});

Deno.test({
  name: "conv2d and its gradients take Winograd where it pays, the direct kernels elsewhere",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures || !gpu.engine.preferTextures) return;
    const labels: string[] = [];
    const dispatch = gpu.engine.dispatch.bind(gpu.engine);
    gpu.engine.dispatch = (d) => (labels.push(d.label), dispatch(d));
    try {
      // Which of the forward, input and weight gradient ran as Winograd.
      const winograd = (cin: number, cout: number, side: number) => {
        labels.length = 0;
        const x = gpu.full([1, cin, side, side], 1);
        const w = gpu.full([cout, cin, 3, 3], 0.01);
        const { value, grads } = grad(() => sum(conv2d(x, w)), [x, w]);
        const used = ["conv2d x", "conv2d.inputGrad", "conv2d.weightGrad"].map((op) =>
          labels.some((l) => l.startsWith(op) && l.includes("Winograd"))
        );
        for (const z of [x, w, value, ...grads]) z.dispose();
        return used;
      };
      assert.deepEqual(winograd(64, 64, 8), [true, true, true]);
      assert.deepEqual(winograd(64, 128, 16), [true, true, true]);
      assert.deepEqual(winograd(32, 64, 8), [false, false, true]);
      assert.deepEqual(winograd(16, 64, 8), [false, false, false]);
    } finally {
      gpu.engine.dispatch = dispatch;
    }
    await gpu.sync();
  },
});
