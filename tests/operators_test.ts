import assert from "node:assert/strict";
import { grad } from "../src/ops/autograd.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { add, scale } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { philox4x32_10, philoxKey, UNIT_STEPS, unitSteps } from "../src/cpu/philox.ts";
import { BoxInpainting, boxSide } from "../src/operators/box_inpainting.ts";
import { GaussianCompressedSensing } from "../src/operators/compressed_sensing.ts";
import { Identity } from "../src/operators/identity.ts";
import type { LinearOperator } from "../src/operators/linear_operator.ts";
import { measure } from "../src/operators/measure.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { SuperResolution } from "../src/operators/super_resolution.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import { assertClose, checkOp, F32, gpuOrSkip } from "./harness.ts";

/** One operator under test: how to build it on a backend and the image shape it takes. */
interface Case {
  name: string;
  x: [number, number, number, number];
  make: (b: Backend) => LinearOperator;
}

const CASES: Case[] = [
  {
    name: "random inpainting RGB, one shared mask",
    x: [2, 3, 9, 11],
    make: (b) => new RandomInpainting(b, { height: 9, width: 11, p: 0.6, seed: 5 }),
  },
  {
    name: "random inpainting gray, a mask per image",
    x: [3, 1, 8, 13],
    make: (b) => new RandomInpainting(b, { height: 8, width: 13, p: 0.3, seed: 6, count: 3 }),
  },
  {
    name: "box inpainting RGB, a box per image",
    x: [2, 3, 12, 10],
    make: (b) => new BoxInpainting(b, { height: 12, width: 10, p: 0.4, seed: 7, count: 2 }),
  },
  {
    name: "compressed sensing RGB, odd m",
    x: [2, 3, 5, 7],
    make: (b) => new GaussianCompressedSensing(b, { shape: [3, 5, 7], m: 37, seed: 8 }),
  },
  {
    name: "compressed sensing gray, m > d",
    x: [3, 1, 4, 5],
    make: (b) => new GaussianCompressedSensing(b, { shape: [1, 4, 5], m: 23, seed: 9 }),
  },
  { name: "super-resolution x2 RGB", x: [2, 3, 8, 12], make: () => new SuperResolution(2) },
  { name: "super-resolution x4 RGB", x: [1, 3, 16, 12], make: () => new SuperResolution(4) },
  { name: "super-resolution x3 gray", x: [2, 1, 9, 6], make: () => new SuperResolution(3) },
  {
    name: "super-resolution x3 not dividing 11×7 (floor pooling)",
    x: [2, 2, 11, 7],
    make: () => new SuperResolution(3, [11, 7]),
  },
  { name: "identity", x: [2, 3, 5, 4], make: () => new Identity() },
];

