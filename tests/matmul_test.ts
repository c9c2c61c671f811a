import assert from "node:assert/strict";
import { cpuBackend } from "../src/backends.ts";
import { linear } from "../src/ops/linear.ts";
import { matmul } from "../src/ops/matmul.ts";
import { Rng } from "../src/rng.ts";
import { assertClose, checkOp, gpuOrSkip, type Tol } from "./harness.ts";

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

function shapesOf(B: number, M: number, N: number, K: number, tA: boolean, tB: boolean) {
  return [[B, ...(tA ? [K, M] : [M, K])], [B, ...(tB ? [N, K] : [K, N])]];
}

/** checkOp of matmul(a, b) with the given transposes, at MM tolerances. */
function checkMatmul(
  sa: number[],
  sb: number[],
  tA: boolean,
  tB: boolean,
  fdSamples: number,
  gpu: Awaited<ReturnType<typeof gpuOrSkip>>,
): Promise<void> {
  return checkOp({
    name: "matmul",
    inputs: [{ shape: sa }, { shape: sb }],
    f: (a, b) => matmul(a, b, { transA: tA, transB: tB }),
    tol: MM,
    gradTol: MM,
    fdSamples,
  }, gpu);
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
            for (const be of gpu ? [cpuBackend(), gpu] : [cpuBackend()]) {
              const a = be.fromArray(av, sa);
              const b = be.fromArray(bv, sb);
              const c = matmul(a, b, { transA: tA, transB: tB });
              // Reads are queued together so the GPU round-trips overlap.
              pending.push({ got: c.toArray(), want, what: `${what} (${be.kind})` });
              for (const x of [a, b, c]) x.dispose();
            }
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
