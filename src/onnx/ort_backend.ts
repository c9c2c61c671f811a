/**
 * ONNX Runtime as a backend: tensors are CPU tensors (the light work between network calls —
 * the measurement operator, the residual norm, the Euler/Heun update — runs on the CPU twin),
 * and every network evaluation D(u, σ) runs as a compiled ONNX Runtime session, its VJP w.r.t.
 * u as a second one, so `adps`, `fsDps`, `oneStep`, `sample`, the MRI samplers … run there
 * without a second implementation (the seam is `EDMPrecond.forward`, src/nn/precond.ts).
 * Importing this module makes `selectBackend` able to pick it.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { CpuBackend, cpuData } from "../cpu/backend.ts";
import { provideOnnxRuntime } from "../core/select_backend.ts";
import type { Tensor } from "../core/tensor.ts";
import { UsageError } from "../core/usage_error.ts";
import type { Params } from "../nn/module.ts";
import type { EDMPrecond, NetworkRunner } from "../nn/precond.ts";
import type { ForwardContext } from "../nn/unet_block.ts";
import { grad, record } from "../ops/autograd.ts";
import { OnnxBackend } from "./backend.ts";
import { CompiledStep } from "./compiled_step.ts";
import { silu } from "../ops/elementwise.ts";
import { type Feeds, openNativeSession, type OrtProvider } from "./runtime.ts";
import { encodeModel } from "./proto.ts";

/** How to get the CUDA provider, which onnxruntime-node downloads only when asked at install. */
export const CUDA_INSTALL =
  "ONNXRUNTIME_NODE_INSTALL=cuda12 deno install --node-modules-dir=auto " +
  "--allow-scripts=npm:onnxruntime-node (npm: npm install onnxruntime-node " +
  "--onnxruntime-node-install=cuda12); it needs CUDA 12 and cuDNN 9";

/** The weights as graph constants under their state_dict names. */
function constants(b: OnnxBackend, p: Params): Params {
  const out: Params = new Map();
  for (const [name, t] of p) out.set(name, b.constant(cpuData(t), t.shape, name));
  return out;
}

/** The two compiled steps of one network with one set of weights. */
interface NetworkSteps {
  /** (u, σ) → D. */
  forward: CompiledStep;
  /** (u, σ, g) → gᵀ ∂D/∂u. */
  vjp: CompiledStep;
}

const EVAL: ForwardContext = { training: false, seed: 0, stream: 0 };

/**
 * The ONNX Runtime backend (CPU provider, or CUDA where installed).
 *
 * @example
 * ```ts ignore
 * import { adps, loadModel, OrtBackend } from "../../mod.ts";
 * using model = await loadModel("fixtures/models/fmnist-inpaint", { backend: new OrtBackend() });
 * // adps(model, op, y, …) now evaluates the network in ONNX Runtime
 * ```
 */
export class OrtBackend extends CpuBackend implements NetworkRunner {
  /** The execution provider. */
  readonly provider: OrtProvider;
  readonly #networks = new WeakMap<Params, NetworkSteps>();

  /**
   * @param provider "cpu" (default) or "cuda"
   */
  constructor(provider: OrtProvider = "cpu") {
    super("f32");
    this.provider = provider;
  }

  /** Description for logs. */
  override get name(): string {
    return `onnxruntime-node ${ort.env.versions.common} (${this.provider})`;
  }

  /**
   * D(u, σ) as one ONNX Runtime run; its VJP w.r.t. u (for DPS's likelihood step) as another,
   * recorded on the autograd tape. Weights are constants of the compiled graphs, so a network
   * is compiled once per weights map and input shape.
   *
   * @param net the preconditioned network
   * @param p its weights (CPU tensors, treated as fixed)
   * @param u the input [N, C, H, W]
   * @param sigma σ per sample [N]
   * @param ctx must be evaluation mode (training runs as a compiled training step)
   * @returns D [N, C_out, H, W]
   */
  runNetwork(net: EDMPrecond, p: Params, u: Tensor, sigma: Tensor, ctx: ForwardContext): Tensor {
    if (ctx.training) {
      throw new Error("OrtBackend: a training forward (dropout) is not a network evaluation");
    }
    const steps = this.#steps(net, p);
    const feeds: Feeds = {
      u: [cpuData(u).subarray(0, u.size) as Float32Array, u.shape],
      sigma: [cpuData(sigma).subarray(0, sigma.size) as Float32Array, [u.shape[0]]],
    };
    const { denoised } = steps.forward.run(feeds);
    const d = this.wrap(denoised.data as Float32Array, denoised.dims);
    record(d, [u], (g) => {
      const { gu } = steps.vjp.run({ ...feeds, g: [cpuData(g) as Float32Array, g.shape] });
      return [this.wrap(gu.data as Float32Array, gu.dims)];
    });
    return d;
  }

  #steps(net: EDMPrecond, p: Params): NetworkSteps {
    let steps = this.#networks.get(p);
    if (steps) return steps;
    const options = { provider: this.provider };
    steps = {
      forward: new CompiledStep(
        (b, { u, sigma }) => ({ denoised: net.forward(constants(b, p), u, sigma, EVAL) }),
        options,
      ),
      vjp: new CompiledStep((b, { u, sigma, g }) => {
        const params = constants(b, p);
        const { grads: [gu] } = grad(() => net.forward(params, u, sigma, EVAL), [u], g);
        return { gu };
      }, options),
    };
    this.#networks.set(p, steps);
    return steps;
  }
}

/**
 * Opens the ONNX Runtime backend, checking that the provider loads (CUDA is a separate
 * install: the error says how to get it).
 *
 * @param provider "cpu" or "cuda"
 * @returns the backend
 */
export function openOrtBackend(provider: OrtProvider): OrtBackend {
  const probe = new OnnxBackend();
  probe.output("y", silu(probe.input("x", [1])));
  try {
    openNativeSession(encodeModel(probe.graph.spec()), { provider }).release();
  } catch (e) {
    if (provider !== "cuda") throw e;
    throw new UsageError(
      `--backend onnx-cuda: ONNX Runtime's CUDA provider is not installed ` +
        `(${(e as Error).message.split("\n")[0]}); get it with ${CUDA_INSTALL}`,
    );
  }
  return new OrtBackend(provider);
}

provideOnnxRuntime(openOrtBackend);
