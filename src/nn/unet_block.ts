/**
 * EDM's UNetBlock as SongUNet configures it (adaptive_scale = False, one attention head,
 * skip scale 1/√2, eps 1e-6): GroupNorm → SiLU → conv3×3, plus the noise embedding's
 * affine shift, GroupNorm → SiLU → dropout → conv3×3 (zero-initialised), residual, and an
 * optional self-attention layer.
 *
 * @module
 */
import { dropout } from "../ops/dropout.ts";
import { addScaled } from "../ops/elementwise.ts";
import { multiHeadAttention } from "../ops/attention.ts";
import type { Tensor } from "../core/tensor.ts";
import { Conv2d, GroupNorm, type Init, Linear } from "./layers.ts";
import type { Params, Registry } from "./module.ts";

/** Per-call state of a forward pass: dropout is on while training, seeded per call. */
export interface ForwardContext {
  /** Dropout active. */
  training: boolean;
  /** Dropout seed for this forward pass (e.g. derived from the step). */
  seed: number;
  /** Counter that gives each dropout call its own random stream. */
  stream: number;
  /**
   * Index of this call's first image in the step's whole batch (default 0): a round of
   * gradient accumulation draws that batch's dropout masks and noise, not a batch of its own.
   */
  first?: number;
}

/** The block's hyper-parameters. */
export interface UNetBlockConfig {
  /** Input channels. */
  cin: number;
  /** Output channels. */
  cout: number;
  /** Width of the noise embedding. */
  embChannels: number;
  /** 2× nearest up-sampling at the start. */
  up?: boolean;
  /** 2×2 average down-sampling at the start. */
  down?: boolean;
  /** Self-attention after the residual. */
  attention?: boolean;
  /** Dropout probability. */
  dropout: number;
  /** Gated convolutions everywhere (the ambient MRI networks). */
  gated?: boolean;
}

const INIT: Init = { mode: "xavier_uniform" };
const INIT_ZERO: Init = { mode: "xavier_uniform", gain: 1e-5 };
const INIT_ATTN: Init = { mode: "xavier_uniform", gain: Math.sqrt(0.2) };
const SKIP_SCALE = Math.SQRT1_2;
const EPS = 1e-6;

/** One residual block of the U-Net. */
export class UNetBlock {
  /** Input channels (the decoder concatenates skips until x has this many). */
  readonly cin: number;
  /** Output channels. */
  readonly cout: number;
  readonly #cfg: UNetBlockConfig;
  readonly #norm0: GroupNorm;
  readonly #conv0: Conv2d;
  readonly #affine: Linear;
  readonly #norm1: GroupNorm;
  readonly #conv1: Conv2d;
  readonly #skip: Conv2d | null;
  readonly #attn: { norm2: GroupNorm; qkv: Conv2d; proj: Conv2d } | null;

  /**
   * Declares the block's layers on `reg`.
   *
   * @param reg where parameters are declared
   * @param name prefix, e.g. "model.enc.32x32_block0"
   * @param cfg hyper-parameters
   */
  constructor(reg: Registry, name: string, cfg: UNetBlockConfig) {
    const { cin, cout, up, down, gated } = cfg;
    this.cin = cin;
    this.cout = cout;
    this.#cfg = cfg;
    this.#norm0 = new GroupNorm(reg, `${name}.norm0`, cin, EPS);
    this.#conv0 = new Conv2d(reg, `${name}.conv0`, cin, cout, 3, INIT, { up, down, gated });
    this.#affine = new Linear(reg, `${name}.affine`, cfg.embChannels, cout, INIT);
    this.#norm1 = new GroupNorm(reg, `${name}.norm1`, cout, EPS);
    this.#conv1 = new Conv2d(reg, `${name}.conv1`, cout, cout, 3, INIT_ZERO, { gated });
    // EDM: a 1×1 projection whenever channels change or the block resamples (resample_proj).
    this.#skip = cout !== cin || up || down
      ? new Conv2d(reg, `${name}.skip`, cin, cout, 1, INIT, { up, down, gated })
      : null;
    this.#attn = cfg.attention
      ? {
        norm2: new GroupNorm(reg, `${name}.norm2`, cout, EPS),
        qkv: new Conv2d(reg, `${name}.qkv`, cout, cout * 3, 1, INIT_ATTN, { gated }),
        proj: new Conv2d(reg, `${name}.proj`, cout, cout, 1, INIT_ZERO, { gated }),
      }
      : null;
  }

  /**
   * Applies the block.
   *
   * @param p parameters
   * @param x input [N, cin, H, W]
   * @param emb noise embedding [N, embChannels]
   * @param ctx dropout state
   * @returns [N, cout, H', W']
   */
  forward(p: Params, x: Tensor, emb: Tensor, ctx: ForwardContext): Tensor {
    const orig = x;
    const shift = this.#affine.forward(p, emb);
    let h = this.#conv0.forward(p, this.#norm0.forward(p, x, true), shift);
    h = this.#norm1.forward(p, h, true);
    if (ctx.training && this.#cfg.dropout > 0) {
      const perImage = h.size / h.shape[0];
      h = dropout(h, this.#cfg.dropout, ctx.seed, ctx.stream++, (ctx.first ?? 0) * perImage);
    }
    h = this.#conv1.forward(p, h);
    h = addScaled(h, this.#skip ? this.#skip.forward(p, orig) : orig, SKIP_SCALE);
    if (this.#attn) {
      const { norm2, qkv, proj } = this.#attn;
      const a = multiHeadAttention(qkv.forward(p, norm2.forward(p, h)), 1);
      h = addScaled(proj.forward(p, a), h, SKIP_SCALE);
    }
    return h;
  }
}
