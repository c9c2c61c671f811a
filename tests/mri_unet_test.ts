/**
 * The MRI networks on non-square images (Aali et al. 2024, §4: 384×320 slices): a tiny gated
 * SongUNet with the MRI channel counts (4 in, 2 out) on H ≠ W both ways, attention included,
 * WebGPU against the CPU twin and the f64 input gradient against central differences.
 */
import assert from "node:assert/strict";
import { grad } from "../src/ops/autograd.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { EDMPrecond } from "../src/nn/precond.ts";
import { SongUNet } from "../src/nn/song_unet.ts";
import { sumSquares } from "../src/ops/reduce.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";
import { tinyWeights, toParams } from "./tiny_unet.ts";

const ctx = { training: false, seed: 0, stream: 0 };

for (const [h, w] of [[8, 12], [12, 8]]) {
  Deno.test(`gated SongUNet, 4 → 2 channels, on ${h}×${w}: WebGPU vs CPU, input gradient vs finite differences`, async () => {
    const net = new EDMPrecond(
      new SongUNet({
        imgResolution: h, // the row count decides where attention goes, as in the reference
        inChannels: 4,
        outChannels: 2,
        modelChannels: 8,
        channelMult: [1, 2],
        numBlocks: 1,
        attnResolutions: [h / 2],
        dropout: 0,
        gated: true,
      }),
    );
    const weights = tinyWeights(net.model, 5);
    const xd = new Rng(6).normals(2 * 4 * h * w);
    const run = async (b: Backend) => {
      const params = toParams(weights, net.model, b);
      const x = b.fromArray(xd, [2, 4, h, w]);
      const sigma = b.fromArray([0.4, 3], [2]);
      const out = tidy(() => {
        const y = net.forward(params, x, sigma, ctx);
        assert.deepEqual(y.shape, [2, 2, h, w]);
        return { y, ...grad(() => sumSquares(net.forward(params, x, sigma, ctx)), [x]) };
      });
      const [y, v, g] = await b.readMany([out.y, out.value, out.grads[0]]);
      const loss = (d: Float64Array) =>
        tidy(() => {
          const t = sumSquares(net.forward(params, b.fromArray(d, [2, 4, h, w]), sigma, ctx));
          return (t.storage as { data: Float64Array }).data[0];
        });
      return {
        y,
        v: v[0],
        g,
        loss,
        dispose: () =>
          [...params.values(), x, sigma, out.y, out.value, ...out.grads].forEach((t) =>
            t.dispose()
          ),
      };
    };
    const ref = await run(cpuBackend("f64"));
    const rng = new Rng(7);
    for (let s = 0; s < 12; s++) {
      const i = rng.int(xd.length), e = 1e-5;
      const [p, m] = [xd.slice(), xd.slice()];
      p[i] += e, m[i] -= e;
      const fd = (ref.loss(p) - ref.loss(m)) / (2 * e);
      assertClose([ref.g[i]], [fd], { atol: 1e-6, rtol: 1e-5 }, `d/dx[${i}]`);
    }
    const gpu = await gpuOrSkip();
    if (gpu) {
      const g = await run(gpu);
      assertClose(g.y, ref.y, { atol: 1e-4, rtol: 1e-3 }, "forward (webgpu vs f64)");
      assertClose(g.g, ref.g, { atol: 1e-3, rtol: 1e-3 }, "input gradient (webgpu vs f64)");
      g.dispose();
    }
    ref.dispose();
  });
}
