/**
 * The third path of the op harness (tests/harness.ts): an op traced on the ONNX backend, run
 * in a fresh onnxruntime-node session, against its CPU twin on the same random inputs; with
 * `grads`, the vector-Jacobian product for a random cotangent too (the backward lowerings).
 */
import { grad } from "../src/ops/autograd.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { encodeModel } from "../src/onnx/proto.ts";
import { checkTraceSeed, fillRandomInputs } from "../src/onnx/random_inputs.ts";
import { openSession } from "../src/onnx/runtime.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, F32, type Tol } from "./harness.ts";

/** One lowering check. */
export interface OnnxCase {
  /** Name for messages. */
  name: string;
  /** Input shapes. */
  shapes: number[][];
  /** The op under test, on whatever backend its inputs live. */
  f: (...xs: Tensor[]) => Tensor;
  /** Tolerance vs the f32 twin (default F32). */
  tol?: Tol;
  /** Input values (default: standard normal). */
  gen?: (rng: Rng) => number;
  /** Seed. */
  seed?: number;
  /** Also compare the VJP w.r.t. these inputs (indices) for a random cotangent. */
  grads?: number[];
  /** Tolerance of the gradients (default: `tol`). */
  gradTol?: Tol;
  /** The seed of the op's random draws: its random inputs are checked for it and filled. */
  drawSeed?: number;
}

/**
 * Traces `c.f` to a graph, runs it in ONNX Runtime and compares with the CPU twin.
 *
 * @param c the case
 */
export async function checkOnnx(c: OnnxCase): Promise<void> {
  const rng = new Rng(c.seed ?? 1234);
  const gen = c.gen ?? ((r: Rng) => r.normal());
  const data = c.shapes.map((s) =>
    Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => gen(rng))
  );
  const wrt = c.grads ?? [];
  const cpu = cpuBackend();
  const cpuIn = data.map((d, k) => cpu.fromArray(d, c.shapes[k]));
  const yCpu = c.f(...cpuIn);
  const expected = [await yCpu.toArray()];
  const seedShape = [...yCpu.shape];
  const seed = Float32Array.from({ length: yCpu.size }, () => rng.normal());
  if (wrt.length > 0) {
    const { grads } = grad(
      () => c.f(...cpuIn),
      wrt.map((k) => cpuIn[k]),
      cpu.fromArray(seed, seedShape),
    );
    for (const g of grads) expected.push(await g.toArray());
  }
  const b = new OnnxBackend();
  const xs = c.shapes.map((s, k) => b.input(`x${k}`, s));
  b.output("y", c.f(...xs));
  if (wrt.length > 0) {
    const { grads } = grad(() => c.f(...xs), wrt.map((k) => xs[k]), b.input("seed", seedShape));
    grads.forEach((g, j) => b.output(`g${j}`, g));
  }
  const session = await openSession(encodeModel(b.graph.spec()));
  try {
    const feeds: Record<string, [Float32Array, readonly number[]]> = Object.fromEntries(
      data.map((d, k) => [`x${k}`, [d, c.shapes[k]] as [Float32Array, number[]]]),
    );
    if (wrt.length > 0) feeds.seed = [seed, seedShape];
    if (b.randomInputs.length > 0) {
      if (c.drawSeed === undefined) throw new Error(`${c.name}: random inputs need drawSeed`);
      checkTraceSeed(b.randomInputs, c.drawSeed);
      Object.assign(feeds, fillRandomInputs(b.randomInputs, c.drawSeed));
    }
    const got = await session.run(feeds);
    assertClose(got.y, expected[0], c.tol ?? F32, `${c.name} (onnx vs cpu)`);
    wrt.forEach((k, j) =>
      assertClose(
        got[`g${j}`],
        expected[j + 1],
        c.gradTol ?? c.tol ?? F32,
        `${c.name}: gradient of input ${k} (onnx vs cpu)`,
      )
    );
  } finally {
    await session.release();
  }
}