function randn(n: number, seed: number): Float64Array {
  return new Rng(seed).normals(n);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** ⟨A x, y⟩ and ⟨x, Aᴴ y⟩ on one backend, for random x and y. */
async function adjointPair(op: LinearOperator, b: Backend, xShape: number[], seed: number) {
  const xd = randn(xShape.reduce((p, d) => p * d, 1), seed);
  const made = tidy(() => {
    const ax = op.forward(b.fromArray(xd, xShape));
    const y = b.fromArray(randn(ax.size, seed + 1), ax.shape);
    return { ax, y, aty: op.adjoint(y) };
  });
  assert.deepEqual(made.aty.shape, xShape, `${op.name}: adjoint shape`);
  const [ax, y, aty] = await b.readMany([made.ax, made.y, made.aty]);
  for (const t of Object.values(made)) t.dispose();
  return { lhs: dot(ax, y), rhs: dot(xd, aty), ax, y, aty };
}

Deno.test("operators: <Ax, y> = <x, Aᴴy> on the f64 twin (rel 1e-10)", async (t) => {
  const b = cpuBackend("f64");
  for (const c of CASES) {
    await t.step(`${c.name} [${c.x}]`, async () => {
      using op = c.make(b);
      for (const seed of [1, 2]) {
        const { lhs, rhs } = await adjointPair(op, b, c.x, seed);
        assert.ok(
          Math.abs(lhs - rhs) <= 1e-10 * Math.max(Math.abs(lhs), 1e-300),
          `<Ax, y> = ${lhs}, <x, Aᴴy> = ${rhs}`,
        );
      }
    });
  }
});

Deno.test("operators: WebGPU vs CPU twin (forward, adjoint, VJP = adjoint), f64 finite differences", async (t) => {
  const gpu = await gpuOrSkip();
  for (const c of CASES) {
    const ops = new Map<Backend, LinearOperator>();
    const opOn = (b: Backend) => {
      let op = ops.get(b);
      if (!op) ops.set(b, op = c.make(b));
      return op;
    };
    const yShape = tidy(() =>
      opOn(cpuBackend("f64")).forward(cpuBackend("f64").full(c.x, 0)).shape
    );
    await t.step(`${c.name} forward`, () =>
      checkOp({
        name: `${c.name} forward`,
        inputs: [{ shape: c.x }],
        f: (x) => opOn(x.backend).forward(x),
        fdSamples: 8,
      }, gpu));
    await t.step(`${c.name} adjoint`, () =>
      checkOp({
        name: `${c.name} adjoint`,
        inputs: [{ shape: [...yShape] }],
        f: (y) => opOn(y.backend).adjoint(y),
        fdSamples: 8,
      }, gpu));
    if (gpu) {
      await t.step(`${c.name} <Ax, y> = <x, Aᴴy> on WebGPU`, async () => {
        const { lhs, rhs } = await adjointPair(opOn(gpu), gpu, c.x, 3);
        assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.abs(lhs) + 1e-4, `${lhs} vs ${rhs}`);
      });
    }
    await t.step(`${c.name} VJP of forward = adjoint`, async () => {
      for (const b of gpu ? [cpuBackend("f64"), gpu] : [cpuBackend("f64")]) {
        const op = opOn(b);
        const yd = randn(yShape.reduce((p, d) => p * d, 1), 4);
        const out = tidy(() => {
          const x = b.fromArray(randn(c.x.reduce((p, d) => p * d, 1), 5), c.x);
          const y = b.fromArray(yd, yShape);
          const { grads } = grad(() => op.forward(x), [x], y);
          return [grads[0], op.adjoint(y)];
        });
        const [g, a] = await b.readMany(out);
        out.forEach((t) => t.dispose());
        assertClose(g, a, b.kind === "cpu" ? { atol: 1e-12, rtol: 1e-12 } : F32, `${b.name}`);
      }
    });
    for (const op of ops.values()) op.dispose();
  }
});

/** Forward of `op` on random x (f64 twin), with x and the result on the host. */
async function forwardOnHost(op: LinearOperator, b: Backend, shape: number[], seed = 11) {
  const xd = randn(shape.reduce((p, d) => p * d, 1), seed);
  const y = tidy(() => op.forward(b.fromArray(xd, shape)));
  const out = { x: xd, y: await y.toArray(), shape: y.shape };
  y.dispose();
  return out;
}

Deno.test("random inpainting: forward against loops; the mask is Bernoulli(1 − p) from Philox", async () => {
  const b = cpuBackend("f64");
  const [n, c, h, w] = [2, 3, 40, 36];
  using op = new RandomInpainting(b, {
    height: h,
    width: w,
    p: 0.7,
    seed: 21,
    stream: 4,
    count: 2,
  });
  assert.deepEqual(op.mask.shape, [2, 1, h, w]);
  const mask = await op.mask.toArray();
  // Independent draw: pixel i is kept iff its Philox uniform k/2²⁴ ≤ 1 − p.
  const key = philoxKey(21);
  let kept = 0;
  for (let i = 0; i < mask.length; i++) {
    const u = unitSteps(philox4x32_10(i, 4, 0, 0, key[0], key[1])[0]) / UNIT_STEPS;
    assert.equal(mask[i], u <= 0.3 ? 1 : 0, `mask[${i}]`);
    kept += mask[i];
  }
  assert.ok(Math.abs(kept / mask.length - 0.3) < 0.03, `kept fraction ${kept / mask.length}`);
  const { x, y } = await forwardOnHost(op, b, [n, c, h, w]);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        const k = (i * c + ch) * h * w + p;
        assert.equal(y[k], x[k] * mask[i * h * w + p]);
      }
    }
  }
});

