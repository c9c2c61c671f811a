import assert from "node:assert/strict";
import { strips } from "../gpu/kernels/lavapipe/group_norm_texture.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { groupNorm } from "../src/ops/group_norm.ts";
import { Rng } from "../src/core/rng.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { assertClose, checkOp, gpuOrSkip, hasGpu, type InputSpec } from "./harness.ts";

/** gamma and beta away from zero so their effect shows; scale small like EDM's embeddings. */
const around1 = (r: Rng) => 1 + 0.3 * r.normal();
const small = (r: Rng) => 0.3 * r.normal();

interface Case {
  shape: number[];
  groups: number;
  /** Which of scale/shift to pass. */
  mod: "none" | "both" | "scale" | "shift";
  /** Shape of scale/shift ([N, C] by default). */
  modShape?: number[];
  eps?: number;
  gen?: (r: Rng) => number;
  fdSamples?: number;
  /** Fuse SiLU into the output. */
  silu?: boolean;
}

const CASES: Case[] = [
  { shape: [2, 4, 3, 5], groups: 2, mod: "none" },
  { shape: [2, 4, 3, 5], groups: 2, mod: "both" },
  { shape: [2, 6, 4, 4], groups: 1, mod: "both" },
  { shape: [3, 5, 3, 3], groups: 5, mod: "both" },
  { shape: [2, 15, 7, 3], groups: 5, mod: "both", eps: 1e-6 },
  { shape: [2, 7, 5, 1], groups: 7, mod: "none" },
  { shape: [4, 6], groups: 3, mod: "both" },
  { shape: [5, 9], groups: 1, mod: "none" },
  { shape: [2, 4, 3, 3], groups: 2, mod: "scale" },
  { shape: [2, 4, 3, 3], groups: 4, mod: "shift" },
  { shape: [2, 6, 2, 3], groups: 3, mod: "both", modShape: [2, 6, 1, 1] },
  // A large mean must not cancel the variance.
  { shape: [2, 4, 5, 5], groups: 2, mod: "both", gen: (r) => 50 + r.normal() },
  // Groups of 4096 values: exercises the workgroup reduction and its strided loop.
  { shape: [2, 8, 32, 32], groups: 2, mod: "both", fdSamples: 6 },
  { shape: [1, 64, 9, 9], groups: 32, mod: "none", fdSamples: 6 },
  // Texture path (planes of whole texels): strips with a short last one (17 and 36 texels a
  // plane), one-texel planes, one channel a group, a large mean, strips longer than the minimum.
  { shape: [2, 6, 4, 17], groups: 3, mod: "both" },
  { shape: [3, 8, 12, 12], groups: 4, mod: "both", eps: 1e-6, fdSamples: 10 },
  { shape: [2, 4, 2, 2], groups: 2, mod: "none" },
  { shape: [2, 8, 4, 4], groups: 8, mod: "scale" },
  { shape: [1, 6, 2, 6], groups: 3, mod: "shift" },
  { shape: [2, 4, 6, 6], groups: 2, mod: "both", gen: (r) => 50 + r.normal() },
  { shape: [2, 64, 32, 32], groups: 32, mod: "none", fdSamples: 4 },
  // Elementwise passes with 8 invocations a strip (planes ≥ 64 texels): 75 texels a plane
  // (uneven lanes), 200 (two strips, the last one short).
  { shape: [1, 6, 15, 20], groups: 3, mod: "none", fdSamples: 10 },
  { shape: [2, 4, 20, 40], groups: 2, mod: "both", fdSamples: 10 },
  // SiLU fused (the backward recomputes the pre-activation, stand-in zeros included).
  { shape: [2, 4, 3, 5], groups: 2, mod: "none", silu: true },
  { shape: [2, 6, 4, 4], groups: 3, mod: "both", silu: true },
  { shape: [2, 8, 4, 4], groups: 8, mod: "scale", silu: true },
  { shape: [1, 6, 2, 6], groups: 3, mod: "shift", silu: true },
  { shape: [2, 4, 20, 40], groups: 2, mod: "none", fdSamples: 10, silu: true },
];

