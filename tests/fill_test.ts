import assert from "node:assert/strict";
import { gpuBuffer } from "../gpu/backend.ts";
import { fillGpu } from "../gpu/kernels/fill.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

Deno.test({
  name: "fill: the first n floats take the value (scalar and vec4 kernels), the rest is untouched",
  ignore: !hasGpu,
  async fn(t) {
    const gpu = (await gpuOrSkip())!;
    // Off and on a multiple of 4 (the vec4 kernel), and past one workgroup row of 64 lanes.
    for (const n of [1, 3, 4, 5, 8, 63, 1001, 4096, 65539]) {
      for (const value of [0, -2.5, NaN]) {
        await t.step(`n=${n} value=${value}`, async () => {
          const x = gpu.fromArray(new Float32Array(n + 4).fill(7), [n + 4]);
          fillGpu(gpu.engine, gpuBuffer(x), n, value);
          const got = await x.toArray();
          for (let i = 0; i < n + 4; i++) {
            const want = i < n ? value : 7;
            assert.ok(Object.is(got[i], want), `element ${i}: ${got[i]}, want ${want}`);
          }
          x.dispose();
        });
      }
    }
  },
});
