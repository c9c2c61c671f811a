/**
 * EDM's basic layers (networks.py): Linear, Conv2d with optional [1,1] up/down resampling,
 * and GroupNorm with EDM's group rule. Each declares its parameters on a Registry and
 * applies itself given the Params.
 *
 * @module
 */
import { conv2d } from "../ops/conv2d.ts";
import { add, mul, sigmoid } from "../ops/elementwise.ts";
import { groupNorm } from "../ops/group_norm.ts";
import { linear } from "../ops/linear.ts";
import { downsample2x, upsample2x } from "../ops/resample.ts";
import type { Tensor } from "../core/tensor.ts";
import type { InitMode } from "./init.ts";
import { param, type Params, type Registry } from "./module.ts";
import { reshape } from "../ops/reshape.ts";

/** EDM init keyword arguments. */
export interface Init {
  /** Weight init mode. */
  mode: InitMode;
  /** EDM init_weight. */
  gain?: number;
}

/** A fully connected layer: y = x·Wᵀ + b, W [out, in]. */
export class Linear {
  readonly #w: string;
  readonly #b: string;

  /**
   * Declares the weight and bias on `reg`.
   *
   * @param reg where parameters are declared
   * @param name prefix, e.g. "model.map_layer0"
   * @param inF input features
   * @param outF output features
   * @param init EDM init
   */
  constructor(reg: Registry, name: string, inF: number, outF: number, init: Init) {
    const w = { mode: init.mode, gain: init.gain, fanIn: inF, fanOut: outF };
    this.#w = reg.declare(`${name}.weight`, [outF, inF], w);
    this.#b = reg.declare(`${name}.bias`, [outF], { mode: "zeros" });
  }

  /** Applies the layer to x [N, in]. */
  forward(p: Params, x: Tensor): Tensor {
    return linear(x, param(p, this.#w), param(p, this.#b));
  }
}

/** Options of EDM's Conv2d. */
export interface ConvOptions {
  /** Nearest 2× up-sampling before the convolution (EDM's [1,1] transposed filter). */
  up?: boolean;
  /** 2×2 average down-sampling before the convolution. */
  down?: boolean;
  /**
   * Gated convolution (the ambient MRI networks): conv_w(x) ⊙ σ(σ(conv_g(x))) + b, with the
   * double sigmoid of the reference code; adds a gate weight of the weight's shape.
   */
  gated?: boolean;
}

/** EDM's Conv2d: optional resampling, then a k×k "same" convolution (k = 0: none) + bias. */
export class Conv2d {
  readonly #w: string | null;
  readonly #b: string | null;
  readonly #g: string | null = null;
  readonly #opts: ConvOptions;

  /**
   * Declares the weight and bias on `reg` (none when `kernel` is 0).
   *
   * @param reg where parameters are declared
   * @param name prefix, e.g. "model.enc.32x32_conv"
   * @param cin input channels
   * @param cout output channels
   * @param kernel 1, 3, or 0 for resampling only
   * @param init EDM init
   * @param opts up/down resampling
   */
  constructor(
    reg: Registry,
    name: string,
    cin: number,
    cout: number,
    kernel: number,
    init: Init,
    opts: ConvOptions = {},
  ) {
    this.#opts = opts;
    if (kernel === 0) {
      this.#w = this.#b = null;
      return;
    }
    const fan = {
      mode: init.mode,
      gain: init.gain,
      fanIn: cin * kernel ** 2,
      fanOut: cout * kernel ** 2,
    };
    this.#w = reg.declare(`${name}.weight`, [cout, cin, kernel, kernel], fan);
    this.#b = reg.declare(`${name}.bias`, [cout], { mode: "zeros" });
    if (opts.gated) this.#g = reg.declare(`${name}.gate_weight`, [cout, cin, kernel, kernel], fan);
  }

  /**
   * Applies the layer to x [N, C, H, W]; `shift` [N, Cout] is added per image with the bias
   * (EDM's x + affine(emb), fused into the convolution's bias).
   */
  forward(p: Params, x: Tensor, shift: Tensor | null = null): Tensor {
    let h = x;
    if (this.#opts.up) h = upsample2x(h);
    if (this.#opts.down) h = downsample2x(h);
    if (this.#w === null || this.#b === null) {
      if (shift) throw new Error("Conv2d: a shift needs a convolution (kernel > 0)");
      return h;
    }
    const b = param(p, this.#b);
    const bias = shift ? add(shift, reshape(b, [1, -1])) : b;
    if (this.#g === null) return conv2d(h, param(p, this.#w), bias);
    const gate = sigmoid(sigmoid(conv2d(h, param(p, this.#g))));
    return add(mul(conv2d(h, param(p, this.#w)), gate), reshape(bias, [-1, b.size, 1, 1]));
  }
}

/** EDM's GroupNorm: min(32, C/4) groups, learned per-channel scale and shift. */
export class GroupNorm {
  readonly #w: string;
  readonly #b: string;
  readonly #groups: number;
  readonly #eps: number;

  /**
   * Declares the per-channel scale (ones) and shift (zeros) on `reg`.
   *
   * @param reg where parameters are declared
   * @param name prefix
   * @param channels channels
   * @param eps variance epsilon (EDM blocks use 1e-6)
   */
  constructor(reg: Registry, name: string, channels: number, eps = 1e-5) {
    this.#groups = Math.min(32, Math.floor(channels / 4));
    this.#eps = eps;
    this.#w = reg.declare(`${name}.weight`, [channels], { mode: "ones" });
    this.#b = reg.declare(`${name}.bias`, [channels], { mode: "zeros" });
  }

  /**
   * Normalises x [N, C, H, W].
   *
   * @param p parameters
   * @param x input
   * @param silu apply SiLU to the result in the same kernel (every EDM norm but attention's)
   * @returns the normalised x, the shape of x
   */
  forward(p: Params, x: Tensor, silu = false): Tensor {
    const [w, b] = [param(p, this.#w), param(p, this.#b)];
    return groupNorm(x, this.#groups, w, b, { eps: this.#eps, silu });
  }
}
