/**
 * Random draws of a traced step as graph inputs: the seeded Philox streams stay the package's
 * (src/cpu/philox.ts), so a step traced once on the ONNX backend is re-fed each time with the
 * CPU twin's draws for that step's seed, and a seed gives the same run on every backend. All
 * draws of a training step share the step's seed and differ in stream (src/ambient/streams.ts),
 * so re-filling under a new seed needs no new trace.
 *
 * @module
 */
import { dropoutCpu } from "../cpu/dropout.ts";
import { philoxKey } from "../cpu/philox.ts";
import { randomCpu } from "../cpu/random.ts";

/** What a random graph input holds: a draw of src/ops/random.ts, or a dropout keep-mask. */
export type RandomInputKind = "uniform" | "normal" | "bernoulli" | "dropout";

/** One random graph input and how the CPU twin draws it. */
export interface RandomInput {
  /** The graph input's name. */
  name: string;
  /** The distribution ("dropout": 0/1 keep-mask with src/ops/dropout.ts's word layout). */
  kind: RandomInputKind;
  /** Its shape. */
  shape: readonly number[];
  /** The seed it was traced with (a u32). */
  seed: number;
  /** The Philox stream. */
  stream: number;
  /** Bernoulli and dropout: keep where the element's 24-bit uniform ≤ threshold. */
  threshold: number;
  /** Counter of element 0 (dropout: element index, a multiple of 4). */
  offset: number;
}

/**
 * The values of every random input under `seed`, as the CPU twin draws them.
 *
 * @param inputs the inputs a trace recorded (`OnnxBackend.randomInputs`)
 * @param seed the step's seed (replaces each input's traced seed)
 * @returns feeds for an ONNX Runtime session: name → [values, shape]
 * @example
 * ```ts
 * import { OnnxBackend } from "./backend.ts";
 * import { randomNormal } from "../ops/random.ts";
 * import { fillRandomInputs } from "./random_inputs.ts";
 * const b = new OnnxBackend();
 * b.output("noise", randomNormal(b, [2, 3], 7, 1));
 * const feeds = fillRandomInputs(b.randomInputs, 8); // the draw of seed 8, stream 1
 * ```
 */
export function fillRandomInputs(
  inputs: readonly RandomInput[],
  seed: number,
): Record<string, [Float32Array, readonly number[]]> {
  const key = philoxKey(seed);
  const feeds: Record<string, [Float32Array, readonly number[]]> = {};
  for (const r of inputs) {
    const n = r.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    if (r.kind === "dropout") {
      dropoutCpu(new Float32Array(n).fill(1), out, n, key, r.stream, r.threshold, 1, r.offset / 4);
    } else {
      randomCpu(r.kind, out, n, key, r.stream, r.threshold, r.offset);
    }
    feeds[r.name] = [out, r.shape];
  }
  return feeds;
}

/**
 * Throws unless every random input was drawn under `seed`: a draw under any other seed would
 * not follow the step's seed when the inputs are re-filled.
 *
 * @param inputs the inputs a trace recorded
 * @param seed the seed the step was traced with
 */
export function checkTraceSeed(inputs: readonly RandomInput[], seed: number): void {
  const other = inputs.find((r) => r.seed !== seed);
  if (other) {
    throw new Error(
      `onnx trace: random input ${other.name} (${other.kind}, stream ${other.stream}) was drawn ` +
        `under seed ${other.seed}, not the step's seed ${seed}; draw it from the step's seed`,
    );
  }
}
