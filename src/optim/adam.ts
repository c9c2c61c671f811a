/**
 * Adam (Kingma & Ba 2015) with torch.optim.Adam's bias correction, updated in place on the
 * device: `adamUpdate` for one tensor, `adamUpdateMany` for many, and `Adam`, which keeps
 * the moments of a parameter
 * list and applies optional global-norm clipping without reading anything back.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { adamGpu, type AdamScalars } from "../../gpu/kernels/adam.ts";
import { adamCpu } from "../cpu/adam.ts";
import { cpuData } from "../cpu/backend.ts";
import { adamOnnx } from "../onnx/lower_optim.ts";
import { onBackend } from "../ops/dispatch.ts";
import { keep } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { clipScale } from "./clip.ts";

/** Options of one Adam step. */
export interface AdamStepOptions {
  /** Learning rate. */
  lr: number;
  /** β₁ (default 0.9). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** ε (default 1e-8). */
  eps?: number;
  /** The step number t ≥ 1 (bias correction 1 − βᵗ). */
  step: number;
  /** A one-element tensor multiplying the gradient (e.g. from clipScale). */
  gradScale?: Tensor;
}

/**
 * The scalars of Adam step `step`: the bias corrections folded into the step size and the
 * second moment's scale.
 *
 * @param opts lr, betas, eps, step
 * @returns stepSize = lr/(1 − β₁ᵗ), invBc2Sqrt = 1/√(1 − β₂ᵗ), and the betas and eps
 * @example
 * ```ts
 * import { adamScalars } from "./adam.ts";
 * const s = adamScalars({ lr: 1e-3, step: 1 }); // stepSize 1e-2: 1 − β₁ = 0.1 at step 1
 * ```
 */
export function adamScalars(opts: Omit<AdamStepOptions, "gradScale">): AdamScalars {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, step } = opts;
  return {
    stepSize: lr / (1 - beta1 ** step),
    beta1,
    beta2,
    invBc2Sqrt: 1 / Math.sqrt(1 - beta2 ** step),
    eps,
  };
}

/** One parameter's tensors for an Adam step. */
export interface AdamItem {
  /** Parameter (updated in place). */
  param: Tensor;
  /** Its gradient (same size). */
  grad: Tensor;
  /** First-moment state (updated in place). */
  m: Tensor;
  /** Second-moment state (updated in place). */
  v: Tensor;
}

/**
 * One Adam step in place, as torch.optim.Adam (no weight decay, no amsgrad):
 * m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε),
 * with g = grad · gradScale[0] when a scale is given.
 *
 * @param param parameter (updated in place)
 * @param grad its gradient (same size)
 * @param m first-moment state (updated in place)
 * @param v second-moment state (updated in place)
 * @param opts lr, betas, eps, step, optional gradScale
 */
export function adamUpdate(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  opts: AdamStepOptions,
): void {
  adamUpdateMany([{ param, grad, m, v }], opts);
}

/**
 * `adamUpdate` of many parameters with the same step options: on WebGPU a few dispatches for
 * all of them instead of one each.
 *
 * @param items each parameter with its gradient and moments
 * @param opts lr, betas, eps, step, optional gradScale
 */
