/**
 * Whole-step parity of training: one ambient training step (`trainStep`: the ambient loss with
 * dropout, backward, global-norm clipping, Adam, EMA; Aali et al. 2024, §3) traced on the ONNX
 * backend with parameters, moments and EMA weights as graph inputs and their updates as
 * outputs, its σ, noise and dropout draws filled from the CPU twin's Philox for the step's
 * seed, run in onnxruntime-node and compared with the same step on the CPU twin.
 */
import assert from "node:assert/strict";
import { cpuData } from "../src/cpu/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import type { Backend } from "../src/core/backend.ts";
import { Rng } from "../src/core/rng.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { checkTraceSeed, fillRandomInputs } from "../src/onnx/random_inputs.ts";
import { openSession } from "../src/onnx/runtime.ts";
import { Adam } from "../src/optim/adam.ts";
import type { TrainState } from "../src/train/checkpoint.ts";
import { EDM_DEFAULTS, type TrainConfig } from "../src/train/config.ts";
import { buildNetwork, stepSeed, trainStep } from "../src/train/train.ts";
import { assertClose } from "./harness.ts";
import { tinyWeights } from "./tiny_unet.ts";

const STEP = 3;

const CONFIG: TrainConfig = {
  ...EDM_DEFAULTS,
  name: "onnx-step",
  data: { kind: "fmnist" },
  network: {
    modelChannels: 8,
    channelMult: [1, 2],
    numBlocks: 1,
    attnResolutions: [4],
    dropout: 0.2,
  },
  ambient: true,
  corruption: { p: 0.4, delta: 0.2 },
  corruptionSeed: 5,
  batch: 4,
  // Two rounds: the second draws σ, noise and dropout masks at the batch's offsets.
  batchGpu: 2,
  lr: 1e-2,
  lrRampupImages: 1,
  emaHalfLifeImages: 8,
  gradClip: 1,
  seed: 17,
  steps: STEP,
};

Deno.test("onnx train-step parity: one ambient step (dropout, clip, Adam, EMA) vs the CPU twin", async () => {
  const shape = [1, 8, 8];
  const net = buildNetwork(CONFIG, shape);
  const values = tinyWeights(net.model, 3);
  const names = [...values.keys()];
  const rng = new Rng(9);
  const noisy = (v: ArrayLike<number>, s: number) =>
    Float32Array.from(v, (x) => x + s * rng.normal());
  const start = {
    p: names.map((k) => Float32Array.from(values.get(k)!)),
    ema: names.map((k) => noisy(values.get(k)!, 0.1)),
    m: names.map((k) => noisy(new Float32Array(values.get(k)!.length), 1e-3)),
    v: names.map((k) => Float32Array.from(values.get(k)!, () => 1e-6 * rng.uniform())),
  };
  const batch = {
    images: Float32Array.from({ length: 4 * 64 }, () => Math.tanh(rng.normal())),
    indices: [3, 0, 7, 2],
    shape,
  };
  const specs = net.model.registry.specs;
  type Part = keyof typeof start;
  /** The state before step STEP, each tensor made by `make`. */
  const stateOn = (b: Backend, make: (part: Part, i: number) => Tensor): TrainState => {
    const params = new Map(names.map((k, i) => [k, make("p", i)]));
    const adam = new Adam([...params.values()], { maxGradNorm: CONFIG.gradClip });
    adam.t = STEP - 1;
    names.forEach((_, i) => {
      for (const [part, t] of [["m", adam.m[i]], ["v", adam.v[i]]] as const) {
        if (b instanceof OnnxBackend) b.assign(t, make(part, i));
        else cpuData(t).set(start[part][i]);
      }
    });
    return { step: STEP - 1, params, ema: new Map(names.map((k, i) => [k, make("ema", i)])), adam };
  };
  const cpu = cpuBackend();
  const want = stateOn(cpu, (part, i) => cpu.fromArray(start[part][i], specs[i].shape));
  const wantTerms = await trainStep(net, want, CONFIG, batch, STEP).toArray();

  const ob = new OnnxBackend();
  const traced = stateOn(ob, (part, i) => ob.input(`${part}.${names[i]}`, specs[i].shape));
  ob.output("terms", trainStep(net, traced, CONFIG, batch, STEP));
  const parts = {
    p: [...traced.params.values()],
    ema: [...traced.ema.values()],
    m: traced.adam.m,
    v: traced.adam.v,
  };
  for (const part of Object.keys(parts) as Part[]) {
    parts[part].forEach((t, i) => ob.output(`new_${part}.${names[i]}`, t));
  }
  // σ, noise (two rounds each) and the dropout masks, all under the step's seed.
  const seed = stepSeed(CONFIG, STEP);
  checkTraceSeed(ob.randomInputs, seed);
  const kinds = ob.randomInputs.map((r) => r.kind);
  assert.ok(kinds.filter((k) => k === "dropout").length >= 4, `dropout inputs: ${kinds}`);
  assert.equal(kinds.filter((k) => k === "normal").length, 4, `σ and noise inputs: ${kinds}`);

  const session = await openSession(encodeModel(ob.graph.spec()), 2);
  const feeds: Record<string, [Float32Array, readonly number[]]> = fillRandomInputs(
    ob.randomInputs,
    seed,
  );
  for (const part of Object.keys(start) as Part[]) {
    names.forEach((k, i) => (feeds[`${part}.${k}`] = [start[part][i], specs[i].shape]));
  }
  const got = await session.run(feeds);
  await session.release();
  console.log(`loss: onnx ${Array.from(got.terms)}, cpu ${wantTerms}`);
  assertClose(got.terms, wantTerms, { atol: 1e-5, rtol: 1e-4 }, "loss terms");
  const expected = {
    p: [...want.params.values()],
    ema: [...want.ema.values()],
    m: want.adam.m,
    v: want.adam.v,
  };
  // Adam divides m by √v: gradients equal to ~1e-4 move the parameters alike to ~1e-5 of lr.
  const tol: Record<Part, { atol: number; rtol: number }> = {
    p: { atol: 2e-5, rtol: 1e-4 },
    ema: { atol: 2e-5, rtol: 1e-4 },
    m: { atol: 1e-6, rtol: 2e-3 },
    v: { atol: 1e-9, rtol: 2e-3 },
  };
  for (const part of Object.keys(expected) as Part[]) {
    let worst = 0;
    for (let i = 0; i < names.length; i++) {
      const e = await expected[part][i].toArray();
      const g = got[`new_${part}.${names[i]}`];
      for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(g[j] - e[j]));
      assertClose(g, e, tol[part], `${part}.${names[i]}`);
    }
    console.log(`${part}: max |ORT − CPU| = ${worst.toExponential(2)}`);
  }
  // The step moved the parameters (the comparison is not of the starting values).
  const moved = (await expected.p[0].toArray()).some((v, j) => v !== start.p[0][j]);
  assert.ok(moved, "the CPU step left the first parameter unchanged");
});
