/**
 * Whole-graph parity of the sampling steps: the EDM-preconditioned SongUNet's forward D(x, σ)
 * and the A-DPS step's D and ζ∇ₓ‖A(D) − y‖ (Aali et al. 2024, §4, as src/sampling/dps.ts
 * computes it: clipped D, the per-sample residual norm summed) traced on the ONNX backend, run
 * in onnxruntime-node, against the CPU twin, for the plain, ambient and gated networks.
 */
import { ambientInput } from "../src/ambient/input.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { Rng } from "../src/core/rng.ts";
import type { Backend } from "../src/core/backend.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { EDMPrecond } from "../src/nn/precond.ts";
import { SongUNet, type SongUNetConfig } from "../src/nn/song_unet.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { openSession } from "../src/onnx/runtime.ts";
import { grad } from "../src/ops/autograd.ts";
import { addScalar, clip, mul, scale, sqrt, sub } from "../src/ops/elementwise.ts";
import { sum, sumSquares } from "../src/ops/reduce.ts";
import assert from "node:assert/strict";
import { assertClose } from "./harness.ts";
import { TINY, tinyWeights, toParams } from "./tiny_unet.ts";

const SIGMA = 0.8;
const ZETA = 4;

/** The three networks the samplers run: plain (clean prior), ambient (mask channels), gated. */
const VARIANTS: [string, SongUNetConfig, boolean][] = [
  ["plain", { ...TINY, inChannels: 1, outChannels: 1 }, false],
  ["ambient", { ...TINY, inChannels: 2, outChannels: 1 }, true],
  ["ambient gated", { ...TINY, inChannels: 2, outChannels: 1, gated: true }, true],
];

/** The step's graph inputs: x, y, the operator's mask and the prior's fixed M̃. */
interface StepInputs {
  x: Tensor;
  y: Tensor;
  opMask: Tensor;
  further: Tensor;
}

/** D(x, σ) and the DPS pull ζ∇ₓ Σₙ ‖M ⊙ clip(D) − y‖ on whatever backend the inputs live. */
function step(
  net: EDMPrecond,
  values: Map<string, Float64Array>,
  ambient: boolean,
  b: Backend,
  s: StepInputs,
): { plain: Tensor; denoised: Tensor; pull: Tensor } {
  const params = toParams(values, net.model, b);
  const ctx = { training: false, seed: 0, stream: 0 };
  const D = (x: Tensor) =>
    net.forward(params, ambient ? ambientInput(s.further, x) : x, b.full([x.shape[0]], SIGMA), ctx);
  const plain = D(s.x);
  let denoised!: Tensor;
  const { grads: [g] } = grad(() => {
    denoised = clip(D(s.x), -1, 1);
    const r = sub(mul(denoised, s.opMask), s.y);
    return sum(sqrt(addScalar(sumSquares(r, [1, 2, 3]), 1e-30)));
  }, [s.x]);
  return { plain, denoised, pull: scale(g, ZETA) };
}

for (const [name, config, ambient] of VARIANTS) {
  Deno.test(`onnx step parity (${name}): D(x, σ) and the A-DPS pull vs the CPU twin`, async () => {
    const net = new EDMPrecond(new SongUNet(config));
    const values = tinyWeights(net.model, 18);
    const R = config.imgResolution;
    const shapes = {
      x: [3, 1, R, R],
      y: [3, 1, R, R],
      opMask: [3, 1, R, R],
      further: [1, 1, R, R],
    } as const;
    const rng = new Rng(7);
    const bit = () => (rng.uniform() < 0.6 ? 1 : 0);
    const data: Record<keyof StepInputs, Float32Array> = {
      x: Float32Array.from({ length: 3 * R * R }, () => 0.8 * rng.normal()),
      y: Float32Array.from({ length: 3 * R * R }, () => 0.5 * rng.normal()),
      opMask: Float32Array.from({ length: 3 * R * R }, bit),
      further: Float32Array.from({ length: R * R }, bit),
    };
    const keys = Object.keys(shapes) as (keyof StepInputs)[];
    const cpu = cpuBackend();
    const want = step(
      net,
      values,
      ambient,
      cpu,
      Object.fromEntries(keys.map((k) => [k, cpu.fromArray(data[k], shapes[k])])) as never,
    );
    const ob = new OnnxBackend();
    const traced = step(
      net,
      values,
      ambient,
      ob,
      Object.fromEntries(keys.map((k) => [k, ob.input(k, shapes[k])])) as never,
    );
    for (const [k, t] of Object.entries(traced)) ob.output(k, t);
    const session = await openSession(encodeModel(ob.graph.spec()), 2);
    try {
      const got = await session.run(
        Object.fromEntries(keys.map((k) => [k, [data[k], shapes[k]]])) as never,
      );
      for (const k of ["plain", "denoised", "pull"] as const) {
        const expected = await want[k].toArray();
        let worst = 0;
        let size = 0;
        for (let i = 0; i < expected.length; i++) {
          worst = Math.max(worst, Math.abs(got[k][i] - expected[i]));
          size = Math.max(size, Math.abs(expected[i]));
        }
        // A vanishing pull would make the comparison empty.
        assert.ok(size > 0.05, `${name} ${k}: max |value| ${size} is too small to compare`);
        console.log(`${name} ${k}: max |ORT − CPU| = ${worst.toExponential(2)}`);
        // f32 on both sides through ~40 layers and their backward.
        assertClose(got[k], expected, { atol: 1e-4, rtol: 1e-3 }, `${name} ${k}`);
      }
    } finally {
      await session.release();
    }
  });
}