Deno.test("box inpainting: side ⌈p·S⌉, the box erased in every channel, the rest kept", async () => {
  assert.equal(boxSide(0.4, 64), 26);
  assert.equal(boxSide(0.25, 64), 16);
  assert.equal(boxSide(0.3, 10), 3); // 0.3·10 = 3.0000000000000004 in floating point
  assert.equal(boxSide(1, 7), 7);
  const b = cpuBackend("f64");
  const [n, c, h, w] = [3, 3, 20, 16];
  using op = new BoxInpainting(b, { height: h, width: w, p: 0.4, seed: 2, count: 3 });
  const { x, y } = await forwardOnHost(op, b, [n, c, h, w]);
  assert.equal(op.boxes.length, 3);
  for (let i = 0; i < n; i++) {
    const { top, left, side } = op.boxes[i];
    assert.equal(side, 7);
    assert.ok(top >= 0 && left >= 0 && top < h && left < w, `box ${i} corner in the image`);
    for (let ch = 0; ch < c; ch++) {
      for (let r = 0; r < h; r++) {
        for (let col = 0; col < w; col++) {
          const k = ((i * c + ch) * h + r) * w + col;
          // Rows and columns past the border do not exist: the box is cut there.
          const inBox: boolean = r >= top && r < top + side && col >= left && col < left + side;
          assert.ok(y[k] === (inBox ? 0 : x[k]), `image ${i} (${ch}, ${r}, ${col})`);
        }
      }
    }
  }
  // Over many seeds the corners reach every row (the reference's placement: the box may cross
  // the border), or with placement "inside" every row where the whole box fits.
  for (const [placement, rows] of [["anywhere", 10], ["inside", 6]] as const) {
    const tops = new Set<number>();
    const erased = new Set<number>();
    for (let s = 0; s < 80; s++) {
      using o = new BoxInpainting(b, { height: 10, width: 10, p: 0.5, seed: s, placement });
      tops.add(o.boxes[0].top);
      erased.add((await o.mask.toArray()).filter((v) => v === 0).length);
    }
    assert.deepEqual([...tops].sort((a, b) => a - b), [...Array(rows).keys()], placement);
    // Whole boxes erase 25 pixels; cut ones fewer.
    assert.equal(erased.size > 1, placement === "anywhere", `${placement}: ${[...erased]}`);
  }
  assert.throws(
    () =>
      new BoxInpainting(b, { height: 4, width: 4, p: 0.5, seed: 0, placement: "x" as "inside" }),
    /placement must be/,
  );
});

Deno.test("compressed sensing: y = A·vec(x) against loops; A ~ N(0, 1/m)", async () => {
  const b = cpuBackend("f64");
  const shape = [2, 3, 6, 5];
  const d = 90;
  const m = 41;
  using op = new GaussianCompressedSensing(b, { shape: [3, 6, 5], m, seed: 13 });
  const a = await op.matrix.toArray();
  assert.deepEqual(op.matrix.shape, [m, d]);
  const { x, y, shape: ys } = await forwardOnHost(op, b, shape);
  assert.deepEqual(ys, [2, m]);
  for (let i = 0; i < 2; i++) {
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += a[r * d + j] * x[i * d + j];
      assert.ok(Math.abs(y[i * m + r] - s) <= 1e-12 * (1 + Math.abs(s)), `y[${i}, ${r}]`);
    }
  }
  // Entry statistics of a larger matrix: mean 0, variance 1/m (within 5 standard errors).
  using big = new GaussianCompressedSensing(b, { shape: [1, 30, 40], m: 50, seed: 14 });
  const e = await big.matrix.toArray();
  const mean = Array.from(e).reduce((s, v) => s + v, 0) / e.length;
  const variance = Array.from(e).reduce((s, v) => s + v * v, 0) / e.length;
  assert.ok(Math.abs(mean) < 5 * Math.sqrt(1 / 50 / e.length), `mean ${mean}`);
  assert.ok(
    Math.abs(variance * 50 - 1) < 5 * Math.sqrt(2 / e.length),
    `variance·m ${variance * 50}`,
  );
});

