import assert from "node:assert/strict";
import { GpuError } from "../gpu/engine.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

/** y[i] = y[i]·a + b over the first n floats. */
const AFFINE = /* wgsl */ `
struct P { n: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < p.n) { y[g.x] = y[g.x] * p.a + p.b; }
}`;

Deno.test({
  name: "engine: dispatches sharing a pass, and copies between them, see earlier writes in order",
  ignore: !hasGpu,
  async fn() {
    const engine = (await gpuOrSkip())!.engine;
    const n = 100;
    const y = engine.alloc(4 * n);
    const z = engine.alloc(4 * n);
    engine.upload(y, new Float32Array(n).fill(1));
    const affine = (buf: GPUBuffer, a: number, b: number) =>
      engine.dispatch({
        label: `affine ${a} ${b}`,
        code: AFFINE,
        inputs: [],
        outputs: [buf],
        uniforms: { u: [n], f: [a, b] },
        groups: [2],
      });
    // Not commutative: any reordering or missed write changes the result.
    affine(y, 2, 1); // 3
    affine(y, 3, -4); // 5
    engine.copy(y, z, 4 * n);
    affine(y, 0.5, 0); // 2.5
    affine(z, 10, 0); // 50
    affine(y, 1, 0.25); // 2.75
    const [ys, zs] = [await engine.read(y, 4 * n), await engine.read(z, 4 * n)];
    assert.deepEqual([...new Set(ys)], [2.75]);
    assert.deepEqual([...new Set(zs)], [50]);
    engine.release(y);
    engine.release(z);
  },
});

Deno.test({
  name: "engine: a grid past the adapter's limit is a GpuError naming the dispatch",
  ignore: !hasGpu,
  async fn() {
    const engine = (await gpuOrSkip())!.engine;
    const y = engine.alloc(16);
    const most = engine.device.limits.maxComputeWorkgroupsPerDimension;
    assert.throws(
      () =>
        engine.dispatch({
          label: "affine [huge]",
          code: AFFINE,
          inputs: [],
          outputs: [y],
          uniforms: { u: [4], f: [1, 0] },
          groups: [most + 1],
        }),
      (e: Error) =>
        e instanceof GpuError && /^affine \[huge\]: .* workgroups exceed/.test(e.message),
    );
    await engine.sync(); // nothing was recorded, so nothing fails later
    engine.release(y);
  },
});

Deno.test({
  name: "engine: a WGSL error surfaces as a GpuError naming the op",
  ignore: !hasGpu,
  async fn() {
    const engine = (await gpuOrSkip())!.engine;
    const y = engine.alloc(16);
    engine.dispatch({
      label: "broken op [4]",
      code: AFFINE.replace("p.b;", "p.b + not_defined;"),
      inputs: [],
      outputs: [y],
      uniforms: { u: [4], f: [1, 0] },
      groups: [1],
    });
    await assert.rejects(
      () => engine.sync(),
      (e: Error) => e instanceof GpuError && /broken op \[4\]/.test(e.message),
    );
    engine.release(y);
  },
});

Deno.test({
  name: "engine: zero-sized buffers, uploads, reads and dispatches are GpuErrors, not panics",
  ignore: !hasGpu,
  async fn() {
    const backend = (await gpuOrSkip())!;
    const engine = backend.engine;
    const zero = (e: Error) => e instanceof GpuError && /zero-sized .*every size/.test(e.message);
    assert.throws(() => engine.alloc(0), zero);
    // At HEAD this upload crashed Deno itself (ext/webgpu/queue.rs: unwrap on None).
    assert.throws(() => backend.fromArray(new Float32Array(0), [0, 3]), zero);
    const y = engine.alloc(16);
    assert.throws(() => engine.upload(y, new Float32Array(0)), zero);
    await assert.rejects(() => engine.read(y, 0), zero);
    for (const groups of [[0], [1, 0], [2, 1, 0]] as [number, number?, number?][]) {
      assert.throws(
        () =>
          engine.dispatch({
            label: `affine [${groups}]`,
            code: AFFINE,
            inputs: [],
            outputs: [y],
            uniforms: { u: [4], f: [1, 0] },
            groups,
          }),
        (e: Error) => zero(e) && e.message.startsWith(`affine [${groups}]: `),
      );
    }
    await engine.sync(); // nothing was recorded, so nothing fails later
    engine.release(y);
  },
});
