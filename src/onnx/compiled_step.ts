/**
 * Compiled steps: a function of named tensors traced once per set of input shapes on the
 * tracing backend (src/onnx/backend.ts) and run as one ONNX Runtime session; a feed of a new
 * shape traces and compiles again, a known one reuses its session.
 *
 * @module
 */
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { OnnxBackend } from "./backend.ts";
import { encodeModel } from "./proto.ts";
import {
  type Feeds,
  type NativeSession,
  openNativeSession,
  type OrtValue,
  type SessionOptions,
} from "./runtime.ts";

/** Records a step: named symbolic inputs in, named outputs out. */
export type StepBuilder = (
  b: OnnxBackend,
  inputs: Record<string, Tensor>,
) => Record<string, Tensor>;

function dims(f: Feeds[string]): readonly number[] {
  return Array.isArray(f) ? f[1] : f.dims;
}

/**
 * A step traced once per input shapes and run as one ONNX Runtime session.
 *
 * @example
 * ```ts ignore
 * import { CompiledStep } from "./compiled_step.ts";
 * import { silu } from "../ops/elementwise.ts";
 * const step = new CompiledStep((_b, { x }) => ({ y: silu(x) }));
 * const { y } = step.run({ x: [new Float32Array([1, 2]), [2]] });
 * ```
 */
export class CompiledStep {
  readonly #build: StepBuilder;
  readonly #options: SessionOptions;
  readonly #sessions = new Map<string, NativeSession>();

  /**
   * A step to compile on first use.
   *
   * @param build records the step
   * @param options the provider and threads of its sessions
   */
  constructor(build: StepBuilder, options: SessionOptions = {}) {
    this.#build = build;
    this.#options = options;
  }

  /** How many shapes have been traced and compiled (one session each). */
  get compiled(): number {
    return this.#sessions.size;
  }

  /**
   * Runs the step, tracing and compiling it first for shapes not seen yet.
   *
   * @param feeds the inputs (values with their shape, or tensors a previous run returned)
   * @returns the outputs as ONNX Runtime tensors
   */
  run(feeds: Feeds): Record<string, OrtValue> {
    const key = Object.entries(feeds).map(([k, f]) => `${k}:${dims(f)}`).join(";");
    let session = this.#sessions.get(key);
    if (!session) this.#sessions.set(key, session = this.#compile(feeds));
    return session.run(feeds);
  }

  #compile(feeds: Feeds): NativeSession {
    const b = new OnnxBackend();
    // The symbolic tensors are names only; tidy drops them with the trace.
    tidy(() => {
      const inputs: Record<string, Tensor> = {};
      for (const [k, f] of Object.entries(feeds)) inputs[k] = b.input(k, dims(f));
      for (const [name, t] of Object.entries(this.#build(b, inputs))) b.output(name, t);
    });
    return openNativeSession(encodeModel(b.graph.spec()), this.#options);
  }

  /** Frees every session. */
  release(): void {
    for (const s of this.#sessions.values()) s.release();
    this.#sessions.clear();
  }
}
