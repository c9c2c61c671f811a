import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { concat, slice } from "../src/ops/concat.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

const EXACT = { atol: 0, rtol: 0 };

/** Element at row-major coordinates `c` of `shape`. */
function at(x: ArrayLike<number>, shape: readonly number[], c: readonly number[]): number {
  let i = 0;
  for (let k = 0; k < shape.length; k++) i = i * shape[k] + c[k];
  return x[i];
}

/** Every coordinate of `shape` in row-major order. */
function* coords(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    const c = new Array(shape.length);
    let r = i;
    for (let k = shape.length - 1; k >= 0; k--) {
      c[k] = r % shape[k];
      r = Math.floor(r / shape[k]);
    }
    yield c;
  }
}

Deno.test("concat along every axis", async (t) => {
  const gpu = await gpuOrSkip();
  const base = [2, 3, 4, 5];
  for (let axis = 0; axis < 4; axis++) {
    const sizes = [1, 3, 2];
    const shapes = sizes.map((s) => base.map((d, k) => (k === axis ? s : d)));
    await t.step(`axis ${axis}: ${shapes.map((s) => `[${s}]`).join(" ")}`, async () => {
      await checkOp({
        name: "concat",
        inputs: shapes.map((shape) => ({ shape })),
        f: (...xs) => concat(xs, axis),
        fdSamples: 10,
      }, gpu);
      const be = cpuBackend("f64");
      const data = shapes.map((s, j) =>
        Float64Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => 1000 * j + i)
      );
      const y = concat(data.map((d, j) => be.fromArray(d, shapes[j])), axis);
      const outShape = base.map((d, k) => (k === axis ? 6 : d));
      assert.deepEqual(y.shape, outShape);
      const want: number[] = [];
      for (const c of coords(outShape)) {
        let j = 0;
        let i = c[axis];
        while (i >= sizes[j]) i -= sizes[j++];
        want.push(at(data[j], shapes[j], c.map((v, k) => (k === axis ? i : v))));
      }
      assertClose(await y.toArray(), want, EXACT, "vs coordinates");
    });
  }
  await t.step("channels of NCHW, odd sizes, negative axis", () =>
    checkOp({
      name: "concat",
      inputs: [{ shape: [3, 5, 7, 9] }, { shape: [3, 13, 7, 9] }],
      f: (a, b) => concat([a, b], -3),
      fdSamples: 10,
    }, gpu));
  await t.step("channels of NCHW, planes a multiple of 4 (the vec4 kernel)", () =>
    checkOp({
      name: "concat",
      inputs: [{ shape: [2, 3, 2, 4] }, { shape: [2, 5, 2, 4] }],
      f: (a, b) => concat([a, b], 1),
      fdSamples: 10,
    }, gpu));
  await t.step(
    "a single tensor",
    () => checkOp({ name: "concat", inputs: [{ shape: [4, 3] }], f: (a) => concat([a], 1) }, gpu),
  );
  await t.step("errors", () => {
    const be = cpuBackend();
    assert.throws(() => concat([], 0), /no tensors/);
    assert.throws(() => concat([be.full([2, 3], 0), be.full([3, 3], 0)], 1), /differ/);
    assert.throws(() => concat([be.full([2, 3], 0)], 2), /out of range/);
  });
});

Deno.test("slice along every axis", async (t) => {
  const gpu = await gpuOrSkip();
  const shape = [3, 4, 5, 6];
  for (let axis = 0; axis < 4; axis++) {
    for (const [start, length] of [[0, 1], [1, 2], [0, shape[axis]], [shape[axis] - 1, 1]]) {
      await t.step(`axis ${axis} [${start}, ${start + length})`, async () => {
        await checkOp({
          name: "slice",
          inputs: [{ shape }],
          f: (x) => slice(x, axis, start, length),
          fdSamples: 10,
        }, gpu);
        const x = Float64Array.from({ length: 360 }, (_, i) => i);
        const y = slice(cpuBackend("f64").fromArray(x, shape), axis, start, length);
        const outShape = shape.map((d, k) => (k === axis ? length : d));
        assert.deepEqual(y.shape, outShape);
        const want = [...coords(outShape)].map((c) =>
          at(x, shape, c.map((v, k) => (k === axis ? v + start : v)))
        );
        assertClose(await y.toArray(), want, EXACT, "vs coordinates");
      });
    }
  }
  await t.step("large odd slice (more than one workgroup)", () =>
    checkOp({
      name: "slice",
      inputs: [{ shape: [2, 37, 11, 3] }],
      f: (x) => slice(x, 1, 5, 29),
      fdSamples: 10,
    }, gpu));
  await t.step("channel slice, planes a multiple of 4 (the vec4 kernel)", () =>
    checkOp({
      name: "slice",
      inputs: [{ shape: [2, 7, 2, 2] }],
      f: (x) => slice(x, 1, 1, 4),
      fdSamples: 10,
    }, gpu));
  await t.step("half swap, as SongUNet's positional embedding", () =>
    checkOp({
      name: "slice+concat",
      inputs: [{ shape: [3, 16] }],
      f: (x) => concat([slice(x, 1, 8, 8), slice(x, 1, 0, 8)], 1),
    }, gpu));
  await t.step("errors", () => {
    const x = cpuBackend().full([2, 3], 0);
    assert.throws(() => slice(x, 1, 2, 2), /outside/);
    assert.throws(() => slice(x, 1, -1, 1), /outside/);
    assert.throws(() => slice(x, 2, 0, 1), /out of range/);
  });
});
