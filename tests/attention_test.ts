import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { multiHeadAttention } from "../src/ops/attention.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

/**
 * EDM's formulas as plain loops: channel ((head·c) + i)·3 + j of qkv holds component i of
 * q (j = 0), k (j = 1) or v (j = 2); w = softmax_k(Σ_i q_i k_i / √c); a_i = Σ_k w v_i.
 */
function reference(qkv: ArrayLike<number>, shape: number[], heads: number): Float64Array {
  const [N, C3, H, W] = shape;
  const C = C3 / 3;
  const c = C / heads;
  const L = H * W;
  const out = new Float64Array(N * C * L);
  const get = (n: number, head: number, i: number, j: number, p: number) =>
    qkv[((n * C3) + ((head * c + i) * 3 + j)) * L + p];
  for (let n = 0; n < N; n++) {
    for (let head = 0; head < heads; head++) {
      for (let q = 0; q < L; q++) {
        const w = new Float64Array(L);
        for (let k = 0; k < L; k++) {
          let s = 0;
          for (let i = 0; i < c; i++) {
            s += get(n, head, i, 0, q) * get(n, head, i, 1, k) / Math.sqrt(c);
          }
          w[k] = s;
        }
        const mx = Math.max(...w);
        let z = 0;
        for (let k = 0; k < L; k++) z += w[k] = Math.exp(w[k] - mx);
        for (let i = 0; i < c; i++) {
          let s = 0;
          for (let k = 0; k < L; k++) s += (w[k] / z) * get(n, head, i, 2, k);
          out[(n * C + head * c + i) * L + q] = s;
        }
      }
    }
  }
  return out;
}

const CASES: [number[], number][] = [
  [[1, 6, 1, 1], 1],
  [[1, 12, 2, 3], 1],
  [[2, 18, 3, 3], 3],
  [[2, 24, 4, 4], 2],
  [[1, 48, 5, 7], 4],
  [[1, 24, 6, 6], 1],
];

Deno.test("multiHeadAttention matches EDM's formulas", async (t) => {
  const gpu = await gpuOrSkip();
  for (const [shape, heads] of CASES) {
    await t.step(`qkv [${shape}], ${heads} head(s)`, async () => {
      await checkOp({
        name: "attention",
        inputs: [{ shape }],
        f: (x) => multiHeadAttention(x, heads),
        fdSamples: 20,
      }, gpu);
      const n = shape.reduce((a, b) => a * b, 1);
      const x = new Rng(n + heads).normals(n);
      const y = multiHeadAttention(cpuBackend("f64").fromArray(x, shape), heads);
      assert.deepEqual(y.shape, [shape[0], shape[1] / 3, shape[2], shape[3]]);
      assertClose(
        await y.toArray(),
        reference(x, shape, heads),
        { atol: 1e-12, rtol: 1e-10 },
        "vs loops",
      );
    });
  }
  await t.step("errors", () => {
    const be = cpuBackend();
    assert.throws(() => multiHeadAttention(be.full([1, 7, 2, 2], 0), 1), /3C/);
    assert.throws(() => multiHeadAttention(be.full([1, 12, 2, 2], 0), 3), /heads/);
  });
});
