/**
 * ONNX Runtime as an engine (the `./onnx` entry): sessions of recorded graphs, compiled steps,
 * the graph cache and `OrtBackend` (every network evaluation and training step run by
 * onnxruntime-node, CPU or CUDA). Kept apart from the main entry because it loads
 * onnxruntime-node's native binding; importing this module also makes `--backend onnx` and
 * `onnx-cuda` selectable (src/core/select_backend.ts).
 *
 * @example
 * ```ts ignore
 * import { openOrtBackend } from "./mod.ts";
 * const backend = openOrtBackend("cpu");
 * ```
 *
 * @module
 */
export { OnnxBackend } from "./backend.ts";
export { exportAdpsStep, exportDenoiser, weightConstants } from "./export.ts";
export {
  type Feeds,
  type NativeSession,
  type OnnxSession,
  openNativeSession,
  openSession,
  type OrtProvider,
  type OrtValue,
  type SessionOptions,
} from "./runtime.ts";
export { CompiledStep, type StepBuilder } from "./compiled_step.ts";
export { GraphCache } from "./graph_cache.ts";
export { CUDA_INSTALL, openOrtBackend, OrtBackend } from "./ort_backend.ts";
