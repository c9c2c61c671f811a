/**
 * ONNX Runtime as a backend (src/onnx/ort_backend.ts): the network's forward and VJP, a whole
 * A-DPS run and training steps against the CPU twin, the compiled sessions reused, and
 * checkpoints crossing between ONNX Runtime and WebGPU (the CPU twin without an adapter).
 */
import assert from "node:assert/strict";
import { adps, type Model, oneStep } from "../src/api.ts";
import { cpuBackend, selectBackend } from "../src/core/select_backend.ts";
import type { Backend } from "../src/core/backend.ts";
import { Rng } from "../src/core/rng.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { OrtBackend } from "../src/onnx/ort_backend.ts";
import { grad } from "../src/ops/autograd.ts";
import { BoxInpainting } from "../src/operators/box_inpainting.ts";
import type { TrainState } from "../src/train/checkpoint.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { buildNetwork, initTrainState, train, trainStep } from "../src/train/train.ts";
import { config as tinyInpaint } from "../tasks/tiny-inpaint.ts";
import { assertClose, gpuOrSkip, hasGpu } from "./harness.ts";
import { tinyWeights, toParams } from "./tiny_unet.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const ort = new OrtBackend();
const cpu = cpuBackend();
const EVAL = { training: false, seed: 0, stream: 0 };

/** The tiny ambient task at 16×16 (dropout on, so training traces its masks). */
const CONFIG: TrainConfig = {
  ...structuredClone(tinyInpaint),
  network: { ...tinyInpaint.network, dropout: 0.1 },
  data: { kind: "fmnist", dir: `${ROOT}fixtures/fmnist`, limit: 32 },
  batch: 4,
  sampleEvery: 0,
  logEvery: 1,
};
const SHAPE = [1, 16, 16] as const;

function model(b: Backend, seed = 3): Model {
  const net = buildNetwork(CONFIG, SHAPE);
  return {
    net,
    params: toParams(tinyWeights(net.model, seed), net.model, b),
    config: CONFIG,
    shape: SHAPE,
    backend: b,
  };
}

function normals(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

Deno.test("OrtBackend: D(u, σ) and its VJP w.r.t. u vs the CPU twin at two batch sizes", async () => {
  const [a, b] = [model(cpu), model(ort)];
  for (const n of [3, 1, 3]) {
    const u = normals(n * 2 * 256, n);
    const sigma = Float32Array.from({ length: n }, (_, i) => 0.05 + i);
    const g = normals(n * 256, 10 + n);
    const run = async (m: Model) => {
      const be = m.backend;
      const x = be.fromArray(u, [n, 2, 16, 16]);
      let d!: Tensor;
      const { grads: [gu] } = grad(
        () => {
          d = m.net.forward(m.params, x, be.fromArray(sigma, [n]), EVAL);
          return d;
        },
        [x],
        be.fromArray(g, [n, 1, 16, 16]),
      );
      return [await d.toArray(), await gu.toArray()];
    };
    const [want, got] = [await run(a), await run(b)];
    assertClose(got[0], want[0], { atol: 1e-5, rtol: 1e-4 }, `D, batch ${n}`);
    assertClose(got[1], want[1], { atol: 1e-4, rtol: 1e-3 }, `VJP, batch ${n}`);
  }
});

Deno.test("OrtBackend: A-DPS and A-OS equal the CPU twin's (the sampler unchanged, the network in ONNX Runtime)", async () => {
  const images = Float32Array.from(normals(2 * 256, 7), Math.tanh);
  const results = [];
  for (const m of [model(cpu), model(ort)]) {
    const b = m.backend;
    using op = new BoxInpainting(b, { height: 16, width: 16, p: 0.375, seed: 0 });
    const y = op.forward(b.fromArray(images, [2, 1, 16, 16]));
    const { x, nfe, vjps } = adps(m, op, y, { steps: 4, zeta: 1, seed: 5, sigmaMin: 0.05 });
    results.push({ x: await x.toArray(), nfe, vjps, aos: await oneStep(m, op, y).toArray() });
  }
  const [want, got] = results;
  assert.deepEqual([got.nfe, got.vjps], [want.nfe, want.vjps]);
  assertClose(got.x, want.x, { atol: 1e-4, rtol: 1e-3 }, "A-DPS");
  assertClose(got.aos, want.aos, { atol: 1e-5, rtol: 1e-4 }, "A-OS");
});

/** Every tensor of a state, read back. */
async function snapshot(s: TrainState): Promise<Float32Array[]> {
  const names = [...s.params.keys()];
  const all = [...s.params.values(), ...names.map((k) => s.ema.get(k)!), ...s.adam.m, ...s.adam.v];
  return (await Promise.all(all.map((t) => t.toArray()))) as Float32Array[];
}

/** Adam divides by √v: ~1e-5 differences in the gradients move weights by ~1e-5 of lr. */
function assertStatesClose(got: Float32Array[], want: Float32Array[], what: string) {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assertClose(g, want[i], { atol: 5e-5, rtol: 2e-3 }, `${what} #${i}`));
}

