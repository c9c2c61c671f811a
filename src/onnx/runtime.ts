/**
 * Running a recorded graph in onnxruntime-node (its CPU binaries ship inside the npm package,
 * so Deno needs no install script for it; the CUDA provider is a separate download, see
 * README "Backends"). Sessions run synchronously through the package's native binding, so a
 * compiled network can sit inside the package's synchronous samplers and autograd.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
// The native binding: its run() is synchronous (the package's InferenceSession only wraps it
// in a promise), which the synchronous samplers need.
import { binding, initOrt } from "onnxruntime-node/dist/binding.js";

/** Where a session runs: ONNX Runtime's CPU provider, or CUDA where installed. */
export type OrtProvider = "cpu" | "cuda";

/** A value a run returned (an ONNX Runtime tensor: re-feeding it copies nothing). */
export interface OrtValue {
  /** The values. */
  readonly data: Float32Array;
  /** The shape. */
  readonly dims: readonly number[];
}

/** Feeds of a run: input name → [values, shape], or a value a previous run returned. */
export type Feeds = Record<string, [Float32Array, readonly number[]] | OrtValue>;

/** An ONNX Runtime session over one model, run synchronously. */
export interface NativeSession {
  /**
   * Runs the graph.
   *
   * @param feeds the inputs
   * @returns output name → value (its `data` belongs to the caller)
   */
  run(feeds: Feeds): Record<string, OrtValue>;
  /** Frees the session. */
  release(): void;
}

/** Options of `openNativeSession`. */
export interface SessionOptions {
  /** The execution provider (default "cpu"). */
  provider?: OrtProvider;
  /** Intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
}

/**
 * Opens a synchronous session on `.onnx` bytes or a file path.
 *
 * @param model the model bytes or path
 * @param options provider and threads
 * @returns the session
 * @example
 * ```ts ignore
 * import { openNativeSession } from "./runtime.ts";
 * const s = openNativeSession("denoiser.onnx");
 * ```
 */
export function openNativeSession(
  model: Uint8Array | string,
  options: SessionOptions = {},
): NativeSession {
  // Errors only as exceptions: the native logger would print a failed CUDA probe a second time.
  ort.env.logLevel = "fatal";
  initOrt();
  // Severity 3: errors only (ORT's warnings about its own graph rewrites are noise here).
  const so: ort.InferenceSession.SessionOptions = {
    logSeverityLevel: 3,
    executionProviders: [options.provider ?? "cpu"],
  };
  if (options.threads) so.intraOpNumThreads = options.threads;
  // Idle threads sleep instead of spinning: on 2 busy cores the spin doubled the CPU time of
  // a forward + VJP (164 → 83 ms at batch 8) and slowed it down.
  so.extra = { session: { intra_op: { allow_spinning: "0" } } };
  const session = new binding.InferenceSession();
  if (typeof model === "string") session.loadModel(model, so);
  else session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, so);
  const fetches = Object.fromEntries(session.outputMetadata.map((m) => [m.name, null]));
  return {
    run(feeds) {
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) {
        // A tensor over the same array: no copy.
        const [data, dims] = Array.isArray(f) ? f : [f.data, f.dims];
        inputs[name] = new ort.Tensor("float32", data, [...dims]);
      }
      return session.run(inputs, fetches, {}) as unknown as Record<string, OrtValue>;
    },
    release: () => session.dispose(),
  };
}

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
 * Opens a session on `.onnx` bytes or a file path (the promise form of `openNativeSession`).
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
export function openSession(model: Uint8Array | string, threads?: number): Promise<OnnxSession> {
  const session = openNativeSession(model, { threads });
  return Promise.resolve({
    run(feeds) {
      const out = session.run(feeds);
      return Promise.resolve(
        Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data])),
      );
    },
    release: () => Promise.resolve(session.release()),
  });
}
