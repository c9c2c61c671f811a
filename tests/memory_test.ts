import assert from "node:assert/strict";
import { ConvDenoiser, denoiserOptimizer, denoiserStep } from "../src/nn/conv_denoiser.ts";
import { randomNormal } from "../src/ops/random.ts";
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
