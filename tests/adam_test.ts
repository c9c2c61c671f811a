import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { Adam, adamUpdate, adamUpdateMany } from "../src/optim/adam.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, F32, gpuOrSkip, type Tol } from "./harness.ts";
import { reshape } from "../src/ops/reshape.ts";

/** torch.optim.Adam's update, written out in float64 (no weight decay, no amsgrad). */
function adamRef(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  o: { lr: number; beta1: number; beta2: number; eps: number; t: number },
): void {
  for (let i = 0; i < p.length; i++) {
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
    const mHat = m[i] / (1 - o.beta1 ** o.t);
    const vHat = v[i] / (1 - o.beta2 ** o.t);
    p[i] -= o.lr * mHat / (Math.sqrt(vHat) + o.eps);
  }
}

const SHAPES = [[1], [7], [3, 65], [2, 3, 17, 5]];
/** Two hyper-parameter sets; the second has small gradients and a large ε, so where ε is
 * added (after the square root) matters. */
const CONFIGS = [
  { beta1: 0.9, beta2: 0.999, eps: 1e-8, gradSize: 1, scale: undefined },
  { beta1: 0.8, beta2: 0.99, eps: 1e-3, gradSize: 1e-3, scale: 0.37 },
] as const;
const STEPS = 5;
const LR = [1e-2, 3e-3, 1e-2, 5e-3, 2e-2];

interface Run {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

function draws(shape: number[], gradSize: number) {
  const rng = new Rng(shape.length * 1000 + shape[0]);
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    p0: rng.normals(n),
    grads: Array.from({ length: STEPS }, () => rng.normals(n, gradSize)),
  };
}

async function runBackend(
  b: Backend,
  shape: number[],
  cfg: (typeof CONFIGS)[number],
  defaults: boolean,
): Promise<Run> {
  const { p0, grads } = draws(shape, cfg.gradSize);
  const p = b.fromArray(p0, shape);
  const m = b.full(shape, 0);
  const v = b.full(shape, 0);
  const view = reshape(p, [-1]);
  for (let t = 1; t <= STEPS; t++) {
    using g = b.fromArray(grads[t - 1], shape);
    using s = cfg.scale === undefined ? undefined : b.fromArray([cfg.scale], [1]);
    const hyper = defaults ? {} : { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps };
    adamUpdate(p, g, m, v, { lr: LR[t - 1], step: t, ...hyper, gradScale: s });
  }
  const out = {
    p: Float64Array.from(await p.toArray()),
    m: Float64Array.from(await m.toArray()),
    v: Float64Array.from(await v.toArray()),
  };
  // In place: a view made before the steps sees the updated storage.
  assert.deepEqual(Float64Array.from(await view.toArray()), out.p);
  for (const t of [p, m, v, view]) t.dispose();
  return out;
}

function reference(shape: number[], cfg: (typeof CONFIGS)[number]): Run {
  const { p0, grads } = draws(shape, cfg.gradSize);
  const p = p0.slice();
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  for (let t = 1; t <= STEPS; t++) {
    const g = grads[t - 1].map((x) => x * (cfg.scale ?? 1));
    adamRef(p, g, m, v, { lr: LR[t - 1], beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, t });
  }
  return { p, m, v };
}

function compare(a: Run, b: Run, tol: Tol, what: string, vTol: Tol = tol) {
  assertClose(a.p, b.p, tol, `${what} param`);
  assertClose(a.m, b.m, tol, `${what} m`);
  assertClose(a.v, b.v, vTol, `${what} v`);
}