export function adamUpdateMany(items: readonly AdamItem[], opts: AdamStepOptions): void {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, step, gradScale } = opts;
  for (const { param, grad, m, v } of items) {
    for (const [t, what] of [[grad, "grad"], [m, "m"], [v, "v"]] as const) {
      if (t.size !== param.size) {
        throw new Error(`adamUpdate: ${what} [${t.shape}] does not match param [${param.shape}]`);
      }
    }
  }
  if (gradScale && gradScale.size !== 1) {
    throw new Error(`adamUpdate: gradScale must have one element, got [${gradScale.shape}]`);
  }
  if (!Number.isInteger(step) || step < 1) {
    throw new Error(`adamUpdate: step must be an integer ≥ 1, got ${step}`);
  }
  if (items.length === 0) return;
  const s = adamScalars({ lr, beta1, beta2, eps, step });
  onBackend(
    "adamUpdate",
    [...items.flatMap((t) => [t.param, t.grad, t.m, t.v]), gradScale],
    {
      cpu: () => {
        const scale = gradScale ? cpuData(gradScale)[0] : 1;
        for (const { param, grad, m, v } of items) {
          adamCpu(cpuData(param), cpuData(grad), cpuData(m), cpuData(v), param.size, s, scale);
        }
      },
      webgpu: (b) => {
        const bufs = items.filter((t) => t.param.size > 0).map((t) => ({
          param: gpuBuffer(t.param),
          grad: gpuBuffer(t.grad),
          m: gpuBuffer(t.m),
          v: gpuBuffer(t.v),
          n: t.param.size,
        }));
        adamGpu(b.engine, bufs, s, gradScale && gpuBuffer(gradScale));
      },
      // A graph updates nothing in place: the tensors are reassigned to the new values.
      onnx: (b) => items.forEach((item) => adamOnnx(b, item, s, gradScale)),
    },
  );
}

/** Hyper-parameters of an Adam optimiser. */
export interface AdamOptions {
  /** β₁ (default 0.9). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** ε (default 1e-8). */
  eps?: number;
  /** Clip the global gradient norm to this value before each step (default: no clipping). */
  maxGradNorm?: number;
}

/**
 * Adam over a list of parameters: holds m and v (zeros at first) and the step count.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { Adam } from "./adam.ts";
 * const b = cpuBackend();
 * const w = b.full([4], 1);
 * const opt = new Adam([w], { maxGradNorm: 1 });
 * opt.step([b.full([4], 0.5)], { lr: 1e-3 }); // w moves by ≈ −lr
 * ```
 */
export class Adam implements Disposable {
  /** The parameters, updated in place by `step`. */
  readonly params: readonly Tensor[];
  /** First moments, one per parameter. */
  readonly m: readonly Tensor[];
  /** Second moments, one per parameter. */
  readonly v: readonly Tensor[];
  /** Steps taken so far (set it when restoring m and v from a checkpoint). */
  t = 0;
  readonly #opts: Required<Omit<AdamOptions, "maxGradNorm">> & { maxGradNorm?: number };

  /**
   * Creates an optimiser with zeroed first and second moments.
   *
   * @param params the parameters to optimise
   * @param opts betas, eps, optional maxGradNorm
   */
  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    this.params = [...params];
    // keep(): the state outlives any tidy() the optimiser happens to be built in.
    this.m = params.map((p) => keep(p.backend.full(p.shape, 0)));
    this.v = params.map((p) => keep(p.backend.full(p.shape, 0)));
    this.#opts = {
      beta1: opts.beta1 ?? 0.9,
      beta2: opts.beta2 ?? 0.999,
      eps: opts.eps ?? 1e-8,
      maxGradNorm: opts.maxGradNorm,
    };
  }

  /**
   * One step: clips the gradients jointly (if maxGradNorm is set), then updates every
   * parameter in place. Records GPU work only; nothing is awaited.
   *
   * @param grads one gradient per parameter, in order
   * @param opts.lr the learning rate of this step
   */
  step(grads: readonly Tensor[], opts: { lr: number }): void {
    if (grads.length !== this.params.length) {
      throw new Error(`Adam.step: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    this.t++;
    const { maxGradNorm, ...hyper } = this.#opts;
    const gradScale = maxGradNorm !== undefined ? clipScale(grads, maxGradNorm) : undefined;
    try {
      const items = this.params.map((param, i) => ({
        param,
        grad: grads[i],
        m: this.m[i],
        v: this.v[i],
      }));
      adamUpdateMany(items, { ...hyper, lr: opts.lr, step: this.t, gradScale });
    } finally {
      gradScale?.dispose();
    }
  }

  /** Frees m and v. */
  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
