import assert from "node:assert/strict";
import { ConvDenoiser, denoiserOptimizer, denoiserStep } from "../src/nn/conv_denoiser.ts";
import { grad } from "../src/autograd.ts";
import { silu } from "../src/ops/elementwise.ts";
import { randomNormal } from "../src/ops/random.ts";
import { sumSquares } from "../src/ops/reduce.ts";
import { tidy } from "../src/scope.ts";
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