Deno.test("adamUpdate: 5 steps vs a float64 torch.optim.Adam reference, WebGPU vs CPU", async (t) => {
  const gpu = await gpuOrSkip();
  for (const [k, cfg] of CONFIGS.entries()) {
    for (const shape of SHAPES) {
      await t.step(`config ${k} [${shape}]`, async () => {
        const ref = reference(shape, cfg);
        const defaults = k === 0;
        const f64 = await runBackend(cpuBackend("f64"), shape, cfg, defaults);
        compare(f64, ref, { atol: 1e-12, rtol: 1e-10 }, "cpu f64 vs reference");
        const f32 = await runBackend(cpuBackend(), shape, cfg, defaults);
        // v is ~g²: an absolute floor scaled to the gradients' size.
        const vTol = { atol: 1e-6 * cfg.gradSize ** 2, rtol: 1e-4 };
        compare(f32, ref, { atol: 1e-5, rtol: 1e-4 }, "cpu f32 vs reference", vTol);
        if (gpu) {
          const g = await runBackend(gpu, shape, cfg, defaults);
          compare(g, f32, F32, "webgpu vs cpu f32", vTol);
        }
      });
    }
  }
  await t.step(
    "adamUpdateMany: 23 parameters in one call (several dispatches on WebGPU)",
    async () => {
      const sizes = Array.from({ length: 23 }, (_, i) => 1 + ((i * 97) % 301));
      const cfg = CONFIGS[1];
      const rng = new Rng(17);
      const p0 = sizes.map((n) => rng.normals(n));
      const gs = sizes.map((n) => rng.normals(n, cfg.gradSize));
      const want = p0.map((p, i) => {
        const r = { p: p.slice(), m: new Float64Array(p.length), v: new Float64Array(p.length) };
        const g = gs[i].map((x) => x * cfg.scale);
        adamRef(r.p, g, r.m, r.v, {
          lr: 0.01,
          beta1: cfg.beta1,
          beta2: cfg.beta2,
          eps: cfg.eps,
          t: 1,
        });
        return r;
      });
      for (const b of [cpuBackend(), ...(gpu ? [gpu] : [])]) {
        const items = sizes.map((n, i) => ({
          param: b.fromArray(p0[i], [n]),
          grad: b.fromArray(gs[i], [n]),
          m: b.full([n], 0),
          v: b.full([n], 0),
        }));
        using s = b.fromArray([cfg.scale], [1]);
        const { beta1, beta2, eps } = cfg;
        adamUpdateMany(items, { lr: 0.01, step: 1, beta1, beta2, eps, gradScale: s });
        for (const [i, it] of items.entries()) {
          const got = {
            p: Float64Array.from(await it.param.toArray()),
            m: Float64Array.from(await it.m.toArray()),
            v: Float64Array.from(await it.v.toArray()),
          };
          const vTol = { atol: 1e-6 * cfg.gradSize ** 2, rtol: 1e-4 };
          compare(got, want[i], { atol: 1e-5, rtol: 1e-4 }, `${b.name} parameter ${i}`, vTol);
          for (const x of Object.values(it)) x.dispose();
        }
      }
    },
  );
  await t.step("the first step moves each parameter by lr·sign(g) (bias correction)", async () => {
    const b = cpuBackend("f64");
    const p = b.fromArray([1, 1, 1], [3]);
    const g = b.fromArray([0.5, -2, 1e-3], [3]);
    adamUpdate(p, g, b.full([3], 0), b.full([3], 0), { lr: 0.1, step: 1 });
    assertClose(await p.toArray(), [0.9, 1.1, 0.9], { atol: 1e-6, rtol: 0 }, "first step");
  });
  await t.step("argument checks", () => {
    const b = cpuBackend();
    const p = b.full([3], 0);
    assert.throws(() => adamUpdate(p, b.full([4], 0), p, p, { lr: 1, step: 1 }), /grad/);
    assert.throws(() => adamUpdate(p, p, p, p, { lr: 1, step: 0 }), /step/);
    assert.throws(
      () => adamUpdate(p, p, p, p, { lr: 1, step: 1, gradScale: b.full([2], 1) }),
      /gradScale/,
    );
  });
});

Deno.test("Adam class: clipping + update over several parameters, no readback", async (t) => {
  const gpu = await gpuOrSkip();
  const shapes = [[5], [3, 65], [2, 3, 17, 5], [1]];
  const rng = new Rng(31);
  const p0 = shapes.map((s) => rng.normals(s.reduce((a, b) => a * b, 1)));
  // Step 1 has a global norm far above 1 (clipped), step 3 far below (not clipped).
  const sizes = [3, 1, 1e-3];
  const gs = sizes.map((sz) => p0.map((p) => rng.normals(p.length, sz)));
  const maxNorm = 1;

  // float64 reference: clip_grad_norm_ then torch.optim.Adam.
  const ref = p0.map((p) => p.slice());
  const m = p0.map((p) => new Float64Array(p.length));
  const v = p0.map((p) => new Float64Array(p.length));
  gs.forEach((grads, k) => {
    let ss = 0;
    for (const g of grads) for (const x of g) ss += x * x;
    const s = Math.min(1, maxNorm / (Math.sqrt(ss) + 1e-6));
    grads.forEach((g, i) =>
      adamRef(ref[i], g.map((x) => x * s), m[i], v[i], {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        t: k + 1,
      })
    );
  });

  const run = async (b: Backend) => {
    const params = p0.map((p, i) => b.fromArray(p, shapes[i]));
    const grads = gs.map((g) => g.map((x, i) => b.fromArray(x, shapes[i])));
    const opt = new Adam(params, { maxGradNorm: maxNorm });
    const engine = "engine" in b ? (b as { engine: { submitCount: number } }).engine : null;
    const submits = engine?.submitCount;
    for (const g of grads) opt.step(g, { lr: 0.01 });
    // Reading anything back would have flushed (submitted) the batch.
    if (engine) assert.equal(engine.submitCount, submits, "Adam.step submitted work");
    assert.equal(opt.t, 3);
    const out = await Promise.all(params.map((p) => p.toArray()));
    opt.dispose();
    for (const x of [...params, ...grads.flat()]) x.dispose();
    return out;
  };
  await t.step("cpu f64 vs reference", async () => {
    const out = await run(cpuBackend("f64"));
    out.forEach((p, i) => assertClose(p, ref[i], { atol: 1e-12, rtol: 1e-10 }, `param ${i}`));
  });
  const f32 = await run(cpuBackend());
  await t.step("cpu f32 vs reference", () => {
    f32.forEach((p, i) => assertClose(p, ref[i], { atol: 1e-5, rtol: 1e-4 }, `param ${i}`));
  });
  if (gpu) {
    await t.step("webgpu vs cpu f32", async () => {
      const out = await run(gpu);
      out.forEach((p, i) => assertClose(p, f32[i], F32, `param ${i}`));
    });
  }
  await t.step("gradient count must match", () => {
    const b = cpuBackend();
    using opt = new Adam([b.full([2], 0)]);
    assert.throws(() => opt.step([], { lr: 1 }), /0 gradients for 1/);
  });
});
