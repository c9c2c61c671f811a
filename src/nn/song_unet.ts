/**
 * EDM's "DDPM++" U-Net (SongUNet) with the standard encoder and decoder, positional noise
 * embedding (endpoint = True, sin/cos halves swapped as in the reference), and parameter
 * names equal to the reference `EDMPrecond(SongUNet)` state_dict.
 *
 * @module
 */
import { add, silu } from "../ops/elementwise.ts";
import { concat, slice } from "../ops/concat.ts";
import { positionalEmbedding } from "../ops/positional_embedding.ts";
import { tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { Conv2d, GroupNorm, type Init, Linear } from "./layers.ts";
import { type Params, Registry } from "./module.ts";
import { type ForwardContext, UNetBlock } from "./unet_block.ts";

/** The network's configuration (EDM's SongUNet arguments, in camelCase). */
export interface SongUNetConfig {
  /** Image side in pixels. */
  imgResolution: number;
  /** Input channels (image channels, plus mask channels for ambient models). */
  inChannels: number;
  /** Output channels. */
  outChannels: number;
  /** Base channel count. */
  modelChannels: number;
  /** Channel multiplier per resolution level. */
  channelMult: number[];
  /** Residual blocks per level. */
  numBlocks: number;
  /** Resolutions with self-attention. */
  attnResolutions: number[];
  /** Dropout probability. */
  dropout: number;
  /** Gated convolutions everywhere (the ambient MRI networks; default false). */
  gated?: boolean;
}

const INIT: Init = { mode: "xavier_uniform" };
const INIT_ZERO: Init = { mode: "xavier_uniform", gain: 1e-5 };

type BlockFlags = { up?: boolean; down?: boolean; attention?: boolean };
type EncLayer = { kind: "conv"; conv: Conv2d } | { kind: "block"; block: UNetBlock };
type DecLayer =
  | { kind: "block"; block: UNetBlock }
  | { kind: "aux"; norm: GroupNorm; conv: Conv2d };

/**
 * The U-Net backbone F(x, c_noise).
 *
 * @example
 * ```ts
 * import { SongUNet } from "./song_unet.ts";
 * const net = new SongUNet({
 *   imgResolution: 32, inChannels: 2, outChannels: 1, modelChannels: 32,
 *   channelMult: [1, 2, 2], numBlocks: 2, attnResolutions: [8], dropout: 0.1,
 * });
 * console.log(net.registry.count());
 * ```
 */
export class SongUNet {
  /** The configuration. */
  readonly config: SongUNetConfig;
  /** Parameter declarations (names as in the reference state_dict). */
  readonly registry: Registry;
  readonly #noiseChannels: number;
  readonly #map0: Linear;
  readonly #map1: Linear;
  readonly #enc: EncLayer[] = [];
  readonly #dec: DecLayer[] = [];

  /**
   * Declares every layer of the network on `reg`; allocates nothing.
   *
   * @param config the configuration
   * @param prefix parameter-name prefix ("model." inside EDMPrecond)
   * @param reg registry to declare on (a new one by default)
   */
  constructor(config: SongUNetConfig, prefix = "model.", reg: Registry = new Registry()) {
    this.config = config;
    this.registry = reg;
    const { modelChannels: mc, channelMult, numBlocks, attnResolutions } = config;
    const emb = mc * 4;
    this.#noiseChannels = mc;
    this.#map0 = new Linear(reg, `${prefix}map_layer0`, mc, emb, INIT);
    this.#map1 = new Linear(reg, `${prefix}map_layer1`, emb, emb, INIT);
    const block = (name: string, cin: number, cout: number, o: BlockFlags = {}) =>
      new UNetBlock(reg, name, {
        cin,
        cout,
        embChannels: emb,
        dropout: config.dropout,
        gated: config.gated,
        ...o,
      });

    // Encoder.
    let cout = config.inChannels;
    const skips: number[] = [];
    channelMult.forEach((mult, level) => {
      const res = config.imgResolution >> level;
      const at = `${prefix}enc.${res}x${res}`;
      if (level === 0) {
        const conv = new Conv2d(reg, `${at}_conv`, cout, mc, 3, INIT, { gated: config.gated });
        cout = mc;
        this.#enc.push({ kind: "conv", conv });
      } else {
        this.#enc.push({ kind: "block", block: block(`${at}_down`, cout, cout, { down: true }) });
      }
      skips.push(cout);
      for (let i = 0; i < numBlocks; i++) {
        const b = block(`${at}_block${i}`, cout, mc * mult, {
          attention: attnResolutions.includes(res),
        });
        cout = mc * mult;
        this.#enc.push({ kind: "block", block: b });
        skips.push(cout);
      }
    });

    // Decoder.
    for (let level = channelMult.length - 1; level >= 0; level--) {
      const res = config.imgResolution >> level;
      const at = `${prefix}dec.${res}x${res}`;
      if (level === channelMult.length - 1) {
        this.#dec.push({
          kind: "block",
          block: block(`${at}_in0`, cout, cout, { attention: true }),
        });
        this.#dec.push({ kind: "block", block: block(`${at}_in1`, cout, cout) });
      } else {
        this.#dec.push({ kind: "block", block: block(`${at}_up`, cout, cout, { up: true }) });
      }
      for (let i = 0; i <= numBlocks; i++) {
        const cin = cout + (skips.pop() as number);
        cout = mc * channelMult[level];
        const attention = i === numBlocks && attnResolutions.includes(res);
        this.#dec.push({
          kind: "block",
          block: block(`${at}_block${i}`, cin, cout, { attention }),
        });
      }
      if (level === 0) {
        this.#dec.push({
          kind: "aux",
          norm: new GroupNorm(reg, `${at}_aux_norm`, cout, 1e-6),
          conv: new Conv2d(reg, `${at}_aux_conv`, cout, config.outChannels, 3, INIT_ZERO, {
            gated: config.gated,
          }),
        });
      }
    }
  }

  /**
   * F(x, c_noise).
   *
   * @param p parameters
   * @param x input [N, inChannels, R, R]
   * @param noiseLabels c_noise per sample [N]
   * @param ctx dropout state
   * @returns [N, outChannels, R, R]
   */
  forward(p: Params, x: Tensor, noiseLabels: Tensor, ctx: ForwardContext): Tensor {
    const n = x.shape[0];
    const half = this.#noiseChannels / 2;
    const pe = positionalEmbedding(noiseLabels, this.#noiseChannels, { endpoint: true });
    // The reference swaps the cos and sin halves (reshape(N, 2, -1).flip(1)).
    let emb = concat([slice(pe, 1, half, half), slice(pe, 1, 0, half)], 1);
    emb = silu(this.#map0.forward(p, emb));
    emb = silu(this.#map1.forward(p, emb));

    const skips: Tensor[] = [];
    let h = x;
    // Each block runs in a tidy: when nothing is recorded (sampling), its temporaries and
    // the decoder's concatenated input are freed at its end.
    const block = (b: UNetBlock, x: Tensor, skip: Tensor | null) =>
      tidy(() => b.forward(p, skip ? concat([x, skip], 1) : x, emb, ctx));
    for (const layer of this.#enc) {
      h = layer.kind === "conv" ? layer.conv.forward(p, h) : block(layer.block, h, null);
      skips.push(h);
    }
    let out: Tensor | null = null;
    for (const layer of this.#dec) {
      if (layer.kind === "aux") {
        const y = layer.conv.forward(p, layer.norm.forward(p, h, true));
        out = out ? add(out, y) : y;
        continue;
      }
      const skip = h.shape[1] !== layer.block.cin ? skips.pop() as Tensor : null;
      h = block(layer.block, h, skip);
    }
    if (!out || out.shape[0] !== n) throw new Error("SongUNet: no output layer");
    return out;
  }
}
