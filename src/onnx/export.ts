/**
 * Export of a trained prior's EDM-preconditioned denoiser D(x, σ) (docs/method.md §2.2) as an
 * ONNX model with a dynamic batch, loadable by any ONNX Runtime. An ambient model's graph takes
 * the mask too and builds its input [M̃ ⊙ x, M̃] itself (Aali et al. 2024, §3).
 *
 * @module
 */
import type { Model } from "../api.ts";
import { ambientInput } from "../ambient/input.ts";
import { cpuData } from "../cpu/backend.ts";
import type { Params } from "../nn/module.ts";
import { traceDynamicBatch } from "./dynamic_batch.ts";
import type { OnnxBackend } from "./backend.ts";
import type { Tensor } from "../core/tensor.ts";
import { grad } from "../ops/autograd.ts";

/**
 * The denoiser as ONNX bytes: inputs `x` [N, C, H, W] and `sigma` [N] (and `mask`
 * [N, 1, H, W], 1 = seen, for ambient models), output `denoised` [N, C, H, W]; the weights are
 * initializers named as in the state_dict.
 *
 * @param model a model whose weights live on the CPU backend
 * @returns the .onnx bytes
 * @example
 * ```ts ignore
 * import { cpuBackend, loadModel } from "../../mod.ts";
 * import { exportDenoiser } from "./export.ts";
 * using model = await loadModel("fixtures/models/fmnist-inpaint", { backend: cpuBackend() });
 * await Deno.writeFile("denoiser.onnx", exportDenoiser(model));
 * ```
 */
export function exportDenoiser(model: Model): Uint8Array {
  checkCpu(model, "exportDenoiser");
  return traceDynamicBatch((b, n) => {
    const { x, denoise } = denoiserOn(b, model, n);
    b.output("denoised", denoise(x));
  });
}

/**
 * Weights as graph constants under their state_dict names.
 *
 * @param b the tracing backend
 * @param params CPU tensors
 * @returns the same names on `b`
 */
export function weightConstants(b: OnnxBackend, params: Params): Params {
  const out: Params = new Map();
  for (const [name, t] of params) out.set(name, b.constant(cpuData(t), t.shape, name));
  return out;
}

/** The model's D on the tracing backend: inputs x, sigma (and mask), weights as constants. */
function denoiserOn(b: OnnxBackend, model: Model, n: number) {
  const [C, H, W] = model.shape;
  const p = weightConstants(b, model.params);
  const x = b.input("x", [n, C, H, W]);
  const sigma = b.input("sigma", [n]);
  const mask = model.config.ambient ? b.input("mask", [n, 1, H, W]) : null;
  const ctx = { training: false, seed: 0, stream: 0 };
  const denoise = (x: Tensor) => model.net.forward(p, mask ? ambientInput(mask, x) : x, sigma, ctx);
  return { x, denoise };
}

/**
 * The network half of an A-DPS (or FS-DPS) step as ONNX bytes: D(x, σ) and, for a cotangent
 * `g`, the VJP gᵀ ∂D/∂x that DPS's likelihood step pulls through the network (Aali et al.
 * 2024, §4; docs/method.md). The caller forms g from its operator, g = ∂‖A(D) − y‖/∂D, and
 * takes the Euler/Heun update, both elementwise. Inputs as `exportDenoiser`'s plus `g`
 * [N, C, H, W]; outputs `denoised` and `vjp` [N, C, H, W]; dynamic batch.
 *
 * @param model a model whose weights live on the CPU backend
 * @returns the .onnx bytes
 * @example
 * ```ts ignore
 * import { cpuBackend, loadModel } from "../../mod.ts";
 * import { exportAdpsStep } from "./export.ts";
 * using model = await loadModel("fixtures/models/fmnist-inpaint", { backend: cpuBackend() });
 * await Deno.writeFile("adps-step.onnx", exportAdpsStep(model));
 * ```
 */
export function exportAdpsStep(model: Model): Uint8Array {
  checkCpu(model, "exportAdpsStep");
  return traceDynamicBatch((b, n) => {
    const { x, denoise } = denoiserOn(b, model, n);
    const g = b.input("g", x.shape);
    let denoised!: Tensor;
    const { grads: [vjp] } = grad(() => (denoised = denoise(x)), [x], g);
    b.output("denoised", denoised);
    b.output("vjp", vjp);
  });
}

function checkCpu(model: Model, who: string): void {
  if (model.backend.kind !== "cpu") {
    throw new Error(`${who}: load the model on the CPU backend (it is on ${model.backend.name})`);
  }
}