/** The GPU paths: the storage-buffer kernels and the texture kernels (llvmpipe's default). */
const PATHS = [["buffers", false], ["textures", true]] as const;

/** The engine's own choice, restored after each step that forces a path. */
const defaultTextures = (await gpuOrSkip())?.engine.preferTextures ?? false;

function specs(c: Case): InputSpec[] {
  const [N, C] = c.shape;
  const ms = c.modShape ?? [N, C];
  const s: InputSpec[] = [{ shape: c.shape, gen: c.gen }, { shape: [C], gen: around1 }, {
    shape: [C],
    gen: small,
  }];
  if (c.mod === "both" || c.mod === "scale") s.push({ shape: ms, gen: small });
  if (c.mod === "both" || c.mod === "shift") s.push({ shape: ms, gen: small });
  return s;
}

function apply(c: Case, x: Tensor, gamma: Tensor, beta: Tensor, ...m: Tensor[]): Tensor {
  const scale = c.mod === "both" || c.mod === "scale" ? m[0] : undefined;
  const shift = c.mod === "both" ? m[1] : c.mod === "shift" ? m[0] : undefined;
  return groupNorm(x, c.groups, gamma, beta, { eps: c.eps, scale, shift, silu: c.silu });
}

Deno.test("groupNorm: webgpu (buffer and texture kernels) vs twin, gradients vs finite differences", async (t) => {
  const gpu = await gpuOrSkip();
  for (const c of CASES) {
    // Planes of a whole number of texels can take the texture kernels: run both paths.
    const hw = c.shape.slice(2).reduce((a, b) => a * b, 1);
    const both = gpu?.engine.canReadTextures && hw % 4 === 0;
    for (const [path, textures] of both ? PATHS : [["default", defaultTextures] as const]) {
      const name = `groupNorm [${c.shape}] groups=${c.groups} mod=${c.mod}` +
        (c.modShape ? ` [${c.modShape}]` : "") + (c.gen ? " offset" : "") +
        (c.silu ? " + silu" : "") +
        (gpu ? ` (${path})` : "");
      await t.step(name, async () => {
        if (gpu) gpu.engine.preferTextures = textures;
        try {
          await checkOp({
            name,
            inputs: specs(c),
            f: (x, g, b, ...m) => apply(c, x, g, b, ...m),
            fdSamples: c.fdSamples,
          }, gpu);
        } finally {
          if (gpu) gpu.engine.preferTextures = defaultTextures;
        }
      });
      if (!gpu) break;
    }
  }
});

Deno.test({
  name: "groupNorm texture path is taken when preferTextures is set",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures) return;
    const x = gpu.full([2, 8, 4, 4], 1);
    const ones = gpu.full([8], 1);
    const count = (textures: boolean, shape = x) => {
      gpu.engine.preferTextures = textures;
      const before = gpu.engine.dispatchCount;
      groupNorm(shape, 4, ones, ones).dispose();
      return gpu.engine.dispatchCount - before;
    };
    const odd = gpu.full([2, 8, 3, 3], 1);
    try {
      // Buffers: stats, apply. Textures: strip sums, stats, apply. (+ poisoning y and stats.)
      assert.equal(count(false), 2 + 2);
      assert.equal(count(true), 3 + 2);
      // 9 pixels a plane are not whole texels: the buffer kernels run.
      assert.equal(count(true, odd), 2 + 2);
    } finally {
      gpu.engine.preferTextures = defaultTextures;
    }
    await gpu.sync();
    for (const z of [x, ones, odd]) z.dispose();
  },
});

Deno.test("groupNorm texture strips: equal lengths but the last, none empty", () => {
  for (const [count, texels] of [[1, 1], [12, 17], [6, 34], [512, 512], [64, 2048], [1, 5000]]) {
    const s = strips(count, texels);
    assert.ok(s.T >= 1 && s.T <= texels, `[${count}, ${texels}] T=${s.T}`);
    assert.equal(s.per, Math.ceil(texels / s.T));
    assert.ok((s.per - 1) * s.T < texels, `[${count}, ${texels}] last strip empty`);
  }
  // Enough strips to keep the cores busy when the tensor allows it.
  assert.ok(strips(16 * 32, 512).per * 16 * 32 >= 1024);
});