Deno.test("OrtBackend: three training steps (new images each) equal the CPU twin's trainStep", async () => {
  const data = await loadDataset(CONFIG.data);
  const net = buildNetwork(CONFIG, SHAPE);
  const states = [initTrainState(net, CONFIG, cpu), initTrainState(net, CONFIG, ort)];
  for (let step = 1; step <= 3; step++) {
    const indices = [0, 1, 2, 3].map((i) => (4 * step + i) % data.count);
    const [h, w] = [16, 16];
    // 16×16 crops of the fixture images: the batch differs from step to step.
    const images = Float32Array.from({ length: 4 * h * w }, (_, k) => {
      const [i, r, c] = [Math.floor(k / 256), Math.floor(k / 16) % 16, k % 16];
      return data.data[indices[i] * 1024 + (r + 8) * 32 + c + 8];
    });
    const terms = [];
    for (const s of states) {
      const t = trainStep(net, s, CONFIG, { images, indices, shape: SHAPE }, step);
      terms.push(await t.toArray());
      s.step = step;
    }
    assertClose(terms[1], terms[0], { atol: 1e-5, rtol: 1e-4 }, `loss terms, step ${step}`);
    assertStatesClose(await snapshot(states[1]), await snapshot(states[0]), `step ${step}`);
  }
  assert.equal(states[1].adam.t, 3);
  // The probe trace found the batch's constants: one session served all three steps.
  assert.equal(ort.trainingCompiles, 1);
});

Deno.test("train: a checkpoint written on ONNX Runtime resumes on WebGPU and the reverse", async () => {
  const gpu = hasGpu ? await gpuOrSkip() : null;
  const other: Backend = gpu ?? cpu;
  const data = await loadDataset(CONFIG.data);
  const config = {
    ...CONFIG,
    network: { ...CONFIG.network, dropout: 0 },
    steps: 4,
    checkpointEvery: 2,
  };
  const dirs = await Promise.all([0, 1, 2].map(() => Deno.makeTempDir({ prefix: "adps-ort-" })));
  try {
    const once = await snapshot(await train(config, data, { out: dirs[0], backend: ort }));
    for (const [k, [first, second]] of [[ort, other], [other, ort]].entries()) {
      await train({ ...config, steps: 2 }, data, { out: dirs[k + 1], backend: first });
      const resumed = await train(config, data, {
        out: dirs[k + 1],
        backend: second,
        resume: true,
      });
      assert.equal(resumed.step, 4);
      assertStatesClose(await snapshot(resumed), once, `${first.name} → ${second.name}`);
    }
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("selectBackend: --backend onnx is ONNX Runtime's CPU provider; onnx-cuda says how to install it where missing", async () => {
  const b = await selectBackend("onnx");
  assert.ok(b instanceof OrtBackend && b.provider === "cpu");
  const cuda = await selectBackend("onnx-cuda").catch((e) => e as Error);
  if (cuda instanceof Error) assert.match(cuda.message, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
});