Deno.test("super-resolution: f×f block means against loops; adjoint = nearest up / f²", async () => {
  const b = cpuBackend("f64");
  for (const [f, shape] of [[2, [2, 3, 6, 8]], [4, [1, 3, 8, 12]], [6, [1, 1, 12, 6]]] as const) {
    using op = new SuperResolution(f);
    const { x, y, shape: ys } = await forwardOnHost(op, b, [...shape]);
    const [n, c, h, w] = shape;
    assert.deepEqual(ys, [n, c, h / f, w / f]);
    for (let p = 0; p < n * c; p++) {
      for (let i = 0; i < h / f; i++) {
        for (let j = 0; j < w / f; j++) {
          let s = 0;
          for (let a = 0; a < f; a++) {
            for (let bb = 0; bb < f; bb++) s += x[(p * h + i * f + a) * w + j * f + bb];
          }
          const got = y[(p * (h / f) + i) * (w / f) + j];
          assert.ok(Math.abs(got - s / (f * f)) < 1e-14, `f=${f} block (${p}, ${i}, ${j})`);
        }
      }
    }
    const up = tidy(() => op.adjoint(b.fromArray(y, ys)));
    const u = await up.toArray();
    up.dispose();
    for (let p = 0; p < n * c; p++) {
      for (let r = 0; r < h; r++) {
        for (let col = 0; col < w; col++) {
          const want = y[(p * (h / f) + Math.floor(r / f)) * (w / f) + Math.floor(col / f)] /
            (f * f);
          assert.ok(Math.abs(u[(p * h + r) * w + col] - want) < 1e-15, `adjoint f=${f}`);
        }
      }
    }
  }
});

Deno.test("super-resolution by a factor that does not divide the size: ⌊H/f⌋ × ⌊W/f⌋ block means, adjoint zero past them", async () => {
  // ×6 on 64×64 as in the paper (10×10 measurements), and ×4 on 10×13.
  const b = cpuBackend("f64");
  for (const [f, shape] of [[6, [1, 1, 64, 64]], [4, [2, 2, 10, 13]]] as const) {
    const [n, c, h, w] = shape;
    using op = new SuperResolution(f, [h, w]);
    const { x, y, shape: ys } = await forwardOnHost(op, b, [...shape]);
    const [hb, wb] = [Math.floor(h / f), Math.floor(w / f)];
    assert.deepEqual(ys, [n, c, hb, wb]);
    for (let p = 0; p < n * c; p++) {
      for (let i = 0; i < hb; i++) {
        for (let j = 0; j < wb; j++) {
          let s = 0;
          for (let a = 0; a < f; a++) {
            for (let bb = 0; bb < f; bb++) s += x[(p * h + i * f + a) * w + j * f + bb];
          }
          const got = y[(p * hb + i) * wb + j];
          assert.ok(Math.abs(got - s / (f * f)) < 1e-14, `f=${f} block (${p}, ${i}, ${j})`);
        }
      }
    }
    using up = tidy(() => op.adjoint(b.fromArray(y, ys)));
    assert.deepEqual(up.shape, [...shape]);
    const u = await up.toArray();
    for (let p = 0; p < n * c; p++) {
      for (let r = 0; r < h; r++) {
        for (let col = 0; col < w; col++) {
          const inside = r < hb * f && col < wb * f;
          const want = inside
            ? y[(p * hb + Math.floor(r / f)) * wb + Math.floor(col / f)] / (f * f)
            : 0;
          assert.ok(
            Math.abs(u[(p * h + r) * w + col] - want) < 1e-15,
            `adjoint f=${f} (${r}, ${col})`,
          );
        }
      }
    }
  }
  assert.throws(() => new SuperResolution(4, [8, 6]).forward(b.full([1, 1, 8, 7], 0)), /expected/);
  assert.throws(() => new SuperResolution(4, [3, 8]), /must be ≥ the factor/);
});

