import assert from "node:assert/strict";
import { gpuBuffer } from "../gpu/backend.ts";
import { lineLayout, matmulTexture } from "../gpu/kernels/lavapipe/matmul_texture.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { planMatmul } from "../src/layout/matmul_layout.ts";
import { linear } from "../src/ops/linear.ts";
import { matmul } from "../src/ops/matmul.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, checkOp, gpuOrSkip, hasGpu, type Tol } from "./harness.ts";

/** f32 sums of up to 64 products of unit normals: a little looser than the default F32. */
const MM: Tol = { atol: 5e-5, rtol: 1e-4 };

/** Direct triple loop from the definition, written independently of the twin's strides. */
function reference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  batch: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  shareA = false,
  shareB = false,
): Float64Array {
  const c = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const ta = shareA ? 0 : t;
    const tb = shareB ? 0 : t;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[(ta * K + k) * M + m] : a[(ta * M + m) * K + k];
          const bv = transB ? b[(tb * N + n) * K + k] : b[(tb * K + k) * N + n];
          s += av * bv;
        }
        c[(t * M + m) * N + n] = s;
      }
    }
  }
  return c;
}

const TRIPLES: [number, number, number][] = [
  [1, 1, 1],
  [5, 17, 33],
  [17, 33, 5],
  [33, 5, 17],
  [64, 64, 64],
  [1, 64, 5],
  [64, 1, 17],
  [33, 33, 1],
  [5, 5, 64],
];
const COMBOS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** The GPU paths: the storage-buffer kernel and the texture kernel (llvmpipe's default). */
const PATHS = [["buffers", false], ["textures", true]] as const;

/** The engine's own choice, restored after each step that forces a path. */
const defaultTextures = (await gpuOrSkip())?.engine.preferTextures ?? false;

/** The GPU paths this adapter can take (textures only where storage textures can be read). */
function pathsOf(gpu: Awaited<ReturnType<typeof gpuOrSkip>>) {
  return gpu?.engine.canReadTextures ? PATHS : PATHS.slice(0, 1);
}

function shapesOf(B: number, M: number, N: number, K: number, tA: boolean, tB: boolean) {
  return [[B, ...(tA ? [K, M] : [M, K])], [B, ...(tB ? [N, K] : [K, N])]];
}

/** checkOp of matmul(a, b) with the given transposes, at MM tolerances, on every GPU path. */
function checkMatmul(
  sa: number[],
  sb: number[],
  tA: boolean,
  tB: boolean,
  fdSamples: number,
  gpu: Awaited<ReturnType<typeof gpuOrSkip>>,
): Promise<void> {
  const check = () =>
    checkOp({
      name: "matmul",
      inputs: [{ shape: sa }, { shape: sb }],
      f: (a, b) => matmul(a, b, { transA: tA, transB: tB }),
      tol: MM,
      gradTol: MM,
      fdSamples,
    }, gpu);
  return gpu ? forEachPath(gpu, check) : check();
}

/** Runs `f` once per GPU path (buffers, then textures where supported), restoring the default. */
async function forEachPath(
  gpu: NonNullable<Awaited<ReturnType<typeof gpuOrSkip>>>,
  f: (path: string) => Promise<void>,
): Promise<void> {
  for (const [path, textures] of pathsOf(gpu)) {
    gpu.engine.preferTextures = textures;
    try {
      await f(path);
    } finally {
      gpu.engine.preferTextures = defaultTextures;
    }
  }
}

Deno.test("matmul: all transpose combinations, B in {1, 3}", async (t) => {
  const gpu = await gpuOrSkip();
  for (const [tA, tB] of COMBOS) {
    for (const B of [1, 3]) {
      for (const [M, N, K] of TRIPLES) {
        const [sa, sb] = shapesOf(B, M, N, K, tA, tB);
        await t.step(`transA=${tA} transB=${tB} B=${B} M=${M} N=${N} K=${K}`, async () => {
          await checkMatmul(sa, sb, tA, tB, M * N * K * B > 5000 ? 6 : 20, gpu);
          const rng = new Rng(M * 1000 + N * 10 + K);
          const av = rng.normals(sa.reduce((x, y) => x * y, 1));
          const bv = rng.normals(sb.reduce((x, y) => x * y, 1));
          const be = cpuBackend("f64");
          const c = await matmul(be.fromArray(av, sa), be.fromArray(bv, sb), {
            transA: tA,
            transB: tB,
          }).toArray();
          const want = reference(av, bv, B, M, N, K, tA, tB);
          assertClose(c, want, { atol: 1e-12, rtol: 1e-12 }, "twin vs triple loop");
        });
      }
    }
  }
});

/**
 * One product on the CPU twin and on each GPU path, read back later (round-trips overlap). The
 * texture kernel is called directly: `matmul` keeps small products that need padding on buffers.
 */
function runPaths(
  gpu: Awaited<ReturnType<typeof gpuOrSkip>>,
  av: Float64Array,
  bv: Float64Array,
  sa: number[],
  sb: number[],
  tA: boolean,
  tB: boolean,
  want: Float64Array,
  what: string,
): { got: Promise<ArrayLike<number>>; want: Float64Array; what: string }[] {
  const out = [];
  for (const be of gpu ? [cpuBackend(), gpu] : [cpuBackend()]) {
    const a = be.fromArray(av, sa);
    const b = be.fromArray(bv, sb);
    if (gpu) gpu.engine.preferTextures = false;
    const c = matmul(a, b, { transA: tA, transB: tB });
    if (gpu) gpu.engine.preferTextures = defaultTextures;
    out.push({ got: c.toArray(), want, what: `${what} (${be === gpu ? "buffers" : "cpu"})` });
    if (be === gpu && gpu.engine.canReadTextures) {
      const { layout, outShape } = planMatmul(sa, sb, tA, tB);
      const ct = gpu.empty(outShape);
      const bufs = [a, b, ct].map(gpuBuffer);
      matmulTexture(gpu.engine, what, bufs[0], bufs[1], bufs[2], layout);
      out.push({ got: ct.toArray(), want, what: `${what} (textures)` });
      ct.dispose();
    }
    for (const x of [a, b, c]) x.dispose();
  }
  return out;
}

Deno.test("matmul forward: every M, N, K in {1, 5, 17, 33, 64}, B in {1, 3}, all transposes", async () => {
  const gpu = await gpuOrSkip();
  const sizes = [1, 5, 17, 33, 64];
  const rng = new Rng(99);
  const pending: { got: Promise<ArrayLike<number>>; want: Float64Array; what: string }[] = [];
  for (const [tA, tB] of COMBOS) {
    for (const B of [1, 3]) {
      for (const M of sizes) {
        for (const N of sizes) {
          for (const K of sizes) {
            const [sa, sb] = shapesOf(B, M, N, K, tA, tB);
            const av = rng.normals(sa.reduce((x, y) => x * y, 1));
            const bv = rng.normals(sb.reduce((x, y) => x * y, 1));
            const want = reference(av, bv, B, M, N, K, tA, tB);
            const what = `transA=${tA} transB=${tB} B=${B} M=${M} N=${N} K=${K}`;
            pending.push(...runPaths(gpu, av, bv, sa, sb, tA, tB, want, what));
          }
        }
      }
    }
  }
  for (const p of pending) assertClose(await p.got, p.want, MM, p.what);
});

Deno.test("matmul: 2-D operands and a matrix shared across the batch", async (t) => {
  const gpu = await gpuOrSkip();
  const cases: { sa: number[]; sb: number[]; tA: boolean; tB: boolean }[] = [
    { sa: [7, 9], sb: [9, 11], tA: false, tB: false },
    { sa: [9, 7], sb: [11, 9], tA: true, tB: true },
    { sa: [6, 13], sb: [3, 13, 10], tA: false, tB: false },
    { sa: [3, 6, 13], sb: [10, 13], tA: false, tB: true },
    { sa: [1, 13, 6], sb: [3, 13, 10], tA: true, tB: false },
    { sa: [2, 3, 5, 4], sb: [2, 3, 4, 6], tA: false, tB: false },
  ];
  for (const { sa, sb, tA, tB } of cases) {
    await t.step(`[${sa}]${tA ? "ᵀ" : ""} x [${sb}]${tB ? "ᵀ" : ""}`, async () => {
      await checkMatmul(sa, sb, tA, tB, 15, gpu);
    });
  }
  await t.step("shared B against the loop", async () => {
    const rng = new Rng(5);
    const av = rng.normals(3 * 4 * 5);
    const bv = rng.normals(5 * 6);
    const be = cpuBackend("f64");
    const c = matmul(be.fromArray(av, [3, 4, 5]), be.fromArray(bv, [5, 6]));
    assert.deepEqual(c.shape, [3, 4, 6]);
    assertClose(await c.toArray(), reference(av, bv, 3, 4, 6, 5, false, false, false, true), {
      atol: 1e-12,
      rtol: 1e-12,
    }, "shared B");
  });
  await t.step("shape errors", () => {
    const be = cpuBackend();
    assert.throws(() => matmul(be.full([2, 3], 0), be.full([2, 3], 0)), /inner dimensions/);
    assert.throws(() => matmul(be.full([2, 2, 3], 0), be.full([3, 3, 4], 0)), /batch/);
    assert.throws(() => matmul(be.full([3], 0), be.full([3, 1], 0)), /at least 2/);
  });
});

Deno.test("matmul: small known product", async () => {
  const be = cpuBackend();
  const a = be.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  assertClose(await matmul(a, a, { transB: true }).toArray(), [14, 32, 32, 77], MM, "a·aᵀ");
  assertClose(
    await matmul(a, a, { transA: true }).toArray(),
    [17, 22, 27, 22, 29, 36, 27, 36, 45],
    MM,
    "aᵀ·a",
  );
});

Deno.test("matmul forward past one workgroup's 64×64 tile, K padded or not, shared operands", async () => {
  const gpu = await gpuOrSkip();
  const rng = new Rng(7);
  const pending: ReturnType<typeof runPaths> = [];
  // [B, M, N, K, shareA, shareB]: K = 37 is padded in the texture staging, 128 is copied as is.
  const cases: [number, number, number, number, boolean, boolean][] = [
    [2, 150, 70, 37, false, false],
    [2, 70, 150, 128, false, false],
    [3, 67, 129, 36, true, false],
    [3, 129, 67, 9, false, true],
  ];
  for (const [B, M, N, K, shareA, shareB] of cases) {
    for (const [tA, tB] of COMBOS) {
      const [sa, sb] = shapesOf(B, M, N, K, tA, tB);
      if (shareA) sa[0] = 1;
      if (shareB) sb[0] = 1;
      const av = rng.normals(sa.reduce((x, y) => x * y, 1));
      const bv = rng.normals(sb.reduce((x, y) => x * y, 1));
      const want = reference(av, bv, B, M, N, K, tA, tB, shareA, shareB);
      const what = `[${sa}]${tA ? "ᵀ" : ""} x [${sb}]${tB ? "ᵀ" : ""}`;
      pending.push(...runPaths(gpu, av, bv, sa, sb, tA, tB, want, what));
    }
  }
  for (const p of pending) assertClose(await p.got, p.want, MM, p.what);
});

Deno.test({
  name: "matmul texture path is taken when preferTextures is set",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures) return;
    const engine = gpu.engine;
    const alloc = engine.allocTexture;
    let textures = 0;
    engine.allocTexture = (w, h) => {
      textures++;
      return alloc.call(engine, w, h);
    };
    const count = (tex: boolean, m: number, k: number) => {
      engine.preferTextures = tex;
      const a = gpu.full([2, m, k], 1);
      const b = gpu.full([2, k, 128], 1);
      const [t0, d0] = [textures, engine.dispatchCount];
      matmul(a, b).dispose();
      const counts = [textures - t0, engine.dispatchCount - d0];
      for (const x of [a, b]) x.dispose();
      return counts;
    };
    try {
      // Buffers: the kernel (+ poisoning the output). Textures, K and N multiples of 4: two
      // copies into textures, then the kernel; K = 63: raw copies and a padding pass per
      // operand, which pays at 2·64·128·63 FLOPs a product but not at a quarter of that.
      assert.deepEqual(count(false, 5, 8), [0, 1 + 1]);
      assert.deepEqual(count(true, 5, 8), [2, 1 + 1]);
      assert.deepEqual(count(true, 64, 63), [4, 3 + 1]);
      assert.deepEqual(count(true, 16, 63), [0, 1 + 1]);
    } finally {
      engine.allocTexture = alloc;
      engine.preferTextures = defaultTextures;
    }
    await gpu.sync();
  },
});

