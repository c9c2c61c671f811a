import assert from "node:assert/strict";
import type { BackendKind } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { type BackendOf, onBackend, onKind } from "../src/ops/dispatch.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

// Every backend kind has a class in BackendOf and no more: a new engine must add both.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const kindsMatch: Same<keyof BackendOf, BackendKind> = true;

Deno.test("onBackend runs the implementation of the tensors' backend kind", () => {
  assert.ok(kindsMatch);
  const b = cpuBackend();
  const x = b.fromArray([1, 2], [2]);
  const got = onBackend("probe", [null, x, undefined], {
    cpu: (cb) => (assert.equal(cb, b), "cpu"),
    webgpu: () => "webgpu",
  });
  assert.equal(got, "cpu");
});

Deno.test({
  name: "onBackend picks the WebGPU implementation for WebGPU tensors",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    const x = gpu.fromArray([1, 2], [2]);
    const got = onBackend("probe", [x], {
      cpu: () => "cpu",
      webgpu: (g) => (assert.equal(g.engine, gpu.engine), "webgpu"),
    });
    assert.equal(got, "webgpu");
    x.dispose();
  },
});

Deno.test("onBackend: a missing implementation, mixed backends, disposed tensors", () => {
  const x = cpuBackend().fromArray([1], [1]);
  assert.throws(
    () => onBackend("gpuOnly", [x], { webgpu: () => 0 }),
    /^Error: gpuOnly: no implementation for the cpu backend \(cpu.*\); it runs on webgpu: move/,
  );
  const y = cpuBackend("f64").fromArray([1], [1]);
  assert.throws(() => onBackend("mixed", [x, y], { cpu: () => 0 }), /mixed: tensors on different/);
  y.dispose();
  assert.throws(() => onBackend("late", [y], { cpu: () => 0 }), /late: tensor \[1\] was disposed/);
  assert.throws(
    () => onKind("fill", { kind: "webgpu", name: "test" }, { cpu: () => 0 }),
    /fill: no implementation for the webgpu backend \(test\); it runs on cpu/,
  );
});
