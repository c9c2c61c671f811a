/**
 * A-OS with toy ambient "networks" whose output is known from their input, so the test sees
 * exactly what the network was fed (layout, mask, σ) and what came back.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { concat, slice } from "../src/ops/concat.ts";
import { add, mul, scale, sub } from "../src/ops/elementwise.ts";
import { BoxInpainting } from "../src/operators/box_inpainting.ts";
import { Identity } from "../src/operators/identity.ts";
import type { MaskOperator } from "../src/operators/mask_operator.ts";
import { RandomInpainting } from "../src/operators/random_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { ambientInput } from "../src/ambient/input.ts";
import { ambientOneStep, ONE_STEP_SIGMA } from "../src/sampling/one_step.ts";
import { keep, tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";

/** Keeps the observed pixels and fills the erased ones with `fill`: M ⊙ x + (1 − M)·fill. */
function inpaintWith(fill: number, c: number) {
  return (input: Tensor, _sigma: number): Tensor => {
    const masked = slice(input, 1, 0, c);
    const m = slice(input, 1, c, c);
    return add(masked, scale(sub(input.backend.full(m.shape, 1), m), fill));
  };
}

/** y with junk on the erased pixels too (A-OS must not see it). */
function measurements(b: Backend, shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  return b.fromArray(rng.normals(shape.reduce((a, d) => a * d, 1)), shape);
}

async function runOneStep(b: Backend, op: MaskOperator, shape: number[]) {
  const [n, c, h, w] = shape;
  using y = measurements(b, shape, 3);
  const seen: { input: Tensor; sigma: number }[] = [];
  const toy = inpaintWith(0.5, c);
  const denoise = (input: Tensor, sigma: number) => {
    // Kept past ambientOneStep's tidy, to read what the network was fed.
    seen.push({ input: keep(input), sigma });
    return toy(input, sigma);
  };
  using x = ambientOneStep(denoise, op, y);
  assert.equal(seen.length, 1, "one network evaluation");
  using fed = seen[0].input;
  const [xs, ys, ms] = await Promise.all([x, y, op.mask].map((t) => t.toArray()));
  // The expected input and output, by loops.
  const count = op.mask.shape[0];
  const mAt = (j: number, p: number) => ms[(count === 1 ? 0 : j) * h * w + p];
  const wantIn: number[] = [];
  const wantOut: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < c; k++) {
      for (let p = 0; p < h * w; p++) wantIn.push(mAt(j, p) * ys[(j * c + k) * h * w + p]);
    }
    for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) wantIn.push(mAt(j, p));
    for (let k = 0; k < c; k++) {
      for (let p = 0; p < h * w; p++) {
        wantOut.push(mAt(j, p) === 1 ? ys[(j * c + k) * h * w + p] : 0.5);
      }
    }
  }
  const input = await fed.toArray();
  return { seen: { shape: fed.shape, sigma: seen[0].sigma, input }, x: xs, wantIn, wantOut, ms };
}

Deno.test("ambientOneStep feeds concat[M ⊙ Aᴴy, M per channel] at σ = 0.003 once and returns h's output (twins, WebGPU)", async () => {
  const gpu = await gpuOrSkip();
  const backends: [string, Backend][] = [["f64", cpuBackend("f64")], ["f32", cpuBackend("f32")]];
  if (gpu) backends.push(["WebGPU", gpu]);
  for (const [label, b] of backends) {
    // A shared mask over a batch of 3 RGB images; per-image masks; a box; one channel.
    const cases: [string, MaskOperator, number[]][] = [
      ["shared", new RandomInpainting(b, { height: 5, width: 7, p: 0.6, seed: 1 }), [3, 3, 5, 7]],
      [
        "per image",
        new RandomInpainting(b, { height: 5, width: 7, p: 0.3, seed: 2, count: 2 }),
        [2, 3, 5, 7],
      ],
      ["box", new BoxInpainting(b, { height: 6, width: 6, p: 0.5, seed: 3 }), [2, 1, 6, 6]],
    ];
    for (const [what, op, shape] of cases) {
      using _op = op;
      const r = await runOneStep(b, op, shape);
      const [n, c, h, w] = shape;
      assert.deepEqual(r.seen.shape, [n, 2 * c, h, w], `${label} ${what}: input shape`);
      assert.equal(r.seen.sigma, ONE_STEP_SIGMA, `${label} ${what}: σ`);
      assert.ok(r.ms.some((v) => v === 0) && r.ms.some((v) => v === 1), `${label} ${what}`);
      assertClose(r.seen.input, r.wantIn, { atol: 0, rtol: 0 }, `${label} ${what}: input`);
      assertClose(r.x, r.wantOut, { atol: 1e-6, rtol: 1e-6 }, `${label} ${what}: output`);
    }
  }
});

Deno.test("ambientOneStep passes a custom σ; ambientInput matches the training layout", async () => {
  const b = cpuBackend("f64");
  using op = new RandomInpainting(b, { height: 4, width: 4, p: 0.5, seed: 5 });
  using y = measurements(b, [2, 2, 4, 4], 4);
  let sigmaSeen = 0;
  using x = ambientOneStep(
    (input, sigma) => {
      sigmaSeen = sigma;
      return slice(input, 1, 0, 2);
    },
    op,
    y,
    0.01,
  );
  assert.equal(sigmaSeen, 0.01);
  // Training builds concat[M̃ ⊙ x, M̃ per channel] with a mask per image (src/ambient/loss.ts).
  using m2 = concat([op.mask, op.mask], 0);
  using got = ambientInput(op.mask, y);
  using want = tidy(() => concat([mul(m2, y), m2, m2], 1));
  assert.deepEqual(await got.toArray(), await want.toArray());
  using masked = mul(y, op.mask);
  assert.deepEqual(await x.toArray(), await masked.toArray());
});

Deno.test("ambientOneStep rejects non-mask operators, bad σ, a wrong output shape; ambientInput bad masks", () => {
  const b = cpuBackend();
  using op = new RandomInpainting(b, { height: 4, width: 4, p: 0.5, seed: 5 });
  using y = b.full([2, 1, 4, 4], 1);
  const toy = inpaintWith(0, 1);
  assert.throws(
    () => ambientOneStep(toy, new Identity() as unknown as MaskOperator, y),
    /mask operator.*identity/,
  );
  assert.throws(() => ambientOneStep(toy, op, y, 0), /σ/);
  assert.throws(() => ambientOneStep((input) => input, op, y), /returned \[2,2,4,4\]/);
  using m3 = b.full([3, 1, 4, 4], 1);
  assert.throws(() => ambientInput(m3, y), /does not fit/);
  using m5 = b.full([1, 1, 5, 4], 1);
  assert.throws(() => ambientInput(m5, y), /does not fit/);
});
