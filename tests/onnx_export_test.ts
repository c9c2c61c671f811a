import assert from "node:assert/strict";
import { ambientInput } from "../src/ambient/input.ts";
import { loadModel } from "../src/api.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { silu } from "../src/ops/elementwise.ts";
import { reshape } from "../src/ops/reshape.ts";
import { traceDynamicBatch } from "../src/onnx/dynamic_batch.ts";
import { exportDenoiser } from "../src/onnx/export.ts";
import { decodeModel } from "../src/onnx/proto.ts";
import { type OnnxSession, openSession } from "../src/onnx/runtime.ts";
import { Rng } from "../src/core/rng.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { grad } from "../src/ops/autograd.ts";
import { assertClose } from "./harness.ts";

Deno.test("dynamic batch: reshapes get −1, inputs a symbolic N; batch-dependent constants fail", async () => {
  const bytes = traceDynamicBatch((b, n) => {
    b.output("y", silu(reshape(b.input("x", [n, 2, 3]), [n * 2, 3])));
  });
  const m = decodeModel(bytes) as { graph: { input: { type: unknown }[] } };
  assert.match(JSON.stringify(m.graph.input[0].type), /"dimParam":"N"/);
  const s = await openSession(bytes);
  const x = Float32Array.from({ length: 12 }, (_, k) => k - 6);
  const y = (await s.run({ x: [x, [2, 2, 3]] })).y;
  assertClose(y, Array.from(x, (v) => v / (1 + Math.exp(-v))), { atol: 1e-6, rtol: 1e-5 }, "y");
  await s.release();
  assert.throws(
    () => traceDynamicBatch((b, n) => b.output("y", b.fromArray(new Array(n).fill(1), [n]))),
    /depends on the batch in a way a graph cannot express/,
  );
});

/**
 * D(x, σ) of `dir` on the CPU twin vs the graph in `session`, at batches it was not traced at;
 * with `vjp`, the A-DPS step graph's VJP gᵀ ∂D/∂x for a random g too.
 */
async function compareDenoiser(dir: string, session: OnnxSession, vjp = false): Promise<void> {
  const cpu = cpuBackend();
  using model = await loadModel(dir, { backend: cpu });
  const [C, H, W] = model.shape;
  const rng = new Rng(18);
  // Batches the graph was not traced at (7, 11): the batch is dynamic.
  for (const n of [3, 1]) {
    const x = Float32Array.from({ length: n * C * H * W }, () => rng.normal());
    const mask = Float32Array.from({ length: n * H * W }, () => (rng.uniform() < 0.6 ? 1 : 0));
    const sigma = Float32Array.from({ length: n }, (_, k) => [0.05, 1.3, 40][k]);
    const ctx = { training: false, seed: 0, stream: 0 };
    const g = Float32Array.from({ length: n * C * H * W }, () => rng.normal());
    const xs = cpu.fromArray(x, [n, C, H, W]);
    let d!: Tensor;
    const { grads: [gx] } = grad(
      () => {
        const u = model.config.ambient ? ambientInput(cpu.fromArray(mask, [n, 1, H, W]), xs) : xs;
        return d = model.net.forward(model.params, u, cpu.fromArray(sigma, [n]), ctx);
      },
      [xs],
      cpu.fromArray(g, [n, C, H, W]),
    );
    const expected = await d.toArray();
    const out = await session.run({
      x: [x, [n, C, H, W]],
      sigma: [sigma, [n]],
      ...(model.config.ambient ? { mask: [mask, [n, 1, H, W]] as [Float32Array, number[]] } : {}),
      ...(vjp ? { g: [g, [n, C, H, W]] as [Float32Array, number[]] } : {}),
    });
    const got = out.denoised;
    let worst = 0;
    for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k] - expected[k]));
    console.log(`${dir} batch ${n}: max |ORT − CPU| = ${worst.toExponential(2)}`);
    assertClose(got, expected, { atol: 1e-4, rtol: 1e-3 }, `${dir} D(x, σ) batch ${n}`);
    if (vjp) assertClose(out.vjp, await gx.toArray(), { atol: 1e-4, rtol: 1e-3 }, `VJP ${n}`);
  }
}

Deno.test("export:onnx writes the fmnist-inpaint denoiser (and, --adps-step, D with its VJP); fresh ORT sessions match the CPU twin", async () => {
  const dir = await Deno.makeTempDir({ prefix: "onnx-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "export:onnx",
        "--model",
        "fixtures/models/fmnist-inpaint",
        "--out",
        `${dir}/d.onnx`,
        "--adps-step",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /mask \[N, 1, 32, 32\] → denoised/);
    assert.match(new TextDecoder().decode(out.stdout), /d-adps-step\.onnx .*→ denoised, vjp/);
    const session = await openSession(`${dir}/d.onnx`);
    await compareDenoiser("fixtures/models/fmnist-inpaint", session);
    await session.release();
    const step = await openSession(`${dir}/d-adps-step.onnx`);
    await compareDenoiser("fixtures/models/fmnist-inpaint", step, true);
    await step.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the clean fmnist prior exports without a mask input and matches too", async () => {
  using model = await loadModel("fixtures/models/fmnist-clean", { backend: cpuBackend() });
  const session = await openSession(exportDenoiser(model));
  await compareDenoiser("fixtures/models/fmnist-clean", session);
  await session.release();
});
