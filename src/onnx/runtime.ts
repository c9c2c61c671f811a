/**
 * Running a recorded graph in onnxruntime-node (CPU provider; its binaries ship inside the npm
 * package, so Deno needs no install script for it).
 *
 * @module
 */
import * as ort from "onnxruntime-node";

/** An ONNX Runtime session over one model. */
export interface OnnxSession {
  /**
   * Runs the graph.
   *
   * @param feeds input name → [values, shape]
   * @returns output name → values
   */
  run(
    feeds: Record<string, [Float32Array, readonly number[]]>,
  ): Promise<Record<string, Float32Array>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/**
 * Opens a session on `.onnx` bytes or a file path.
 *
 * @param model the model bytes or path
 * @param threads intra-op threads (default: ONNX Runtime's choice)
 * @returns the session
 * @example
 * ```ts ignore
 * import { openSession } from "./runtime.ts";
 * const s = await openSession("denoiser.onnx");
 * ```
 */
export async function openSession(
  model: Uint8Array | string,
  threads?: number,
): Promise<OnnxSession> {
  // Severity 3: errors only (ORT's warnings about its own graph rewrites are noise here).
  const options: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };
  if (threads) options.intraOpNumThreads = threads;
  // Two overloads (path, bytes): TypeScript picks one per branch.
  const session = typeof model === "string"
    ? await ort.InferenceSession.create(model, options)
    : await ort.InferenceSession.create(model, options);
  return {
    async run(feeds) {
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, [data, shape]] of Object.entries(feeds)) {
        inputs[name] = new ort.Tensor("float32", data, [...shape]);
      }
      const out = await session.run(inputs);
      const result: Record<string, Float32Array> = {};
      for (const [name, t] of Object.entries(out)) result[name] = t.data as Float32Array;
      return result;
    },
    release: () => session.release(),
  };
}
