/**
 * A training step's random consumers read different streams (src/ambient/streams.ts). The
 * loss is run with a stand-in network that records what it was given: from its input and σ
 * the test recovers the normals σ and n were drawn from, then checks that the streams the
 * network's dropout layers would read (from the context train.ts builds) give other numbers.
 * Before each consumer had its own stream, dropout layer 0 read σ's stream and layer 1 the
 * noise's, and this test fails on exactly that.
 */
import assert from "node:assert/strict";
import { ambientLoss, edmLoss, P_MEAN, P_STD } from "../src/ambient/loss.ts";
import { furtherCorrupt, inferenceMasks } from "../src/ambient/masks.ts";
import { NOISE_STREAM, SIGMA_STREAM, trainingContext } from "../src/ambient/streams.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import type { Params } from "../src/nn/module.ts";
import type { EDMPrecond } from "../src/nn/precond.ts";
import type { ForwardContext } from "../src/nn/unet_block.ts";
import { slice } from "../src/ops/concat.ts";
import { randomNormal } from "../src/ops/random.ts";
import type { Tensor } from "../src/core/tensor.ts";

/** A network stand-in that returns its image channels and records its inputs. */
function recorder(channels: number) {
  const seen: { u?: Tensor; sigma?: Tensor; stream?: number } = {};
  const net = {
    forward(_p: Params, u: Tensor, sigma: Tensor, ctx: ForwardContext): Tensor {
      Object.assign(seen, { u, sigma, stream: ctx.stream });
      return slice(u, 1, 0, channels);
    },
  } as unknown as EDMPrecond;
  return { net, seen };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

Deno.test("training streams: σ, n and every dropout layer read different streams (ambient and EDM loss)", async () => {
  const b = cpuBackend("f64");
  const shape = [6, 2, 4, 5];
  const [n, c] = shape;
  const seed = 987_654;
  for (const kind of ["ambient", "edm"] as const) {
    const { net, seen } = recorder(c);
    const x = b.full(shape, 0);
    const ctx = trainingContext(seed);
    const firstDropout = ctx.stream;
    if (kind === "ambient") {
      // p = δ = 0: every pixel seen, so the input's image channels are σ·n exactly.
      const masks = furtherCorrupt(b, [0, 1, 2, 3, 4, 5], 4, 5, { p: 0, delta: 0 }, 1);
      ambientLoss(net, new Map(), x, masks, seed, ctx);
    } else {
      edmLoss(net, new Map(), x, seed, ctx);
    }
    const sigma = await seen.sigma!.toArray();
    const u = await slice(seen.u!, 1, 0, c).toArray();
    const z = Array.from(sigma, (s) => (Math.log(s) - P_MEAN) / P_STD);
    const noise = Array.from(u, (v, i) => v / sigma[Math.floor(i / (u.length / n))]);
    // The recovery is right: σ's and n's own streams reproduce them.
    assert.ok(maxDiff(await randomNormal(b, [n], seed, SIGMA_STREAM).toArray(), z) < 1e-9);
    assert.ok(maxDiff(await randomNormal(b, shape, seed, NOISE_STREAM).toArray(), noise) < 1e-9);
    assert.equal(seen.stream, firstDropout, `${kind}: the network got train.ts's context`);
    for (let k = 0; k < 64; k++) {
      const s = firstDropout + k;
      const asSigma = await randomNormal(b, [n], seed, s).toArray();
      const asNoise = await randomNormal(b, shape, seed, s).toArray();
      assert.ok(maxDiff(asSigma, z) > 0.1, `${kind}: dropout layer ${k} reads σ's stream`);
      assert.ok(maxDiff(asNoise, noise) > 0.1, `${kind}: dropout layer ${k} reads the noise's`);
    }
    // Masks use streams 2i and 2i + 1 < 2³¹ under their own seed: clear of all three.
    assert.ok(firstDropout >= 2 ** 31 && SIGMA_STREAM >= 2 ** 31 && NOISE_STREAM >= 2 ** 31);
  }
});

Deno.test("inferenceMasks: one M̃ per image, seeded by the image, Bernoulli((1 − p)(1 − δ))", async () => {
  const b = cpuBackend();
  const c = { p: 0.6, delta: 0.1 };
  const a = await inferenceMasks(b, [0, 1, 2], 16, 16, c, 5).toArray();
  const again = await inferenceMasks(b, [2, 7], 16, 16, c, 5).toArray();
  const hw = 256;
  // Image 2's mask is the same whichever batch it is in; images differ from each other.
  assert.deepEqual(again.slice(0, hw), a.slice(2 * hw, 3 * hw));
  assert.notDeepEqual(a.slice(0, hw), a.slice(hw, 2 * hw));
  const big = await inferenceMasks(b, Array.from({ length: 64 }, (_, i) => i), 16, 16, c, 9)
    .toArray();
  const kept = Array.from(big).reduce((s, v) => s + v, 0) / big.length;
  const want = 0.4 * 0.9;
  assert.ok(Math.abs(kept - want) < 5 * Math.sqrt(want * (1 - want) / big.length), `${kept}`);
  assert.throws(() => inferenceMasks(b, [-1], 4, 4, c, 0), /image index/);
});