Deno.test("matmul texture layout: within maxDim, lines wrap, k-major lines in groups of 4", () => {
  const maxDim = 64;
  // [kMajor, planes, rows, cols, K, copied as is]
  const cases: [boolean, number, number, number, number, boolean][] = [
    [false, 3, 5, 7, 7, false],
    [false, 2, 50, 128, 128, true],
    [true, 3, 9, 33, 9, false],
    [true, 7, 4, 4, 4, true],
    [false, 1, 1, 256, 256, true],
    // 10 texels a line: 8 lines (a 256-byte pitch) would exceed 64 texels, so it is padded.
    [true, 1, 256, 40, 256, false],
  ];
  for (const [kMajor, planes, rows, cols, K, direct] of cases) {
    const what = `kMajor=${kMajor} [${planes},${rows},${cols}] K=${K}`;
    const l = lineLayout(kMajor, planes, rows, cols, K, maxDim);
    assert.ok(l, what);
    assert.equal(l.direct, direct, what);
    assert.ok(l.width <= maxDim && l.height <= maxDim, what);
    assert.equal(l.texels, Math.ceil(cols / 4), what);
    assert.equal(l.width, l.texels * 2 ** l.lg, what);
    assert.ok(l.height * 2 ** l.lg >= planes * l.prows, what);
    // A copy needs rows of a multiple of 256 bytes.
    if (l.direct) assert.equal(l.width % 16, 0, what);
    if (kMajor) assert.ok(l.prows % 4 === 0 && l.lg >= 2 && l.prows >= rows, what);
    else assert.equal(l.prows, rows, what);
  }
  // Too many lines, or a line longer than a texture row allows.
  assert.equal(lineLayout(false, 1, 64 * 64 + 1, 64 * 4, 256, maxDim), null);
  assert.equal(lineLayout(true, 1, 8, 64 * 4, 8, maxDim), null);
});

