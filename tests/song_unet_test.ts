import assert from "node:assert/strict";
import { grad } from "../src/ops/autograd.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { EDMPrecond } from "../src/nn/precond.ts";
import { SongUNet, type SongUNetConfig } from "../src/nn/song_unet.ts";
import { sumSquares } from "../src/ops/reduce.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";
import { PAPER, TINY, tinyWeights, toParams } from "./tiny_unet.ts";

Deno.test("SongUNet parameter counts equal the reference implementation's", () => {
  for (const [name, cfg, count] of PAPER) {
    assert.equal(new SongUNet(cfg).registry.count(), count, name);
  }
});

Deno.test("SongUNet parameter names follow the EDMPrecond(SongUNet) state_dict", () => {
  const names = new SongUNet(PAPER[0][1]).registry.specs.map((s) => s.name);
  for (
    const n of [
      "model.map_layer0.weight",
      "model.enc.64x64_conv.weight",
      "model.enc.64x64_block0.norm0.weight",
      "model.enc.64x64_block0.affine.weight",
      "model.enc.32x32_down.skip.weight",
      "model.enc.16x16_block0.qkv.weight",
      "model.dec.8x8_in0.proj.bias",
      "model.dec.64x64_aux_norm.weight",
      "model.dec.64x64_aux_conv.weight",
    ]
  ) assert.ok(names.includes(n), n);
});

function tinyCase(
  backendName: "f64" | "f32" | "gpu",
  gpu: Awaited<ReturnType<typeof gpuOrSkip>>,
  cfg: SongUNetConfig,
) {
  const backend = backendName === "gpu" ? gpu! : cpuBackend(backendName);
  const net = new EDMPrecond(new SongUNet(cfg));
  // Non-zero "zero-initialised" layers so every path carries gradient.
  const params = toParams(tinyWeights(net.model, 9), net.model, backend);
  const x = backend.fromArray(new Rng(4).normals(2 * 2 * 8 * 8), [2, 2, 8, 8]);
  const sigma = backend.fromArray([0.3, 2.5], [2]);
  return { backend, net, params, x, sigma };
}

for (const gated of [false, true]) {
  Deno.test(`whole tiny U-Net${gated ? " (gated convolutions)" : ""}: autograd vs float64 finite differences, WebGPU vs CPU`, async (t) => {
    const gpu = await gpuOrSkip();
    if (gpu) gpu.poison = true;
    const ctx = () => ({ training: false, seed: 0, stream: 0 });
    const run = async (which: "f64" | "f32" | "gpu") => {
      const c = tinyCase(which, gpu, { ...TINY, gated });
      const names = [...c.params.keys()];
      const out = tidy(() =>
        grad(() => sumSquares(c.net.forward(c.params, c.x, c.sigma, ctx())), [
          c.x,
          ...c.params.values(),
        ])
      );
      const value = (await out.value.toArray())[0];
      const grads = await Promise.all(out.grads.map((g) => g.toArray()));
      return { c, names, value, grads };
    };
    const ref = await run("f64");
    await t.step(
      "gradients w.r.t. the input and sampled parameters match finite differences",
      () => {
        const { c, names } = ref;
        const h = 1e-5;
        const loss = () => tidy(() => sumSquares(c.net.forward(c.params, c.x, c.sigma, ctx())));
        const read = (tt: { storage: unknown }) => (tt.storage as { data: Float64Array }).data;
        const targets: [string, Float64Array, Float64Array | Float32Array][] = [[
          "input",
          read(c.x),
          ref.grads[0],
        ]];
        names.forEach((n, i) => targets.push([n, read(c.params.get(n)!), ref.grads[i + 1]]));
        const rng = new Rng(5);
        let checked = 0;
        for (const [name, data, g] of targets) {
          // Every tensor, 2 random elements each (the input: 8): one forward pair per element.
          for (let s = 0; s < (name === "input" ? 8 : 2); s++) {
            const j = rng.int(data.length);
            const keep = data[j];
            data[j] = keep + h;
            const lp = (loss().storage as { data: Float64Array }).data[0];
            data[j] = keep - h;
            const lm = (loss().storage as { data: Float64Array }).data[0];
            data[j] = keep;
            assertClose(
              [g[j]],
              [(lp - lm) / (2 * h)],
              { atol: 1e-6, rtol: 1e-4 },
              `d/d${name}[${j}]`,
            );
            checked++;
          }
        }
        assert.ok(checked > 100);
      },
    );
    if (!gpu) return;
    await t.step("WebGPU forward and gradients match the CPU twin", async () => {
      const g = await run("gpu");
      const f32 = await run("f32");
      assertClose([g.value], [f32.value], { atol: 1e-4, rtol: 1e-4 }, "loss");
      g.grads.forEach((gg, i) =>
        assertClose(
          gg,
          f32.grads[i],
          { atol: 1e-3, rtol: 2e-3 },
          `grad ${i === 0 ? "input" : g.names[i - 1]}`,
        )
      );
    });
  });
}
