/**
 * The third path of the op harness (tests/harness.ts): an op traced on the ONNX backend, run
 * in a fresh onnxruntime-node session, against its CPU twin on the same random inputs.
 */
import type { Tensor } from "../src/core/tensor.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { OnnxBackend } from "../src/onnx/backend.ts";
import { encodeModel } from "../src/onnx/proto.ts";
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
  const cpu = cpuBackend();
  const expected = await c.f(...data.map((d, k) => cpu.fromArray(d, c.shapes[k]))).toArray();
  const b = new OnnxBackend();
  const y = c.f(...c.shapes.map((s, k) => b.input(`x${k}`, s)));
  b.output("y", y);
  const session = await openSession(encodeModel(b.graph.spec()));
  try {
    const feeds = Object.fromEntries(
      data.map((d, k) => [`x${k}`, [d, c.shapes[k]] as [Float32Array, number[]]]),
    );
    const got = (await session.run(feeds)).y;
    assertClose(got, expected, c.tol ?? F32, `${c.name} (onnx vs cpu)`);
  } finally {
    await session.release();
  }
}
