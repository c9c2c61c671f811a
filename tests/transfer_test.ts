/**
 * Readbacks and uploads under the device's limits: many tensors move in chunks of at most
 * `engine.transferBytes` (a lowered limit here, so a small network spans many chunks), a
 * training run saved, loaded and resumed in 1 KiB chunks writes the same bytes as one in
 * a single chunk, and a tensor larger than a storage binding names its op and what to change.
 * WebGPU only: the CPU twin has no buffers.
 */
import assert from "node:assert/strict";
import { parseTransferBytes } from "../gpu/engine.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { add } from "../src/ops/elementwise.ts";
import { Rng } from "../src/core/rng.ts";
import { train } from "../src/train/train.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as tinyInpaint } from "../tasks/tiny-inpaint.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

Deno.test({
  name: "readMany and uploads in chunks equal one chunk, ranges spanning chunks",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    const engine = gpu.engine;
    const rng = new Rng(3);
    // Sizes around the chunk (40 B = 10 floats): one float, across several chunks (a tensor
    // with no elements never reaches the GPU: the engine refuses zero-sized buffers).
    const sizes = [1, 9, 10, 11, 37, 64, 3];
    const arrays = sizes.map((n) => Float32Array.from(rng.normals(n)));
    const saved = engine.transferBytes;
    try {
      for (const chunk of [saved, 40, 12, 4]) {
        engine.transferBytes = chunk;
        const ts = arrays.map((a, i) => gpu.fromArray(a, [sizes[i]]));
        const got = await gpu.readMany(ts);
        got.forEach((v, i) =>
          assert.deepEqual(Array.from(v), Array.from(arrays[i]), `chunk ${chunk}: #${i}`)
        );
        assert.deepEqual(Array.from(await gpu.read(ts[4])), Array.from(arrays[4]));
        for (const t of ts) t.dispose();
      }
    } finally {
      engine.transferBytes = saved;
    }
  },
});

Deno.test({
  name: "ADPS_TRANSFER_BYTES lowers the chunk; the report names the limits the device got",
  ignore: !hasGpu,
  fn: async () => {
    assert.equal(parseTransferBytes(undefined), undefined);
    assert.equal(parseTransferBytes(""), undefined);
    assert.equal(parseTransferBytes("4096"), 4096);
    assert.throws(() => parseTransferBytes("2 MiB"), /ADPS_TRANSFER_BYTES must be an integer/);
    assert.throws(() => parseTransferBytes("2"), /≥ 4/);
    // The variable reaches a new process's engine, never above the device's limits (its own
    // process: the environment is shared by the suite's parallel modules).
    const code = `import { webgpuBackend } from "${ROOT}src/core/select_backend.ts";
const b = (await webgpuBackend())!;
const l = b.engine.device.limits;
console.log(JSON.stringify([b.engine.transferBytes, l.maxBufferSize, l.maxStorageBufferBindingSize, b.engine.limitsReport()]));`;
    const run = async (bytes: string) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--unstable-webgpu", code],
        env: { ADPS_TRANSFER_BYTES: bytes },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(o.success, new TextDecoder().decode(o.stderr));
      return JSON.parse(new TextDecoder().decode(o.stdout));
    };
    const [got, maxBuffer, binding, report] = await run("4096");
    assert.equal(got, 4096);
    const limit = Math.min(maxBuffer, binding);
    assert.equal((await run(String(2 * limit)))[0], limit, "never above the device's limits");
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    assert.match(report, new RegExp(`max storage binding ${mib(binding)} MiB`));
    assert.match(report, /chunks of 4\.0 KiB$/);
  },
});

Deno.test({
  name: "train: checkpoints saved, loaded and resumed in 1 KiB chunks are byte-identical",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    gpu.poison = false;
    const data = await loadDataset({ kind: "fmnist", dir: `${ROOT}fixtures/fmnist`, limit: 32 });
    const c: TrainConfig = {
      ...structuredClone(tinyInpaint),
      batch: 4,
      steps: 2,
      logEvery: 1,
      checkpointEvery: 1,
      // The grid the last step draws: the smallest, its time is not what this tests.
      sampleEvery: 0,
      sampleCount: 1,
      sampleSteps: 1,
    };
    const dir = await Deno.makeTempDir({ prefix: "adps-transfer-" });
    const saved = gpu.engine.transferBytes;
    const files = ["checkpoint.safetensors", "network-ema.safetensors"];
    try {
      const one = await train(c, data, { out: `${dir}/one`, backend: gpu });
      for (const t of [...one.params.values(), ...one.ema.values()]) t.dispose();
      one.adam.dispose();
      gpu.engine.transferBytes = 1024;
      const half = await train({ ...c, steps: 1 }, data, { out: `${dir}/many`, backend: gpu });
      for (const t of [...half.params.values(), ...half.ema.values()]) t.dispose();
      half.adam.dispose();
      const many = await train(c, data, { out: `${dir}/many`, backend: gpu, resume: true });
      for (const t of [...many.params.values(), ...many.ema.values()]) t.dispose();
      many.adam.dispose();
      const bytes = (await Deno.stat(`${dir}/many/${files[0]}`)).size;
      assert.ok(bytes > 50 * 1024, `the checkpoint (${bytes} B) spans many 1 KiB chunks`);
      for (const f of files) {
        const [a, b] = await Promise.all(
          [`${dir}/one/${f}`, `${dir}/many/${f}`].map((p) => Deno.readFile(p)),
        );
        assert.ok(a.length === b.length && a.every((x, i) => x === b[i]), `${f} differs`);
      }
    } finally {
      gpu.engine.transferBytes = saved;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a tensor larger than a storage binding: the error names the op, the shape, the remedy",
  ignore: !hasGpu,
  fn: async () => {
    const gpu = (await gpuOrSkip())!;
    const binding = gpu.engine.device.limits.maxStorageBufferBindingSize;
    // [C, 1024, 1024] from broadcasting two small tensors: nothing large is ever allocated.
    const c = Math.floor(binding / 2 ** 22) + 1;
    const a = gpu.full([c, 1, 1], 1);
    const b = gpu.full([1, 1024, 1024], 2);
    const live = gpu.engine.liveBytes;
    assert.throws(
      () => add(a, b),
      (e: Error) => {
        assert.match(
          e.message,
          new RegExp(
            `^map \\(src/ops/map\\.ts\\), called from add \\(src/ops/elementwise\\.ts\\): its tensor \\[${c},1024,1024\\] .* largest ` +
              `storage binding .*lower --batch-gpu`,
          ),
        );
        return true;
      },
    );
    assert.equal(gpu.engine.liveBytes, live, "the refused buffer is not counted as live");
    a.dispose();
    b.dispose();
  },
});
