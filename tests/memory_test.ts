import assert from "node:assert/strict";
import { ConvDenoiser, denoiserOptimizer, denoiserStep } from "../bench/conv_denoiser.ts";
import { grad } from "../src/ops/autograd.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { EDMPrecond } from "../src/nn/precond.ts";
import { SongUNet } from "../src/nn/song_unet.ts";
import { mul, silu } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { sum, sumSquares } from "../src/ops/reduce.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { TINY, tinyWeights, toParams } from "./tiny_unet.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

Deno.test({
  name: "training steps hold GPU memory flat (live and pooled bytes)",
  ignore: !hasGpu,
  async fn() {
    const backend = (await gpuOrSkip())!;
    backend.poison = false;
    const engine = backend.engine;
    using net = new ConvDenoiser({ channels: 1, width: 8, depth: 2 }, backend, 0);
    using opt = denoiserOptimizer(net);
    using x = randomNormal(backend, [4, 1, 12, 12], 1);
    const seen: [number, number][] = [];
    for (let step = 1; step <= 40; step++) {
      using loss = denoiserStep(net, opt, x, 0.5, 1e-3, step);
      if (step % 10 === 0) {
        assert.ok(Number.isFinite((await loss.toArray())[0]));
        seen.push([engine.liveBytes, engine.pooledBytes]);
      }
    }
    // After the first window the pool has every size class it needs: nothing may grow.
    for (const s of seen.slice(1)) {
      assert.deepEqual(s, seen[0], `memory grew: ${JSON.stringify(seen)}`);
    }
  },
});

Deno.test({
  name: "backward frees each op's output gradient and temporaries once its node has run",
  ignore: !hasGpu,
  async fn() {
    const backend = (await gpuOrSkip())!;
    const engine = backend.engine;
    const n = 64 * 64; // 16 KiB a tensor: one pool size class exactly
    const bytes = 4 * n;
    const depth = 20;
    using x = randomNormal(backend, [64, 64], 3);
    await backend.sync();
    const base = engine.liveBytes;
    engine.peakLiveBytes = base;
    const g = tidy(() => {
      const { grads } = grad(() => {
        let y = x;
        for (let i = 0; i < depth; i++) y = silu(y);
        return sumSquares(y);
      }, [x]);
      return grads[0];
    });
    // The forward keeps its 20 activations; keeping every gradient as well would need ~40.
    const peak = (engine.peakLiveBytes - base) / bytes;
    assert.ok(peak <= depth + 4, `peak ${peak.toFixed(1)} tensors of 16 KiB (depth ${depth})`);
    assert.ok(Number.isFinite((await g.toArray())[0]));
    g.dispose();
  },
});

Deno.test("tidy inside grad's function keeps its tensors: the tape's backward still needs them", async () => {
  const b = cpuBackend("f64");
  const x = b.fromArray([1, 2, 3], [3]);
  let inner: Tensor | null = null;
  const { grads } = grad(() =>
    tidy(() => {
      inner = mul(x, x); // not returned: outside grad it would be freed here
      return sum(mul(inner, x));
    }), [x]);
  assert.equal(inner!.disposed, false);
  assert.deepEqual(Array.from(await grads[0].toArray()), [3, 12, 27]); // d(Σx³)/dx = 3x²
});

Deno.test({
  name: "a U-Net forward with no tape frees each block's temporaries (peak < ½ of a taped one)",
  ignore: !hasGpu,
  async fn() {
    const backend = (await gpuOrSkip())!;
    const engine = backend.engine;
    const net = new EDMPrecond(new SongUNet({ ...TINY, imgResolution: 16 }));
    const params = toParams(tinyWeights(net.model, 9), net.model, backend);
    using x = randomNormal(backend, [8, 2, 16, 16], 4);
    using sigma = backend.full([8], 0.5);
    const ctx = { training: false, seed: 0, stream: 0 };
    const peakOf = async (f: () => void) => {
      await backend.sync();
      const base = engine.liveBytes;
      engine.peakLiveBytes = base;
      tidy(f);
      await backend.sync();
      return engine.peakLiveBytes - base;
    };
    const plain = await peakOf(() => void net.forward(params, x, sigma, ctx));
    const taped = await peakOf(() => void grad(() => sum(net.forward(params, x, sigma, ctx)), [x]));
    assert.ok(plain < 0.5 * taped, `peak without tape ${plain} B, with ${taped} B`);
    for (const t of Object.values(params)) t.dispose();
  },
});