/** Independent reference: gathers each group's values, then normalises them (float64). */
function reference(
  x: Float64Array,
  shape: number[],
  groups: number,
  gamma: Float64Array,
  beta: Float64Array,
  eps: number,
  scale?: Float64Array,
  shift?: Float64Array,
): Float64Array {
  const [N, C] = shape;
  const hw = x.length / (N * C);
  const cg = C / groups;
  const at = (n: number, c: number, j: number) => (n * C + c) * hw + j;
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const vals: number[] = [];
      for (let c = g * cg; c < (g + 1) * cg; c++) {
        for (let j = 0; j < hw; j++) vals.push(x[at(n, c, j)]);
      }
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const meanSq = vals.reduce((a, b) => a + b * b, 0) / vals.length;
      const std = Math.sqrt(meanSq - mean * mean + eps);
      for (let c = g * cg; c < (g + 1) * cg; c++) {
        for (let j = 0; j < hw; j++) {
          const a = ((x[at(n, c, j)] - mean) / std) * gamma[c] + beta[c];
          y[at(n, c, j)] = scale && shift ? shift[n * C + c] + a * (scale[n * C + c] + 1) : a;
        }
      }
    }
  }
  return y;
}

Deno.test("groupNorm: forward matches an independent reference", async (t) => {
  const b = cpuBackend("f64");
  const rng = new Rng(7);
  const cases: [number[], number, boolean, boolean][] = [
    [[2, 6, 3, 4], 3, true, false],
    [[3, 5, 2, 2], 1, false, false],
    [[2, 7, 4, 3], 7, true, false],
    [[4, 10], 5, true, false],
    [[2, 6, 3, 4], 3, true, true],
    [[3, 5, 2, 2], 1, false, true],
  ];
  for (const [shape, groups, mod, silu] of cases) {
    await t.step(`[${shape}] groups=${groups} mod=${mod} silu=${silu}`, async () => {
      const [N, C] = shape;
      const x = rng.normals(shape.reduce((a, c) => a * c, 1), 2);
      const gamma = rng.normals(C).map((v) => 1 + 0.3 * v);
      const beta = rng.normals(C, 0.5);
      const scale = rng.normals(N * C, 0.3);
      const shift = rng.normals(N * C, 0.3);
      const y = groupNorm(
        b.fromArray(x, shape),
        groups,
        b.fromArray(gamma, [C]),
        b.fromArray(beta, [C]),
        mod
          ? { scale: b.fromArray(scale, [N, C]), shift: b.fromArray(shift, [N, C]), silu }
          : { silu },
      );
      const want = reference(x, shape, groups, gamma, beta, 1e-5, mod ? scale : undefined, shift)
        .map((v) => silu ? v / (1 + Math.exp(-v)) : v);
      assertClose(await y.toArray(), want, { atol: 1e-10, rtol: 1e-10 }, "groupNorm vs reference");
    });
  }
  await t.step("known values", async () => {
    // One group of [1, 2, 3, 4]: mean 2.5, variance 1.25.
    const y = await groupNorm(
      b.fromArray([1, 2, 3, 4], [1, 2, 2]),
      1,
      b.full([2], 1),
      b.full([2], 0),
      {
        eps: 0,
      },
    ).toArray();
    const s = Math.sqrt(1.25);
    assertClose(y, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], { atol: 1e-12, rtol: 1e-12 }, "values");
  });
});

Deno.test("groupNorm: shape errors", () => {
  const b = cpuBackend();
  const x = b.full([2, 6, 3, 3], 0);
  const ones = b.full([6], 1);
  assert.throws(
    () => groupNorm(x, 4, ones, ones),
    /groups \(4\) must be a positive integer dividing/,
  );
  assert.throws(() => groupNorm(x, 2, b.full([5], 1), ones), /gamma must have shape \[6\]/);
  assert.throws(() => groupNorm(b.full([6], 0), 2, ones, ones), /x must be \[N, C, \.\.\.\]/);
  assert.throws(
    () => groupNorm(x, 2, ones, ones, { scale: b.full([2, 6, 3, 1], 0) }),
    /scale must have shape \[2, 6\]/,
  );
});