Deno.test("measure: y = A(x + σ_y n) (the reference's, default) or A x + σ_y n; noise std through A", async () => {
  const b = cpuBackend("f64");
  const shape = [4, 1, 32, 32];
  using x = b.fromArray(randn(4 * 32 * 32, 3), shape);
  using op = new SuperResolution(2);
  const sigma = 0.5;
  const stdOf = async (space: "image" | "measurement") => {
    using y = measure(op, x, sigma, 11, space);
    using clean = op.forward(x);
    const [a, c] = await Promise.all([y.toArray(), clean.toArray()]);
    return Math.sqrt(Array.from(a).reduce((s, v, i) => s + (v - c[i]) ** 2, 0) / a.length);
  };
  // Mean of 4 independent draws: σ/2 in image space; σ on the measurements. 1 024 values each.
  const img = await stdOf("image");
  const meas = await stdOf("measurement");
  assert.ok(Math.abs(img - sigma / 2) < 0.1 * sigma / 2, `image-space noise std ${img}`);
  assert.ok(Math.abs(meas - sigma) < 0.1 * sigma, `measurement noise std ${meas}`);
  // The default is the image space, and it is exactly A applied to x + σ_y n.
  using dflt = measure(op, x, sigma, 11);
  using byHand = tidy(() => op.forward(add(x, scale(randomNormal(b, shape, 11), sigma))));
  assert.deepEqual(await dflt.toArray(), await byHand.toArray());
  assert.throws(() => measure(op, x, -1, 0), /σ_y must be ≥ 0/);
  assert.throws(() => measure(op, x, 1, 0, "k-space" as "image"), /noise space/);
});

Deno.test("identity: forward and adjoint return views with x's values", async () => {
  const b = cpuBackend("f64");
  const op = new Identity();
  const { x, y } = await forwardOnHost(op, b, [2, 3, 4, 5]);
  assert.deepEqual(Array.from(y), Array.from(x));
  const t = b.fromArray(x, [2, 3, 4, 5]);
  op.adjoint(t).dispose(); // a view: t survives
  assert.deepEqual(Array.from(await t.toArray()), Array.from(x));
  t.dispose();
});

Deno.test("operators: seeded masks and matrices are reproducible, and the same on WebGPU", async () => {
  const cpu = cpuBackend();
  const gpu = await gpuOrSkip();
  const build = {
    random: (b: Backend, seed: number) =>
      new RandomInpainting(b, { height: 13, width: 9, p: 0.5, seed, count: 2 }),
    box: (b: Backend, seed: number) =>
      new BoxInpainting(b, { height: 13, width: 9, p: 0.5, seed, count: 2 }),
    cs: (b: Backend, seed: number) =>
      new GaussianCompressedSensing(b, { shape: [3, 4, 5], m: 17, seed }),
  };
  const held = (op: LinearOperator) =>
    op instanceof GaussianCompressedSensing ? op.matrix : (op as RandomInpainting).mask;
  for (const [name, make] of Object.entries(build)) {
    using a = make(cpu, 100);
    using again = make(cpu, 100);
    using other = make(cpu, 101);
    const [va, vAgain, vOther] = await Promise.all([a, again, other].map((o) => held(o).toArray()));
    assert.deepEqual(vAgain, va, `${name}: same seed, same values`);
    assert.notDeepEqual(vOther, va, `${name}: another seed, other values`);
    if (gpu) {
      using g = make(gpu, 100);
      const vg = await held(g).toArray();
      if (name === "cs") assertClose(vg, va, { atol: 1e-6, rtol: 1e-5 }, "cs matrix webgpu vs cpu");
      else assert.deepEqual(vg, va, `${name}: webgpu mask bit-identical`);
    }
  }
});

