import { cpuBackend } from "../src/core/select_backend.ts";
import {
  add,
  addScaled,
  clip,
  div,
  mul,
  sub,
  UNARY,
  unary,
  type UnaryName,
  where,
} from "../src/ops/elementwise.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { assertClose, checkOp, F32, gpuOrSkip } from "./harness.ts";

/** Independent references (Math, not the shared expression table) for the forward values. */
const REF: Record<UnaryName, (x: number) => number> = {
  neg: (x) => -x,
  scale: (x) => x * 1.5,
  addScalar: (x) => x + 1.5,
  silu: (x) => x / (1 + Math.exp(-x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  square: (x) => x * x,
  tanh: Math.tanh,
  clip: (x) => Math.min(Math.max(x, -0.5), 0.7),
};
const PARAMS: Partial<Record<UnaryName, number[]>> = {
  scale: [1.5],
  addScalar: [1.5],
  clip: [-0.5, 0.7],
};
const POSITIVE = new Set<UnaryName>(["log", "sqrt"]);
// [2, 3, 8] takes the kernel's vec4 variant (innermost extent a multiple of 4).
const SHAPES = [[1], [7], [3, 65], [2, 3, 17, 5], [2, 3, 8]];

Deno.test("unary ops", async (t) => {
  const gpu = await gpuOrSkip();
  for (const name of Object.keys(UNARY) as UnaryName[]) {
    for (const shape of SHAPES) {
      await t.step(`${name} [${shape}]`, async () => {
        // Keep x away from clip's kinks, where finite differences are undefined.
        const gen = POSITIVE.has(name)
          ? (r: { uniform(): number }) => 0.5 + 2 * r.uniform()
          : name === "clip"
          ? (r: { uniform(): number; normal(): number }) => {
            const v = r.normal();
            return Math.abs(v + 0.5) < 0.01 || Math.abs(v - 0.7) < 0.01 ? v + 0.05 : v;
          }
          : undefined;
        await checkOp({
          name,
          inputs: [{ shape, gen: gen as never }],
          f: (x) => unary(name, x, PARAMS[name] ?? []),
        }, gpu);
        const x = new Float64Array(shape.reduce((a, b) => a * b, 1)).map((_, i) =>
          POSITIVE.has(name) ? 0.1 + i * 0.37 % 3 : Math.sin(i * 1.7) * 3
        );
        const y = await unary(name, cpuBackend("f64").fromArray(x, shape), PARAMS[name] ?? [])
          .toArray();
        assertClose(y, x.map(REF[name]), { atol: 1e-12, rtol: 1e-12 }, `${name} vs Math`);
      });
    }
  }
});

const BROADCASTS: [number[], number[]][] = [
  [[5], [5]],
  [[2, 3, 4, 5], [1, 3, 1, 1]],
  [[2, 3, 4, 5], [2, 1, 4, 5]],
  [[2, 3, 4, 5], [2, 1, 1, 1]],
  [[3, 1, 7], [1, 6, 1]],
  [[4, 9], [9]],
  [[1], [3, 5]],
  // vec4 variant: b constant along the innermost extent, then contiguous along it.
  [[2, 3, 4, 8], [1, 3, 1, 1]],
  [[2, 3, 4, 8], [2, 1, 4, 8]],
  [[5, 12], [12]],
  [[3, 8], [3, 1]],
  [[4], [1]],
];

Deno.test("binary ops with broadcasting", async (t) => {
  const gpu = await gpuOrSkip();
  const ops = { add, sub, mul, div, addScaled: (a: Tensor, b: Tensor) => addScaled(a, b, -0.7) };
  for (const [name, op] of Object.entries(ops)) {
    for (const [sa, sb] of BROADCASTS) {
      await t.step(`${name} [${sa}] [${sb}]`, () =>
        checkOp({
          name,
          inputs: [
            { shape: sa },
            {
              shape: sb,
              gen: name === "div"
                ? (r) => (r.uniform() < 0.5 ? -1 : 1) * (0.5 + r.uniform())
                : undefined,
            },
          ],
          f: op,
        }, gpu));
    }
  }
  await t.step("forward values vs direct formula", async () => {
    const b = cpuBackend();
    const y = await add(b.fromArray([1, 2, 3, 4, 5, 6], [2, 3]), b.fromArray([10, 20, 30], [3]))
      .toArray();
    assertClose(y, [11, 22, 33, 14, 25, 36], F32, "add broadcast");
    const z = await addScaled(b.fromArray([1, 2], [2]), b.fromArray([3], [1]), 0.5).toArray();
    assertClose(z, [2, 2.5], F32, "addScaled broadcast");
  });
});

Deno.test("where(mask, a, b) with a mask shared across channels", async (t) => {
  const gpu = await gpuOrSkip();
  for (
    const [sm, s] of [[[2, 1, 5, 3], [2, 3, 5, 3]], [[7], [7]], [[1, 1, 9], [2, 4, 9]], [
      [2, 1, 5, 4],
      [2, 3, 5, 4],
    ]]
  ) {
    await t.step(`[${sm}] over [${s}]`, () =>
      checkOp({
        name: "where",
        inputs: [
          { shape: sm, noGrad: true, gen: (r) => (r.uniform() < 0.4 ? 1 : 0) },
          { shape: s },
          { shape: s.map((d, i) => (i === 1 ? 1 : d)) },
        ],
        f: where,
      }, gpu));
  }
  await t.step("values", async () => {
    const b = cpuBackend();
    const y = await where(b.fromArray([1, 0, 1], [3]), b.fromArray([1, 2, 3], [3]), b.full([3], -1))
      .toArray();
    assertClose(y, [1, -1, 3], F32, "where");
  });
  void clip;
});
