/**
 * A small convolutional denoiser (conv3×3 → GroupNorm → SiLU, ×depth, then conv3×3): the
 * smoke-test network of the demo and the memory soak, trained with one tape per step.
 *
 * @module
 */
import type { Backend } from "../src/core/backend.ts";
import { grad } from "../src/ops/autograd.ts";
import { add, scale, sub } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { sumSquares } from "../src/ops/reduce.ts";
import { Adam } from "../src/optim/adam.ts";
import { keep, tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { Conv2d, GroupNorm } from "../src/nn/layers.ts";
import { type Params, Registry } from "../src/nn/module.ts";

/** Size of the denoiser. */
export interface ConvDenoiserConfig {
  /** Image channels. */
  channels: number;
  /** Hidden width. */
  width: number;
  /** Hidden conv layers. */
  depth: number;
}

/**
 * x̂ = x_noisy + F(x_noisy): a residual conv net trained to remove Gaussian noise.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../src/core/select_backend.ts";
 * import { ConvDenoiser } from "./conv_denoiser.ts";
 * const net = new ConvDenoiser({ channels: 1, width: 8, depth: 2 }, cpuBackend(), 0);
 * ```
 */
export class ConvDenoiser implements Disposable {
  /** Parameter declarations. */
  readonly registry: Registry = new Registry();
  /** Parameters on the backend. */
  readonly params: Params;
  readonly #layers: { conv: Conv2d; norm: GroupNorm | null }[] = [];

  /**
   * Declares the layers and materialises their parameters on `backend`.
   *
   * @param cfg size
   * @param backend where the parameters live
   * @param seed initialisation seed
   */
  constructor(cfg: ConvDenoiserConfig, backend: Backend, seed: number) {
    let c = cfg.channels;
    for (let i = 0; i <= cfg.depth; i++) {
      const last = i === cfg.depth;
      const cout = last ? cfg.channels : cfg.width;
      const init = last
        ? { mode: "xavier_uniform" as const, gain: 0.1 }
        : { mode: "kaiming_uniform" as const };
      this.#layers.push({
        conv: new Conv2d(this.registry, `layer${i}.conv`, c, cout, 3, init),
        norm: last ? null : new GroupNorm(this.registry, `layer${i}.norm`, cout),
      });
      c = cout;
    }
    this.params = this.registry.materialize(backend, seed);
    for (const t of this.params.values()) keep(t);
  }

  /** Denoises x [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const { conv, norm } of this.#layers) {
      h = conv.forward(this.params, h);
      if (norm) h = norm.forward(this.params, h, true);
    }
    return add(x, h);
  }

  /** Frees the parameters. */
  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }

  /** Same as `dispose()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * One training step of denoising at noise level σ: loss = mean ‖D(x + σn) − x‖², backward,
 * Adam (gradient norm clipped by the optimiser). Records GPU work only; returns the loss
 * tensor (one element, kept) for reading back whenever the caller wants.
 *
 * @param net the denoiser
 * @param opt Adam over `net.params` (in registry order)
 * @param x clean batch [N, C, H, W]
 * @param sigma noise level
 * @param lr learning rate
 * @param seed noise seed for this step
 * @returns the loss (caller disposes)
 */
export function denoiserStep(
  net: ConvDenoiser,
  opt: Adam,
  x: Tensor,
  sigma: number,
  lr: number,
  seed: number,
): Tensor {
  return tidy(() => {
    const noisy = add(x, scale(randomNormal(x.backend, x.shape, seed), sigma));
    const params = [...net.params.values()];
    const { value, grads } = grad(
      () => scale(sumSquares(sub(net.forward(noisy), x)), 1 / x.size),
      params,
    );
    opt.step(grads, { lr });
    return value;
  });
}

/** Adam for a ConvDenoiser with the reference hyper-parameters and clipping at 1. */
export function denoiserOptimizer(net: ConvDenoiser): Adam {
  return new Adam([...net.params.values()], { maxGradNorm: 1 });
}