Deno.test("operators: measurement noise is seeded, σ-scaled, and zero off the inpainting mask", async () => {
  const b = cpuBackend("f64");
  using inp = new RandomInpainting(b, { height: 16, width: 16, p: 0.5, seed: 1 });
  using cs = new GaussianCompressedSensing(b, { shape: [1, 16, 16], m: 400, seed: 1 });
  const mask = await inp.mask.toArray();
  const read = async (f: () => ReturnType<LinearOperator["forward"]>) => {
    const t = tidy(f);
    const v = await t.toArray();
    t.dispose();
    return v;
  };
  const x = () => b.fromArray(randn(3 * 256, 2), [1, 3, 16, 16]);
  const clean = await read(() => inp.forward(x()));
  const noisy = await read(() => inp.noisy(inp.forward(x()), 0.1, 7));
  const again = await read(() => inp.noisy(inp.forward(x()), 0.1, 7));
  const other = await read(() => inp.noisy(inp.forward(x()), 0.1, 8));
  assert.deepEqual(again, noisy);
  assert.notDeepEqual(other, noisy);
  let ss = 0;
  let seen = 0;
  for (let i = 0; i < clean.length; i++) {
    const d = noisy[i] - clean[i];
    if (mask[i % 256] === 0) assert.ok(noisy[i] === 0, `erased pixel ${i} stays 0`);
    else (ss += d * d, seen++);
  }
  assert.ok(Math.abs(Math.sqrt(ss / seen) / 0.1 - 1) < 0.15, `noise std ${Math.sqrt(ss / seen)}`);
  const xc = () => b.fromArray(randn(256, 3), [1, 1, 16, 16]);
  const y0 = await read(() => cs.forward(xc()));
  const y1 = await read(() => cs.noisy(cs.forward(xc()), 0.05, 9));
  const std = Math.sqrt(Array.from(y1).reduce((s, v, i) => s + (v - y0[i]) ** 2, 0) / y0.length);
  assert.ok(Math.abs(std / 0.05 - 1) < 0.15, `cs noise std ${std}`);
  assert.deepEqual(await read(() => cs.noisy(cs.forward(xc()), 0, 9)), y0);
});

Deno.test("operators: shape errors and dispose", () => {
  const b = cpuBackend();
  const inp = new RandomInpainting(b, { height: 8, width: 8, p: 0.5, seed: 1, count: 2 });
  assert.throws(
    () => inp.forward(b.full([3, 3, 8, 8], 0)),
    /expected \[2, C, 8, 8\], got \[3,3,8,8\]/,
  );
  assert.throws(() => inp.forward(b.full([2, 3, 8, 7], 0)), /expected/);
  inp.dispose();
  assert.ok(inp.mask.disposed);
  const cs = new GaussianCompressedSensing(b, { shape: [3, 4, 4], m: 5, seed: 1 });
  assert.throws(() => cs.forward(b.full([1, 1, 4, 4], 0)), /expected \[N, 3, 4, 4\]/);
  assert.throws(() => cs.adjoint(b.full([1, 6], 0)), /must be \[N, 5\]/);
  cs.dispose();
  assert.ok(cs.matrix.disposed);
  assert.throws(
    () => new GaussianCompressedSensing(b, { shape: [1, 2, 2], m: 0, seed: 1 }),
    /m must/,
  );
  assert.throws(
    () => new SuperResolution(4).forward(b.full([1, 1, 8, 6], 0)),
    /not a multiple of 4/,
  );
  assert.throws(() => new SuperResolution(1.5), /positive integer/);
  assert.throws(() => new RandomInpainting(b, { height: 2, width: 2, p: 1.5, seed: 0 }), /p must/);
  assert.throws(() => new Identity().forward(b.full([4, 4], 0)), /expected \[N, C, H, W\]/);
  assert.throws(() => new Identity().noisy(b.full([1, 1, 2, 2], 0), -1, 0), /sigmaY/);
});
