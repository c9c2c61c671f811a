import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { downsample2x, upsample2x } from "../src/ops/resample.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

const UP_SHAPES = [
  [1, 1, 1, 1],
  [2, 3, 4, 4],
  [1, 3, 5, 7],
  [2, 2, 9, 13],
  [3, 11],
  [2, 1, 16, 33],
  // Widths on a multiple of 4 (the vec4 kernel).
  [2, 2, 6, 8],
  [3, 4, 8, 16],
];
const DOWN_SHAPES = [
  [1, 1, 2, 2],
  [2, 3, 4, 4],
  [1, 3, 6, 10],
  [2, 2, 18, 26],
  [4, 14],
  [2, 1, 32, 66],
  [2, 2, 12, 16],
  [3, 4, 16, 32],
];

Deno.test("upsample2x: webgpu vs twin, gradients vs finite differences", async (t) => {
  const gpu = await gpuOrSkip();
  for (const shape of UP_SHAPES) {
    await t.step(
      `[${shape}]`,
      () => checkOp({ name: "upsample2x", inputs: [{ shape }], f: upsample2x, fdSamples: 20 }, gpu),
    );
  }
});

Deno.test("downsample2x: webgpu vs twin, gradients vs finite differences", async (t) => {
  const gpu = await gpuOrSkip();
  for (const shape of DOWN_SHAPES) {
    await t.step(
      `[${shape}]`,
      () =>
        checkOp({ name: "downsample2x", inputs: [{ shape }], f: downsample2x, fdSamples: 20 }, gpu),
    );
  }
});

Deno.test("resample: values", async () => {
  const b = cpuBackend("f64");
  const x = b.fromArray([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
  const up = await upsample2x(x).toArray();
  const rows = [[1, 1, 2, 2, 3, 3], [4, 4, 5, 5, 6, 6]];
  assert.deepEqual(Array.from(up), [rows[0], rows[0], rows[1], rows[1]].flat());
  const z = b.fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
  const down = await downsample2x(z).toArray();
  assertClose(down, [3.5, 5.5, 11.5, 13.5], { atol: 0, rtol: 0 }, "2x2 means");
  assertClose(await downsample2x(upsample2x(x)).toArray(), [1, 2, 3, 4, 5, 6], {
    atol: 0,
    rtol: 0,
  }, "down(up(x)) = x");
});

Deno.test("resample: shape errors", () => {
  const b = cpuBackend();
  assert.throws(
    () => downsample2x(b.full([1, 2, 5, 4], 0)),
    /height and width must be even, got 5×4/,
  );
  assert.throws(() => downsample2x(b.full([1, 2, 4, 3], 0)), /must be even/);
  assert.throws(() => upsample2x(b.full([3], 0)), /x must be \[\.\.\., H, W\]/);
});