Deno.test("linear: y = x·wᵀ + b in x, w and b", async (t) => {
  const gpu = await gpuOrSkip();
  for (const [n, inF, outF] of [[1, 1, 1], [4, 7, 5], [9, 33, 17], [2, 64, 65]]) {
    await t.step(`x [${n}, ${inF}] -> [${n}, ${outF}]`, async () => {
      await checkOp({
        name: "linear",
        inputs: [{ shape: [n, inF] }, { shape: [outF, inF] }, { shape: [outF] }],
        f: (x, w, b) => linear(x, w, b),
        tol: MM,
        gradTol: MM,
        fdSamples: 12,
      }, gpu);
      const rng = new Rng(n + inF + outF);
      const x = rng.normals(n * inF);
      const w = rng.normals(outF * inF);
      const b = rng.normals(outF);
      const be = cpuBackend("f64");
      const y = await linear(
        be.fromArray(x, [n, inF]),
        be.fromArray(w, [outF, inF]),
        be.fromArray(b, [outF]),
      )
        .toArray();
      const want = new Float64Array(n * outF);
      for (let i = 0; i < n; i++) {
        for (let o = 0; o < outF; o++) {
          let s = b[o];
          for (let j = 0; j < inF; j++) s += x[i * inF + j] * w[o * inF + j];
          want[i * outF + o] = s;
        }
      }
      assertClose(y, want, { atol: 1e-12, rtol: 1e-12 }, "linear vs loop");
    });
  }
  await t.step("no bias, 3-D input", () =>
    checkOp({
      name: "linear (no bias)",
      inputs: [{ shape: [2, 3, 6] }, { shape: [4, 6] }],
      f: (x, w) => linear(x, w),
      tol: MM,
      gradTol: MM,
    }, gpu));
});
