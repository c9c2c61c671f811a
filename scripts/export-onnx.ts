/**
 * Writes a trained prior's EDM-preconditioned denoiser D(x, σ) as an ONNX model with a dynamic
 * batch (inputs x, sigma, and mask for ambient models; output denoised), for any ONNX Runtime.
 *
 * ```
 * deno task export:onnx --model fixtures/models/fmnist-inpaint --out denoiser.onnx [--adps-step]
 * ```
 *
 * With `--adps-step` it also writes the network half of an A-DPS step (D and its VJP w.r.t. x
 * for a cotangent g: src/onnx/export.ts `exportAdpsStep`) beside it as `*-adps-step.onnx`.
 *
 * @module
 */
import { loadModel } from "../src/api.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { exportAdpsStep, exportDenoiser } from "../src/onnx/export.ts";
import { exitOnUsageError, parseFlags } from "./cli.ts";

exitOnUsageError();
const a = parseFlags({
  model: { type: "string" },
  out: { type: "string" },
  "adps-step": { type: "boolean", default: false },
});
if (!a.model || !a.out) {
  console.error("usage: deno task export:onnx --model MODEL_DIR --out denoiser.onnx [--adps-step]");
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
if (a["adps-step"]) {
  const path = a.out.replace(/(\.onnx)?$/, "-adps-step.onnx");
  const step = exportAdpsStep(model);
  await writeFileAtomic(path, step);
  console.log(
    `wrote ${path} (${(step.length / 1e6).toFixed(2)} MB): ${inputs}, g [N, ${C}, ${H}, ${W}] → ` +
      "denoised, vjp (gᵀ ∂D/∂x)",
  );
}
