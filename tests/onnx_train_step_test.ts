/**
 * Whole-step parity of training: one ambient training step (`trainStep`: the ambient loss with
 * dropout, backward, global-norm clipping, Adam, EMA; Aali et al. 2024, §3) traced on the ONNX
 * backend with parameters, moments and EMA weights as graph inputs and their updates as
 * outputs, its σ, noise and dropout draws filled from the CPU twin's Philox for the step's
 * seed, run in onnxruntime-node and compared with the same step on the CPU twin; then the same
 * graph re-fed with the next step's seed and scalars against the CPU twin's next step.
 */
import assert from "node:assert/strict";
import { cpuData } from "../src/cpu/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { Rng } from "../src/core/rng.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { checkTraceSeed, fillRandomInputs } from "../src/onnx/random_inputs.ts";
import { openSession } from "../src/onnx/runtime.ts";
import { Adam } from "../src/optim/adam.ts";
import { trainStepScalars } from "../src/onnx/step_scalars.ts";
import {
  outputTrainState,
  STATE_PARTS,
  type StatePart,
  traceTrainState,
} from "../src/onnx/train_state.ts";
import type { TrainState } from "../src/train/checkpoint.ts";
import { EDM_DEFAULTS, type TrainConfig } from "../src/train/config.ts";
import { buildNetwork, stepSeed, trainStep } from "../src/train/train.ts";
import type { Tensor } from "../src/core/tensor.ts";
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

Deno.test("onnx train-step parity: one ambient step (dropout, clip, Adam, EMA) vs the CPU twin, then the next step from the same graph", async () => {
  const shape = [1, 8, 8];
  const net = buildNetwork(CONFIG, shape);
  const values = tinyWeights(net.model, 3);
  const names = [...values.keys()];
  const specs = net.model.registry.specs;
  const rng = new Rng(9);
  const noisy = (v: ArrayLike<number>, s: number) =>
    Float32Array.from(v, (x) => x + s * rng.normal());
  const start: Record<StatePart, Float32Array[]> = {
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
  /** The CPU twin's state before `step`, from `start`. */
  const cpuState = (step: number): TrainState => {
    const cpu = cpuBackend();
    const part = (k: StatePart) =>
      new Map(names.map((n, i) => [n, cpu.fromArray(start[k][i], specs[i].shape)]));
    const params = part("p");
    const adam = new Adam([...params.values()], { maxGradNorm: CONFIG.gradClip });
    adam.t = step - 1;
    names.forEach((_, i) => {
      cpuData(adam.m[i]).set(start.m[i]);
      cpuData(adam.v[i]).set(start.v[i]);
    });
    return { step: step - 1, params, ema: part("ema"), adam };
  };

  const ob = new OnnxBackend();
  const traced = traceTrainState(ob, net, CONFIG.gradClip, STEP);
  ob.output("terms", trainStep(net, traced, CONFIG, batch, STEP));
  outputTrainState(ob, traced);
  // σ, noise (two rounds each) and the dropout masks, all under the step's seed.
  checkTraceSeed(ob.randomInputs, stepSeed(CONFIG, STEP));
  const kinds = ob.randomInputs.map((r) => r.kind);
  assert.ok(kinds.filter((k) => k === "dropout").length >= 4, `dropout inputs: ${kinds}`);
  assert.equal(kinds.filter((k) => k === "normal").length, 4, `σ and noise inputs: ${kinds}`);
  assert.deepEqual([...ob.scalarInputs.keys()], ["adam.stepSize", "adam.invBc2Sqrt", "ema.weight"]);
  // The scalar feeds of the traced step are the values it traced.
  for (const [k, v] of ob.scalarInputs) {
    assert.equal(trainStepScalars(CONFIG, STEP)[k][0][0], Math.fround(v), k);
  }
  assert.throws(() => ob.scalar("ema.weight", 0.5), /traced as .* and again as 0.5/);
  const session = await openSession(encodeModel(ob.graph.spec()), 2);

  // Adam divides m by √v: gradients equal to ~1e-4 move the parameters alike to ~1e-5 of lr.
  const tol: Record<StatePart, { atol: number; rtol: number }> = {
    p: { atol: 2e-5, rtol: 1e-4 },
    ema: { atol: 2e-5, rtol: 1e-4 },
    m: { atol: 1e-6, rtol: 2e-3 },
    v: { atol: 1e-9, rtol: 2e-3 },
  };
  for (const step of [STEP, STEP + 1]) {
    const want = cpuState(step);
    const wantTerms = await trainStep(net, want, CONFIG, batch, step).toArray();
    const feeds: Record<string, [Float32Array, readonly number[]]> = {
      ...fillRandomInputs(ob.randomInputs, stepSeed(CONFIG, step)),
      ...trainStepScalars(CONFIG, step),
    };
    for (const part of STATE_PARTS) {
      names.forEach((k, i) => (feeds[`${part}.${k}`] = [start[part][i], specs[i].shape]));
    }
    const got = await session.run(feeds);
    console.log(`step ${step} loss: onnx ${Array.from(got.terms)}, cpu ${wantTerms}`);
    assertClose(got.terms, wantTerms, { atol: 1e-5, rtol: 1e-4 }, `step ${step} loss terms`);
    const expected: Record<StatePart, readonly Tensor[]> = {
      p: [...want.params.values()],
      ema: [...want.ema.values()],
      m: want.adam.m,
      v: want.adam.v,
    };
    for (const part of STATE_PARTS) {
      let worst = 0;
      for (let i = 0; i < names.length; i++) {
        const e = await expected[part][i].toArray();
        const g = got[`new_${part}.${names[i]}`];
        for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(g[j] - e[j]));
        assertClose(g, e, tol[part], `step ${step} ${part}.${names[i]}`);
      }
      console.log(`step ${step} ${part}: max |ORT − CPU| = ${worst.toExponential(2)}`);
    }
    // The step moved the parameters (the comparison is not of the starting values).
    const moved = (await expected.p[0].toArray()).some((v, j) => v !== start.p[0][j]);
    assert.ok(moved, "the CPU step left the first parameter unchanged");
  }
  await session.release();
});
