/**
 * Writes a trained prior's EDM-preconditioned denoiser D(x, σ) as an ONNX model with a dynamic
 * batch (inputs x, sigma, and mask for ambient models; output denoised), for any ONNX Runtime.
 *
 * ```
 * deno task export:onnx --model fixtures/models/fmnist-inpaint --out denoiser.onnx
 * ```
 *
 * @module
 */
import { loadModel } from "../src/api.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { exportDenoiser } from "../src/onnx/export.ts";
import { exitOnUsageError, parseFlags } from "./cli.ts";

exitOnUsageError();
const a = parseFlags({ model: { type: "string" }, out: { type: "string" } });
if (!a.model || !a.out) {
  console.error("usage: deno task export:onnx --model MODEL_DIR --out denoiser.onnx");
  Deno.exit(2);
}
using model = await loadModel(a.model, { backend: cpuBackend() });
const bytes = exportDenoiser(model);
await writeFileAtomic(a.out, bytes);
const [C, H, W] = model.shape;
const inputs = `x [N, ${C}, ${H}, ${W}], sigma [N]${
  model.config.ambient ? `, mask [N, 1, ${H}, ${W}]` : ""
}`;
console.log(`wrote ${a.out} (${(bytes.length / 1e6).toFixed(2)} MB): ${inputs} → denoised`);
