import { cpuBackend } from "../src/core/select_backend.ts";
import { mean, sum, sumSquares, sumTo } from "../src/ops/reduce.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

/** [shape, axes]: the scalar kernel's layouts, then the vec4 kernel's (innermost extent % 4). */
const CASES: [number[], number[]][] = [
  [[7], [0]],
  [[3, 5], [1]],
  [[3, 5], [0]],
  [[2, 3, 5, 3], [0, 2, 3]],
  [[2, 3, 12], [0, 1, 2]],
  [[4, 8], [1]],
  // A conv bias gradient: keep channels, reduce batch and the (contiguous) plane.
  [[3, 6, 4, 4], [0, 2, 3]],
  // Two passes: chunks of 1000 floats, then 5 partial sums (scalar second pass).
  [[5000], [0]],
  // Chunks of 691 rounded up to 692 (vec4), the last one shorter.
  [[3, 2, 1036], [1, 2]],
  [[2, 2048], [1]],
];

Deno.test("sum, mean and sumSquares over axes", async (t) => {
  const gpu = await gpuOrSkip();
  const ops = { sum, mean, sumSquares };
  for (const [name, op] of Object.entries(ops)) {
    for (const [shape, axes] of CASES) {
      await t.step(`${name} [${shape}] axes [${axes}]`, () =>
        checkOp({
          name,
          inputs: [{ shape }],
          f: (x) => op(x, axes),
          fdSamples: 10,
        }, gpu));
    }
  }
  // sumTo only runs inside backward passes and records no gradient of its own.
  await t.step("sumTo a broadcast operand's shape", () =>
    checkOp({
      name: "sumTo",
      inputs: [{ shape: [4, 8, 4, 4] }],
      f: (g) => sumTo(g, [1, 8, 1, 1]),
      noGrad: true,
    }, gpu));
  await t.step("values vs direct formula", async () => {
    const x = Float64Array.from({ length: 2 * 3 * 8 }, (_, i) => Math.sin(i) * 3);
    const want = [0, 1, 2].map((c) => {
      let s = 0;
      for (let n = 0; n < 2; n++) for (let j = 0; j < 8; j++) s += x[(n * 3 + c) * 8 + j] ** 2;
      return s;
    });
    const y = await sumSquares(cpuBackend("f64").fromArray(x, [2, 3, 8]), [0, 2]).toArray();
    assertClose(y, want, { atol: 1e-12, rtol: 1e-12 }, "sumSquares vs loops");
  });
});
