/**
 * SongUNet configurations and weights shared by the network tests (song_unet, params_io,
 * interop): a tiny configuration with every kind of layer, the paper configurations with their
 * reference parameter counts, and non-trivial weights for every parameter.
 *
 * @module
 */
import type { Backend } from "../src/core/backend.ts";
import type { Params } from "../src/nn/module.ts";
import type { SongUNet, SongUNetConfig } from "../src/nn/song_unet.ts";
import { Rng } from "../src/core/rng.ts";

/** A tiny configuration that still has every kind of layer. */
export const TINY: SongUNetConfig = {
  imgResolution: 8,
  inChannels: 2,
  outChannels: 1,
  modelChannels: 8,
  channelMult: [1, 2],
  numBlocks: 1,
  attnResolutions: [4],
  dropout: 0,
};

/** The papers' configurations: name, config, parameter count of the reference implementation. */
export const PAPER: [string, SongUNetConfig, number][] = [
  ["EDM FFHQ/AFHQ-64", {
    imgResolution: 64,
    inChannels: 3,
    outChannels: 3,
    modelChannels: 128,
    channelMult: [1, 2, 2, 2],
    numBlocks: 4,
    attnResolutions: [16],
    dropout: 0.1,
  }, 61_804_419],
  ["ambient MRI 384, not gated, 2 channels", {
    imgResolution: 384,
    inChannels: 2,
    outChannels: 2,
    modelChannels: 128,
    channelMult: [1, 1, 1, 1],
    numBlocks: 4,
    attnResolutions: [16],
    dropout: 0.1,
  }, 20_010_370],
  ["ambient MRI 384, gated, 4 channels", {
    imgResolution: 384,
    inChannels: 4,
    outChannels: 4,
    modelChannels: 128,
    channelMult: [1, 1, 1, 1],
    numBlocks: 4,
    attnResolutions: [16],
    dropout: 0.1,
    gated: true,
  }, 36_768_644],
];

/**
 * Non-trivial values for every parameter, in registry order: normals (biases 0.1, the rest 0.3),
 * norm weights around 1, so zero-initialised layers and norms carry signal and gradient.
 *
 * @param net the network whose parameters to fill
 * @param seed seed of the normals
 * @returns values by parameter name
 */
export function tinyWeights(net: SongUNet, seed: number): Map<string, Float64Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float64Array>();
  for (const s of net.registry.specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = rng.normals(n, s.name.endsWith("bias") ? 0.1 : 0.3);
    if (s.name.includes("norm") && s.name.endsWith("weight")) {
      for (let i = 0; i < n; i++) v[i] += 1;
    }
    out.set(s.name, v);
  }
  return out;
}

/**
 * Tensors on `b` holding `values`, shaped by the registry.
 *
 * @param values values by parameter name (every parameter of `net`)
 * @param net the network the values belong to
 * @param b the backend to create the tensors on
 * @returns the parameters, in registry order
 */
export function toParams(
  values: Map<string, ArrayLike<number>>,
  net: SongUNet,
  b: Backend,
): Params {
  return new Map(
    net.registry.specs.map((s) => [s.name, b.fromArray(values.get(s.name)!, s.shape)]),
  );
}
