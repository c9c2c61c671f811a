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
  if (model.backend.kind !== "cpu") {
    throw new Error(
      `exportDenoiser: load the model on the CPU backend (it is on ${model.backend.name})`,
    );
  }
  const [C, H, W] = model.shape;
  return traceDynamicBatch((b, n) => {
    const p: Params = new Map();
    for (const [name, t] of model.params) p.set(name, b.constant(cpuData(t), t.shape, name));
    const x = b.input("x", [n, C, H, W]);
    const sigma = b.input("sigma", [n]);
    const u = model.config.ambient ? ambientInput(b.input("mask", [n, 1, H, W]), x) : x;
    const ctx = { training: false, seed: 0, stream: 0 };
    b.output("denoised", model.net.forward(p, u, sigma, ctx));
  });
}
