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
import { tidy } from "../core/scope.ts";
import { OnnxBackend } from "./backend.ts";
import { CompiledStep } from "./compiled_step.ts";
import { weightConstants } from "./export.ts";
import { silu } from "../ops/elementwise.ts";
import { type Feeds, openNativeSession, type OrtProvider } from "./runtime.ts";
import type { CpuStorage } from "../core/backend.ts";
import type { TrainState } from "../train/checkpoint.ts";
import type { TrainConfig } from "../train/config.ts";
import {
  type LossBatch,
  type StepBatch,
  stepSeed,
  trainStep,
  type TrainStepRunner,
} from "../train/train.ts";
import { GraphCache } from "./graph_cache.ts";
import { fillRandomInputs } from "./random_inputs.ts";
import { trainStepScalars } from "./step_scalars.ts";
import { outputTrainState, STATE_PARTS, traceTrainState } from "./train_state.ts";
import { encodeModel } from "./proto.ts";

/** How to get the CUDA provider, which onnxruntime-node downloads only when asked at install. */
export const CUDA_INSTALL: string =
  "ONNXRUNTIME_NODE_INSTALL=cuda12 deno install --allow-scripts=npm:onnxruntime-node with " +
  '"nodeModulesDir": "auto" in deno.json (npm: npm install onnxruntime-node ' +
  "--onnxruntime-node-install=cuda12); it needs CUDA 12 and cuDNN 9";

/** A tensor of this (f32) backend as the Float32Array ONNX Runtime reads, without a copy. */
function f32(t: Tensor): Float32Array {
  return (cpuData(t) as Float32Array).subarray(0, t.size);
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
export class OrtBackend extends CpuBackend implements NetworkRunner, TrainStepRunner {
  /** The execution provider. */
  readonly provider: OrtProvider;
  readonly #networks = new WeakMap<Params, NetworkSteps>();
  #training?: GraphCache;

  /**
   * A backend on one execution provider (`openOrtBackend` checks that it loads).
   *
   * @param provider "cpu" (default) or "cuda"
   */
  constructor(provider: OrtProvider = "cpu") {
    super("f32");
    this.provider = provider;
  }

  /** Sessions compiled for training steps so far (one per network and batch shape). */
  get trainingCompiles(): number {
    return this.#training?.compiles ?? 0;
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
      u: [f32(u), u.shape],
      sigma: [f32(sigma), [u.shape[0]]],
    };
    const { denoised } = steps.forward.run(feeds);
    const d = this.wrap(denoised.data, denoised.dims);
    record(d, [u], (g) => {
      const { gu } = steps.vjp.run({ ...feeds, g: [f32(g), g.shape] });
      return [this.wrap(gu.data, gu.dims)];
    });
    return d;
  }

  /**
   * One training step (`trainStep` of src/train/train.ts, unchanged) traced with the weights,
   * EMA weights and Adam moments as graph inputs and their updates as outputs, σ, noise and
   * dropout masks filled from the package's Philox streams for the step's seed, and run as one
   * session (src/onnx/graph_cache.ts: the same session every step). The state stays CPU
   * tensors: each one takes the array ONNX Runtime returned (no copy), so checkpoints, resume
   * and the other backends read it as ever.
   *
   * @param net the network
   * @param state weights, EMA and Adam on this backend (updated)
   * @param config the experiment
   * @param batch the step's images (k-space batches are not compiled yet)
   * @param step the step number (from 1)
   * @returns the loss terms
   */
  runTrainStep(
    net: EDMPrecond,
    state: TrainState,
    config: TrainConfig,
    batch: StepBatch | LossBatch,
    step: number,
  ): Tensor {
    if (!("images" in batch)) {
      throw new UsageError(
        "training on ONNX Runtime takes image batches; k-space (MRI) training runs on " +
          "--backend webgpu or cpu",
      );
    }
    const trace = (data: StepBatch) => {
      const b = new OnnxBackend();
      tidy(() => {
        const traced = traceTrainState(b, net, config.gradClip, step);
        b.output("terms", trainStep(net, traced, config, data, step));
        outputTrainState(b, traced);
      });
      return b;
    };
    const b = trace(batch);
    // Other images and indices (so other masks): the constants that differ are the batch's.
    const probe = () =>
      trace({
        ...batch,
        images: batch.images.map((v) => -v),
        indices: batch.indices.map((i) => i + 1),
      })
        .graph.spec();
    const names = [...state.params.keys()];
    const parts = {
      p: [...state.params.values()],
      ema: names.map((k) => state.ema.get(k)!),
      m: state.adam.m,
      v: state.adam.v,
    };
    const feeds: Feeds = {
      ...fillRandomInputs(b.randomInputs, stepSeed(config, step)),
      ...trainStepScalars(config, step),
    };
    for (const part of STATE_PARTS) {
      parts[part].forEach((t, i) => void (feeds[`${part}.${names[i]}`] = [f32(t), t.shape]));
    }
    this.#training ??= new GraphCache({ provider: this.provider });
    const out = this.#training.run(b.graph.spec(), feeds, probe);
    for (const part of STATE_PARTS) {
      parts[part].forEach((t, i) => {
        (t.storage as CpuStorage).data = out[`new_${part}.${names[i]}`].data;
      });
    }
    state.adam.t++;
    // The compiled networks of these weights hold the old values as constants.
    for (const p of [state.params, state.ema]) {
      const stale = this.#networks.get(p);
      stale?.forward.release();
      stale?.vjp.release();
      this.#networks.delete(p);
    }
    return this.wrap(out.terms.data, out.terms.dims);
  }

  #steps(net: EDMPrecond, p: Params): NetworkSteps {
    let steps = this.#networks.get(p);
    if (steps) return steps;
    const options = { provider: this.provider };
    steps = {
      forward: new CompiledStep(
        (b, { u, sigma }) => ({ denoised: net.forward(weightConstants(b, p), u, sigma, EVAL) }),
        options,
      ),
      vjp: new CompiledStep((b, { u, sigma, g }) => {
        const params = weightConstants(b, p);
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
